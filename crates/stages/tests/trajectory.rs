//! `trajectory` driven through the harness: predictions from tracked balls and a cue line
//! (published by a fixture stage in the tracker's place), and the `simulate` command.

mod common;

use common::TrackedFixture;
use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use framebus_core::protocol::ErrorCode;
use framebus_stages::{Prediction, Trajectory};
use serde_json::{Value, json};

const R: f64 = 0.028575;

/// A straight-in shot in the table frame: object ball "1" on the line from the cue ball to
/// the corner pocket at (l, w) (pooltool's `rt`), the cue 5 cm behind the cue ball.
fn straight_in(at_rest: bool, cue_offset_deg: f64) -> (Value, f64) {
    let obj: (f64, f64) = (1.75, 0.80);
    let pocket: (f64, f64) = (1.9812 + 0.029486, 0.9906 + 0.029486);
    let d = (pocket.0 - obj.0, pocket.1 - obj.1);
    let n = (d.0 * d.0 + d.1 * d.1).sqrt();
    let u = (d.0 / n, d.1 / n);
    let cue = (obj.0 - 0.5 * u.0, obj.1 - 0.5 * u.1);
    let aim = u.1.atan2(u.0).to_degrees() + cue_offset_deg;
    let tip = (cue.0 - (R + 0.05) * u.0, cue.1 - (R + 0.05) * u.1);
    let v = if at_rest { 0.0 } else { 0.3 };
    (
        json!({
            "balls": [
                {"id": "cue", "x": cue.0, "y": cue.1, "vx": v, "vy": 0.0, "at_rest": at_rest},
                {"id": "1", "x": obj.0, "y": obj.1, "vx": 0.0, "vy": 0.0, "at_rest": true},
                {"id": "2", "x": 0.4, "y": 0.3, "vx": 0.0, "vy": 0.0, "at_rest": true},
                {"id": "9", "x": 0.0, "y": 0.0, "vx": 0.0, "vy": 0.0, "at_rest": false, "pocketed": true}
            ],
            "cue": {"tip": [tip.0, tip.1], "angle_deg": aim}
        }),
        aim,
    )
}

fn harness(tracked: Value, params: Value) -> Harness {
    Harness::builder()
        .stage::<TrackedFixture>("ball_tracking", tracked)
        .stage::<Trajectory>("trajectory", params)
        .build()
        .unwrap()
}

fn step(h: &mut Harness) -> Prediction {
    let f = h.frame(8, 8, PixelFormat::Gray8, |d| d.fill(0));
    h.process(&f);
    h.result::<Prediction>("trajectory").unwrap().clone()
}

#[test]
fn predicts_a_straight_in_shot_into_the_corner_pocket() {
    let (tracked, aim) = straight_in(true, 0.0);
    let mut h = harness(tracked, json!({}));
    let p = step(&mut h);
    assert!(p.active, "{p:?}");
    assert_eq!(p.reason, "");
    assert_eq!(p.cue_ball, "cue");
    assert!((p.aim_deg - aim).abs() < 1e-9);
    assert_eq!(p.speed, 2.0);
    let first = &p.collisions[0];
    assert_eq!(first.kind, "ball_ball");
    assert_eq!(first.agents, ["cue".to_owned(), "1".to_owned()]);
    // The cue ball's centre at contact: one ball diameter short of the object ball, on the line.
    let u = (aim.to_radians().cos(), aim.to_radians().sin());
    let expect = (1.75 - 2.0 * R * u.0, 0.80 - 2.0 * R * u.1);
    assert!(
        (first.x - expect.0).abs() < 1e-5 && (first.y - expect.1).abs() < 1e-5,
        "{first:?} vs {expect:?}"
    );
    assert_eq!(p.pockets.len(), 1, "{:?}", p.pockets);
    assert_eq!(
        (p.pockets[0].ball.as_str(), p.pockets[0].pocket.as_str()),
        ("1", "rt")
    );
    // The pocket is reported in the table frame: the (l, w) corner.
    assert!(p.pockets[0].x > 1.98 && p.pockets[0].y > 0.99);
    let ids: Vec<&str> = p.paths.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        ["cue", "1"],
        "ball 2 does not move, ball 9 is pocketed"
    );
    // Paths start at the balls and stay on (or just past the cushion noses into) the table.
    let cue_path = &p.paths[0].points;
    assert!((cue_path[0][0] - (1.75 - 0.5 * u.0)).abs() < 1e-9);
    for q in p.paths.iter() {
        for pt in &q.points {
            assert!(
                pt[0] > -0.1 && pt[0] < 2.1 && pt[1] > -0.1 && pt[1] < 1.1,
                "{pt:?}"
            );
        }
    }
    // The JSON result has the documented shape.
    let j = h.result_json("trajectory").unwrap();
    assert_eq!(j["collisions"][0]["type"], "ball_ball");
    assert_eq!(j["pockets"][0]["pocket"], "rt");
    assert!(j["paths"][0]["points"][0].is_array());
}

#[test]
fn a_slow_shot_stops_short_and_a_new_speed_is_used_at_once() {
    let (tracked, _) = straight_in(true, 0.0);
    let mut h = harness(tracked, json!({"speed": 0.1}));
    let p = step(&mut h);
    assert!(p.active);
    assert!(p.collisions.is_empty() && p.pockets.is_empty(), "{p:?}");
    assert_eq!(p.paths.len(), 1);
    h.command("trajectory", "set_params", json!({"speed": 2.5}))
        .unwrap();
    let p = step(&mut h);
    assert_eq!(p.speed, 2.5);
    assert_eq!(p.pockets.len(), 1);
    // Out of range: refused, the old value stays.
    let e = h
        .command("trajectory", "set_params", json!({"speed": 25.0}))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    assert!(e.message.contains("speed"), "{}", e.message);
    assert_eq!(step(&mut h).speed, 2.5);
}

#[test]
fn nothing_is_predicted_while_balls_move_without_a_cue_or_when_the_cue_aims_elsewhere() {
    let (moving, _) = straight_in(false, 0.0);
    let mut h = harness(moving, json!({}));
    let p = step(&mut h);
    assert!(!p.active);
    assert_eq!(p.reason, "balls moving");
    assert!(p.paths.is_empty() && p.collisions.is_empty());

    let (mut no_cue, _) = straight_in(true, 0.0);
    no_cue["cue"] = Value::Null;
    let mut h = harness(no_cue, json!({}));
    assert_eq!(step(&mut h).reason, "no cue");

    let (away, _) = straight_in(true, 30.0);
    let mut h = harness(away, json!({}));
    assert_eq!(step(&mut h).reason, "cue not aimed at the cue ball");

    // A ball tracked slightly outside the cushion line (noise) is clamped onto the cloth and
    // the prediction still runs, the same as with the ball on the cloth.
    let (mut outside, _) = straight_in(true, 0.0);
    outside["balls"][2]["y"] = json!(-0.004);
    let mut h = harness(outside, json!({}));
    let p = step(&mut h);
    assert!(p.active, "{p:?}");
    assert_eq!(p.pockets.len(), 1);

    // No tracker at all.
    let mut h = Harness::builder()
        .stage::<Trajectory>("trajectory", json!({}))
        .build()
        .unwrap();
    assert_eq!(step(&mut h).reason, "no tracked balls");
}

fn simulate(h: &mut Harness, args: Value) -> Result<Value, (ErrorCode, String)> {
    h.command("trajectory", "simulate", args)
        .map(|a| a.result)
        .map_err(|e| (e.code, e.message))
}

#[test]
fn simulate_returns_events_and_rest_positions() {
    let mut h = Harness::builder()
        .stage::<Trajectory>("trajectory", json!({}))
        .build()
        .unwrap();
    let r = simulate(
        &mut h,
        json!({"balls": [{"id": "cue", "x": 0.4953, "y": 0.5}, {"id": "1", "x": 0.4953, "y": 1.5}],
               "cue": {"ball": "cue", "V0": 2.0, "phi": 90.0, "theta": 0.0, "a": 0.0, "b": 0.0}}),
    )
    .unwrap();
    let ev = r["events"].as_array().unwrap();
    assert_eq!(ev[0]["type"], "stick_ball");
    assert_eq!(ev[0]["agents"], json!(["cue_stick", "cue"]));
    assert_eq!(ev[1]["type"], "ball_ball");
    assert_eq!(ev[1]["agents"], json!(["cue", "1"]));
    // Straight along the long axis: the object ball stays on x = w/2.
    let fin = r["final"].as_array().unwrap();
    assert_eq!(fin[1]["id"], "1");
    assert!((fin[1]["x"].as_f64().unwrap() - 0.4953).abs() < 1e-9);
    assert_eq!(fin[1]["pocketed"], false);
    // Times are in order.
    let ts: Vec<f64> = ev.iter().map(|e| e["t"].as_f64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));

    // The same shot in the table frame: positions swap axes, phi is an aim angle.
    let t = simulate(
        &mut h,
        json!({"frame": "table",
               "balls": [{"id": "cue", "x": 0.5, "y": 0.4953}, {"id": "1", "x": 1.5, "y": 0.4953}],
               "cue": {"ball": "cue", "V0": 2.0, "phi": 0.0}}),
    )
    .unwrap();
    assert_eq!(t["events"], r["events"]);
    assert_eq!(t["final"][1]["x"], r["final"][1]["y"]);
}

#[test]
fn simulate_refuses_bad_layouts_and_strikes_with_the_reason() {
    let mut h = Harness::builder()
        .stage::<Trajectory>("trajectory", json!({}))
        .build()
        .unwrap();
    let cue = json!({"ball": "cue", "V0": 2.0, "phi": 90.0});
    let cases = [
        (
            json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}, {"id": "1", "x": 0.51, "y": 0.52}], "cue": cue}),
            "overlap",
        ),
        (
            json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}, {"id": "1", "x": 1.5, "y": 0.5}], "cue": cue}),
            "off the table",
        ),
        (
            json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}], "cue": {"ball": "cue", "V0": 40.0, "phi": 0.0}}),
            "V0",
        ),
        (
            json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}], "cue": {"ball": "cue", "V0": 0.0, "phi": 0.0}}),
            "V0",
        ),
        (
            json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}], "cue": {"ball": "cue", "V0": 2.0, "phi": 0.0, "a": 0.7}}),
            "english",
        ),
        (
            json!({"balls": [{"id": "1", "x": 0.5, "y": 0.5}], "cue": cue}),
            "cue.ball",
        ),
        (json!({"balls": [], "cue": cue}), "balls"),
        (
            json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}], "cue": cue, "spin": 1}),
            "spin",
        ),
        (json!({"balls": "none", "cue": cue}), "balls"),
    ];
    for (args, needle) in cases {
        let (code, msg) = simulate(&mut h, args.clone()).unwrap_err();
        assert_eq!(code, ErrorCode::BadArgs, "{args}");
        assert!(msg.contains(needle), "{args}: {msg}");
    }
    // The stage still works afterwards.
    assert!(
        simulate(
            &mut h,
            json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}], "cue": cue})
        )
        .is_ok()
    );
}

/// The prediction speed (the UI's slider sets it with `set_params`): every out-of-range or
/// mistyped value is refused with `bad_args` naming `speed` and changes nothing; a config
/// with one fails to build, naming it; the same holds for `simulate`'s `V0`.
#[test]
fn out_of_range_prediction_speeds_are_refused_naming_the_speed() {
    let (tracked, _) = straight_in(true, 0.0);
    let mut h = harness(tracked.clone(), json!({"speed": 1.5}));
    assert_eq!(step(&mut h).speed, 1.5);
    for bad in [
        json!(0.0),
        json!(-2.0),
        json!(0.05),
        json!(10.5),
        json!("fast"),
        json!(null),
    ] {
        let e = h
            .command("trajectory", "set_params", json!({"speed": bad}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgs, "{bad}");
        assert!(e.message.contains("speed"), "{bad}: {}", e.message);
        assert_eq!(step(&mut h).speed, 1.5, "{bad} changed the speed");
    }
    // Both ends of the range are accepted.
    for ok in [0.1, 10.0] {
        h.command("trajectory", "set_params", json!({"speed": ok}))
            .unwrap();
        assert_eq!(step(&mut h).speed, ok);
    }
    let err = Harness::builder()
        .stage::<TrackedFixture>("ball_tracking", tracked)
        .stage::<Trajectory>("trajectory", json!({"speed": 12.0}))
        .build()
        .err()
        .expect("speed 12 is out of range");
    assert!(err.contains("speed"), "{err}");
    let (code, msg) = simulate(
        &mut h,
        json!({"balls": [{"id": "cue", "x": 0.5, "y": 0.5}], "cue": {"ball": "cue", "V0": -1.0, "phi": 0.0}}),
    )
    .unwrap_err();
    assert_eq!(code, ErrorCode::BadArgs);
    assert!(msg.contains("V0"), "{msg}");
}
