//! `geometry_manager` driven through the harness, with points placed by `marker_manager`.

use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use framebus_core::protocol::ErrorCode;
use framebus_stages::{Geometry, GeometryManager, MarkerManager};
use serde_json::{Value, json};

fn harness(markers: Value, geometry: Value) -> Harness {
    Harness::builder()
        .stage::<MarkerManager>("marker_manager", json!({ "markers": markers }))
        .stage::<GeometryManager>("geometry_manager", geometry)
        .build()
        .unwrap()
}

fn step(h: &mut Harness) -> Value {
    let f = h.frame(16, 16, PixelFormat::Gray8, |d| d.fill(0));
    h.process(&f)
}

fn geometry(h: &Harness) -> Geometry {
    h.result::<Geometry>("geometry").unwrap().clone()
}

fn mv(h: &mut Harness, id: &str, x: f64, y: f64) {
    h.command(
        "marker_manager",
        "move_marker",
        json!({"id": id, "x": x, "y": y}),
    )
    .unwrap();
}

const POINTS: &str = r#"[
    {"id": "a", "x": 130, "y": 110},
    {"id": "b", "x": 100, "y": 100, "label": "knee"},
    {"id": "c", "x": 90, "y": 130},
    {"id": "o", "x": 0, "y": 0}
]"#;

fn points() -> Value {
    serde_json::from_str(POINTS).unwrap()
}

#[test]
fn angle_distance_and_line_angles() {
    let mut h = harness(
        points(),
        json!({"tools": [
            {"id": "right", "type": "angle", "points": ["a", "knee", "c"]},
            {"id": "d", "type": "distance", "points": ["o", "b"]},
            {"id": "flat", "type": "line_angle", "points": ["b", "a"]},
            {"id": "upright", "type": "line_angle", "points": ["b", "c"], "reference": "vertical", "color": "#fff"},
        ]}),
    );
    let snap = step(&mut h);
    let g = geometry(&h);
    // (30, 10) · (-10, 30) = 0: a right angle at the knee.
    let right = g.get("right").unwrap();
    assert!((right.value.unwrap() - 90.0).abs() < 1e-6, "{right:?}");
    assert!(right.valid);
    assert!((g.get("d").unwrap().value.unwrap() - 100.0 * 2f64.sqrt()).abs() < 1e-9);
    // b → a goes right 30 and down 10: it falls to the right, -18.43°.
    let flat = g.get("flat").unwrap().value.unwrap();
    assert!(
        (flat + (10f64 / 30.0).atan().to_degrees()).abs() < 1e-9,
        "{flat}"
    );
    // b → c goes down 30, left 10: its top leans right by 18.43°.
    let upright = g.get("upright").unwrap().value.unwrap();
    assert!(
        (upright - (10f64 / 30.0).atan().to_degrees()).abs() < 1e-9,
        "{upright}"
    );

    let r = &snap["results"]["geometry"];
    assert_eq!(
        r.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["d", "flat", "right", "upright"]
    );
    let right = &r["right"];
    assert_eq!(right["type"], "angle");
    assert_eq!(right["points"], json!(["a", "knee", "c"]));
    assert_eq!(
        (
            right["valid"].clone(),
            right["color"].clone(),
            right["reference"].clone()
        ),
        (json!(true), json!("#fbbf24"), Value::Null)
    );
    assert_eq!(right["min"], right["value"]);
    assert_eq!(r["flat"]["reference"], "horizontal");
    assert_eq!(r["upright"]["reference"], "vertical");
    assert_eq!(r["upright"]["color"], "#fff");
    assert_eq!(r["d"]["type"], "distance");
    // Signals and widgets.
    assert!((snap["signals"]["right"].as_f64().unwrap() - 90.0).abs() < 1e-6);
    let w = snap["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "geometry_manager.d")
        .unwrap();
    assert_eq!(
        (w["unit"].as_str(), w["label"].as_str()),
        (Some("px"), Some("d"))
    );
    assert_eq!(w["min"], w["max"]);
}

#[test]
fn missing_points_make_a_tool_invalid() {
    let mut h = harness(
        points(),
        json!({"tools": [{"id": "t", "type": "angle", "points": ["a", "nowhere", "c"]}, {"id": "z", "type": "distance", "points": ["a", "a"]}, {"id": "deg", "type": "angle", "points": ["a", "a", "c"]}]}),
    );
    let snap = step(&mut h);
    assert_eq!(
        snap["results"]["geometry"]["t"],
        json!({"type":"angle","points":["a","nowhere","c"],"value":null,"valid":false,"color":"#fbbf24","min":null,"max":null,"mean":null,"reference":null})
    );
    assert!(snap["signals"].get("t").is_none());
    // A zero distance is valid; an angle with a zero-length side is not.
    assert_eq!(snap["results"]["geometry"]["z"]["value"], 0.0);
    assert_eq!(snap["results"]["geometry"]["deg"]["valid"], false);
    // The point appears: the tool becomes valid.
    h.command(
        "marker_manager",
        "add_marker",
        json!({"id": "nowhere", "x": 100, "y": 100}),
    )
    .unwrap();
    step(&mut h);
    assert!(geometry(&h).get("t").unwrap().valid);
}

#[test]
fn window_min_max_mean_over_frame_time() {
    // Harness frames are 33.3 ms apart: a 0.2 s window holds 7 frames.
    let mut h = harness(
        points(),
        json!({"window_s": 0.2, "tools": [{"id": "d", "type": "distance", "points": ["o", "b"]}]}),
    );
    for k in 1..=10 {
        mv(&mut h, "b", f64::from(k), 0.0);
        step(&mut h);
    }
    let d = geometry(&h).get("d").unwrap().clone();
    assert_eq!(
        (d.value, d.min, d.max, d.mean),
        (Some(10.0), Some(4.0), Some(10.0), Some(7.0))
    );
    // Invalid frames add nothing but age the window.
    h.command("marker_manager", "remove_marker", json!({"id": "b"}))
        .unwrap();
    for _ in 0..3 {
        step(&mut h);
    }
    let d = geometry(&h).get("d").unwrap().clone();
    assert_eq!(
        (d.value, d.valid, d.min, d.max),
        (None, false, Some(7.0), Some(10.0))
    );
    // clear_window empties it.
    let ack = h
        .command("geometry_manager", "clear_window", json!({"id": "d"}))
        .unwrap();
    assert_eq!(ack.result["id"], "d");
    step(&mut h);
    assert_eq!(geometry(&h).get("d").unwrap().min, None);
    h.command("geometry_manager", "clear_window", json!({}))
        .unwrap();
    // A shorter window from set_params.
    h.command(
        "marker_manager",
        "add_marker",
        json!({"id": "b", "x": 5, "y": 0}),
    )
    .unwrap();
    h.command("geometry_manager", "set_params", json!({"window_s": 0.1}))
        .unwrap();
    for k in 1..=6 {
        mv(&mut h, "b", f64::from(k), 0.0);
        step(&mut h);
    }
    let d = geometry(&h).get("d").unwrap().clone();
    assert_eq!((d.min, d.max), (Some(3.0), Some(6.0)));
}

#[test]
fn add_update_remove_tools() {
    let mut h = harness(points(), json!({}));
    let ack = h
        .command(
            "geometry_manager",
            "cmd_add_tool",
            json!({"id": "t1", "type": "angle", "points": ["a", "b", "c"]}),
        )
        .unwrap();
    assert_eq!(ack.result["id"], "t1");
    assert_eq!(ack.result["color"], "#fbbf24");
    let ack = h
        .command(
            "geometry_manager",
            "cmd_add_tool",
            json!({"id": "t2", "type": "line_angle", "points": ["o", "b"]}),
        )
        .unwrap();
    assert_eq!(ack.result["reference"], "horizontal");
    step(&mut h);
    assert!((geometry(&h).get("t2").unwrap().value.unwrap() + 45.0).abs() < 1e-9);

    let bad = [
        json!({"id": "x", "type": "triangle", "points": ["a", "b", "c"]}),
        json!({"id": "x", "type": "angle", "points": ["a", "b"]}),
        json!({"id": "x", "type": "distance", "points": ["a", "b", "c"]}),
        json!({"id": "x", "type": "angle", "points": ["a", "b", "c"], "reference": "vertical"}),
        json!({"id": "x", "type": "line_angle", "points": ["a", "b"], "reference": "diagonal"}),
        json!({"id": "t1", "type": "angle", "points": ["a", "b", "c"]}),
        json!({"id": "", "type": "distance", "points": ["a", "b"]}),
        json!({"type": "distance", "points": ["a", "b"]}),
        json!({"id": "x", "type": "distance", "points": ["a", "b"], "extra": 1}),
    ];
    for args in bad {
        let e = h
            .command("geometry_manager", "cmd_add_tool", args.clone())
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgs, "{args}");
    }

    let ack = h
        .command(
            "geometry_manager",
            "cmd_update_tool",
            json!({"id": "t2", "reference": "vertical", "color": "#0f0"}),
        )
        .unwrap();
    assert_eq!(
        (
            ack.result["reference"].as_str(),
            ack.result["color"].as_str()
        ),
        (Some("vertical"), Some("#0f0"))
    );
    h.command(
        "geometry_manager",
        "cmd_update_tool",
        json!({"id": "t1", "points": ["c", "b", "o"]}),
    )
    .unwrap();
    for (args, why) in [
        (json!({"id": "t1", "points": ["a"]}), "point count"),
        (
            json!({"id": "t1", "reference": "vertical"}),
            "reference on an angle",
        ),
        (json!({"id": "nope", "color": "#000"}), "unknown id"),
    ] {
        let e = h
            .command("geometry_manager", "cmd_update_tool", args)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgs, "{why}");
    }
    let snap = step(&mut h);
    let g = &snap["results"]["geometry"];
    assert_eq!(g["t1"]["points"], json!(["c", "b", "o"]));
    assert!((g["t2"]["value"].as_f64().unwrap() + 45.0).abs() < 1e-9);
    assert_eq!(g["t2"]["reference"], "vertical");

    let e = h
        .command("geometry_manager", "cmd_remove_tool", json!({"id": "nope"}))
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::BadArgs, "no tool `nope`")
    );
    h.command("geometry_manager", "cmd_remove_tool", json!({"id": "t1"}))
        .unwrap();
    let snap = step(&mut h);
    assert_eq!(snap["results"]["geometry"].as_object().unwrap().len(), 1);
    // reset restores the params' tools (none).
    h.command("geometry_manager", "reset", json!({})).unwrap();
    let snap = step(&mut h);
    assert_eq!(snap["results"]["geometry"], json!({}));
}

#[test]
fn invalid_initial_tools_are_refused() {
    let built = Harness::builder()
        .stage::<GeometryManager>(
            "geometry_manager",
            json!({"tools": [{"id": "t", "type": "angle", "points": ["a"]}]}),
        )
        .build();
    assert!(built.err().unwrap().contains("3 points"));
    let mut h = harness(points(), json!({}));
    let e = h
        .command(
            "geometry_manager",
            "set_params",
            json!({"tools": [{"id": "t", "type": "distance", "points": ["a"]}]}),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StageFailed);
    let e = h
        .command("geometry_manager", "set_params", json!({"window_s": 0}))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
}
