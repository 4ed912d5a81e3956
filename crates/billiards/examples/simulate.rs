//! Reads shots as JSON lines on stdin and prints one JSON result per line on stdout.
//!
//! Input line: `{"balls":[{"id","x","y"}],"cue":{"ball":"cue","V0","phi","theta","a","b"},
//! "repeat":N}` in the physics frame (pooltool's coordinates). Output line:
//! `{"events":[{"t","type","agents"}],"final":[{"id","x","y","pocketed"}],"us_per_shot"}`
//! where `us_per_shot` is the median wall time of `repeat` runs (default 1). Used by
//! `bench/pooltool_compare.py`.

use std::io::{BufRead, Write};
use std::time::Instant;

use framebus_billiards::{Ball, Cue, Params, Simulator, Table, validate_layout};
use serde_json::{Value, json};

fn main() {
    let p = Params::default();
    let mut sim = Simulator::new(Table::default(), p);
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let res = match run(&line, &mut sim, &p) {
            Ok(v) => v,
            Err(e) => json!({ "error": e }),
        };
        writeln!(out, "{res}").expect("stdout");
    }
}

fn run(line: &str, sim: &mut Simulator, p: &Params) -> Result<Value, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let mut balls = Vec::new();
    for b in v["balls"].as_array().ok_or("balls: expected an array")? {
        let id = b["id"].as_str().ok_or("ball id: expected a string")?;
        let x = b["x"].as_f64().ok_or("ball x: expected a number")?;
        let y = b["y"].as_f64().ok_or("ball y: expected a number")?;
        balls.push(Ball::at_rest(id, x, y, p));
    }
    validate_layout(&balls, &sim.table, p)?;
    let c = &v["cue"];
    let cue_id = c["ball"].as_str().unwrap_or("cue");
    let ball = balls
        .iter()
        .position(|b| b.id == cue_id)
        .ok_or("cue ball not found")?;
    let f = |k: &str, d: f64| c[k].as_f64().unwrap_or(d);
    let cue = Cue {
        ball,
        v0: f("V0", 2.0),
        phi: f("phi", 0.0),
        theta: f("theta", 0.0),
        a: f("a", 0.0),
        b: f("b", 0.0),
    };
    let repeat = v["repeat"].as_u64().unwrap_or(1).max(1) as usize;
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let t0 = Instant::now();
        sim.run(&balls, Some(&cue));
        times.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let r = sim.result();
    let table = &sim.table;
    let events: Vec<Value> = r
        .events
        .iter()
        .map(|e| {
            let (names, n) = r.agents(e, table);
            json!({ "t": e.t, "type": e.kind.name(), "agents": &names[..n] })
        })
        .collect();
    let fin: Vec<Value> = r
        .final_states()
        .enumerate()
        .map(|(i, s)| {
            json!({ "id": r.ids[i], "x": s.r.x, "y": s.r.y,
                    "pocketed": s.s == framebus_billiards::MotionState::Pocketed })
        })
        .collect();
    Ok(
        json!({ "events": events, "final": fin, "us_per_shot": times[times.len() / 2],
               "truncated": r.truncated }),
    )
}
