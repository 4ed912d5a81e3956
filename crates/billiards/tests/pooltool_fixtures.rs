//! Our engine against results of pooltool-billiards 0.6.0 (same models and parameters) kept
//! as fixtures: seeded random shots, a 3-cushion shot and a 9-ball break made by
//! `bench/pooltool_compare.py --write-fixtures` (pooltool itself is not run here).

use framebus_billiards::{Ball, Cue, MotionState, Params, Table, simulate};
use serde_json::Value;

#[test]
fn event_sequences_and_rest_positions_match_pooltool() {
    let text = include_str!("fixtures/pooltool_shots.json");
    let fx: Value = serde_json::from_str(text).unwrap();
    assert_eq!(fx["pooltool"], "0.6.0");
    let shots = fx["shots"].as_array().unwrap();
    assert!(shots.len() >= 12);
    let p = Params::default();
    let table = Table::default();
    let mut events_checked = 0;
    for (n, s) in shots.iter().enumerate() {
        let shot = &s["shot"];
        let balls: Vec<Ball> = shot["balls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                Ball::at_rest(
                    b["id"].as_str().unwrap(),
                    b["x"].as_f64().unwrap(),
                    b["y"].as_f64().unwrap(),
                    &p,
                )
            })
            .collect();
        let c = &shot["cue"];
        let cue = Cue {
            ball: balls
                .iter()
                .position(|b| b.id == c["ball"].as_str().unwrap())
                .unwrap(),
            v0: c["V0"].as_f64().unwrap(),
            phi: c["phi"].as_f64().unwrap(),
            theta: c["theta"].as_f64().unwrap(),
            a: c["a"].as_f64().unwrap(),
            b: c["b"].as_f64().unwrap(),
        };
        let sim = simulate(&balls, Some(&cue), &table, &p);
        let theirs = s["pooltool"]["events"].as_array().unwrap();
        assert_eq!(sim.events.len(), theirs.len(), "shot {n}: event count");
        for (k, (e, t)) in sim.events.iter().zip(theirs).enumerate() {
            let (names, count) = sim.agents(e, &table);
            let agents: Vec<&str> = t["agents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert_eq!(e.kind.name(), t["type"], "shot {n} event {k}");
            assert_eq!(&names[..count], agents.as_slice(), "shot {n} event {k}");
            let dt = (e.t - t["t"].as_f64().unwrap()).abs();
            assert!(dt < 1e-6, "shot {n} event {k}: time differs by {dt} s");
            events_checked += 1;
        }
        for (st, f) in sim
            .final_states()
            .zip(s["pooltool"]["final"].as_array().unwrap())
        {
            let pocketed = st.s == MotionState::Pocketed;
            assert_eq!(pocketed, f["pocketed"].as_bool().unwrap(), "shot {n}");
            if !pocketed {
                let d = ((st.r.x - f["x"].as_f64().unwrap()).powi(2)
                    + (st.r.y - f["y"].as_f64().unwrap()).powi(2))
                .sqrt();
                assert!(d < 1e-6, "shot {n}: rest position differs by {d} m");
            }
        }
    }
    assert!(events_checked > 200, "{events_checked}");
}
