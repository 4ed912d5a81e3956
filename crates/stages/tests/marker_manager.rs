//! `marker_manager` driven through the harness, following spots found by `blob_detection`.
use framebus_core::frame::{Frame, PixelFormat};
use framebus_core::harness::Harness;
use framebus_core::protocol::ErrorCode;
use framebus_stages::{BlobDetection, MarkerManager, Markers};
use serde_json::{Value, json};

const W: u32 = 200;
const H: u32 = 150;

fn square_frame(h: &mut Harness, spots: &[(usize, usize)]) -> Frame {
    h.frame(W, H, PixelFormat::Gray8, |d| {
        d.fill(0);
        for &(cx, cy) in spots {
            for y in cy - 3..=cy + 3 {
                d[y * W as usize + cx - 3..=y * W as usize + cx + 3].fill(255);
            }
        }
    })
}

fn harness(params: Value) -> Harness {
    Harness::builder()
        .stage::<BlobDetection>("blob_detection", json!({}))
        .stage::<MarkerManager>("marker_manager", params)
        .build()
        .unwrap()
}

fn markers(h: &Harness) -> Markers {
    h.result::<Markers>("marker_manager").unwrap().clone()
}

#[test]
fn add_move_label_remove() {
    let mut h = harness(json!({}));
    let ack = h
        .command("marker_manager", "add_marker", json!({"x": 10, "y": 20}))
        .unwrap();
    assert_eq!(
        ack.result,
        json!({"id":"m1","x":10.0,"y":20.0,"label":"m1","attached":false,"blob":null})
    );
    h.command(
        "marker_manager",
        "add_marker",
        json!({"id": "k", "x": 50, "y": 60, "label": "knee"}),
    )
    .unwrap();
    let ack = h
        .command("marker_manager", "add_marker", json!({"x": 1, "y": 2}))
        .unwrap();
    assert_eq!(ack.result["id"], "m2");
    let e = h
        .command(
            "marker_manager",
            "add_marker",
            json!({"id": "k", "x": 0, "y": 0}),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);

    h.command(
        "marker_manager",
        "move_marker",
        json!({"id": "m1", "x": 11.5, "y": 21}),
    )
    .unwrap();
    h.command(
        "marker_manager",
        "label_marker",
        json!({"id": "m1", "label": "hip"}),
    )
    .unwrap();
    let ack = h
        .command("marker_manager", "remove_marker", json!({"id": "m2"}))
        .unwrap();
    assert_eq!(ack.result["id"], "m2");

    let f = square_frame(&mut h, &[]);
    let snap = h.process(&f);
    assert_eq!(
        snap["results"]["marker_manager"],
        json!({"markers": {
            "m1": {"x": 11.5, "y": 21.0, "label": "hip", "attached": false, "blob": null},
            "k": {"x": 50.0, "y": 60.0, "label": "knee", "attached": false, "blob": null},
        }})
    );
    // Points under the id and, when different, the label.
    let points = h.pipeline().results().points.as_slice();
    let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["m1", "hip", "k", "knee"]);

    let ack = h
        .command("marker_manager", "clear_markers", json!({}))
        .unwrap();
    assert_eq!(ack.result["removed"], 2);
    let f = square_frame(&mut h, &[]);
    h.process(&f);
    assert!(markers(&h).markers.is_empty());
}

#[test]
fn unknown_ids_and_bad_args_are_refused() {
    let mut h = harness(json!({}));
    for (cmd, args) in [
        ("move_marker", json!({"id": "x", "x": 1, "y": 1})),
        ("remove_marker", json!({"id": "x"})),
        ("label_marker", json!({"id": "x", "label": "a"})),
        ("attach_marker", json!({"id": "x"})),
        ("detach_marker", json!({"id": "x"})),
    ] {
        let e = h.command("marker_manager", cmd, args).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgs, "{cmd}");
        assert_eq!(e.message, "no marker `x`");
    }
    for bad in [
        json!({"x": "a", "y": 1}),
        json!({"y": 1}),
        json!({"x": 1, "y": 1, "colour": 1}),
    ] {
        let e = h.command("marker_manager", "add_marker", bad).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgs);
    }
    let e = h.command("marker_manager", "fly", json!({})).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownCommand);
}

#[test]
fn attached_marker_follows_a_moving_spot() {
    let mut h = harness(json!({
        "markers": [{"id": "knee", "x": 40, "y": 50, "attach": true}, {"id": "free", "x": 45, "y": 50}],
        "attach_radius": 20,
    }));
    for step in 0..20 {
        let (cx, cy) = (40 + 5 * step, 50 + 2 * step);
        let f = square_frame(&mut h, &[(cx, cy), (150, 120)]);
        h.process(&f);
        let m = markers(&h);
        let knee = m.get("knee").unwrap();
        assert_eq!((knee.x, knee.y), (cx as f64, cy as f64), "step {step}");
        assert!(knee.blob.is_some());
        let free = m.get("free").unwrap();
        assert_eq!((free.x, free.y, free.blob), (45.0, 50.0, None));
    }
    // The spot vanishes: the marker stays, still attached, with no blob.
    let f = square_frame(&mut h, &[(150, 120)]);
    h.process(&f);
    let knee = markers(&h).get("knee").unwrap().clone();
    assert_eq!(
        (knee.x, knee.y, knee.attached, knee.blob),
        (135.0, 88.0, true, None)
    );
    let p = h.pipeline().results().points.as_slice();
    assert_eq!(p.iter().find(|p| p.name == "knee").unwrap().score, 0.5);
    // Detached, it no longer moves.
    h.command("marker_manager", "detach_marker", json!({"id": "knee"}))
        .unwrap();
    let f = square_frame(&mut h, &[(140, 90)]);
    h.process(&f);
    assert_eq!(markers(&h).get("knee").unwrap().x, 135.0);
    // Attach snaps to the nearest blob of the last frame at once.
    let ack = h
        .command("marker_manager", "attach_marker", json!({"id": "knee"}))
        .unwrap();
    assert_eq!(
        (ack.result["x"].as_f64(), ack.result["attached"].as_bool()),
        (Some(140.0), Some(true))
    );
    assert!(ack.result["blob"].is_u64());
}

#[test]
fn one_blob_feeds_one_marker_nearest_first() {
    let mut h = harness(json!({"markers": [
        {"id": "a", "x": 50, "y": 50, "attach": true},
        {"id": "b", "x": 58, "y": 50, "attach": true},
    ]}));
    // One spot near both markers, closer to b.
    let f = square_frame(&mut h, &[(60, 50)]);
    h.process(&f);
    let m = markers(&h);
    assert_eq!(m.get("b").unwrap().blob, Some(0));
    assert_eq!(
        (m.get("a").unwrap().x, m.get("a").unwrap().blob),
        (50.0, None)
    );
}

#[test]
fn set_params_keeps_markers_unless_the_initial_list_changes() {
    let mut h = harness(json!({"markers": [{"id": "hip", "x": 1, "y": 2, "label": "Hip"}]}));
    h.command("marker_manager", "add_marker", json!({"x": 5, "y": 5}))
        .unwrap();
    h.command("marker_manager", "set_params", json!({"attach_radius": 10}))
        .unwrap();
    let f = square_frame(&mut h, &[]);
    h.process(&f);
    assert_eq!(markers(&h).markers.len(), 2);
    h.command(
        "marker_manager",
        "set_params",
        json!({"markers": [{"id": "x", "x": 3, "y": 3}]}),
    )
    .unwrap();
    let f = square_frame(&mut h, &[]);
    h.process(&f);
    assert_eq!(
        markers(&h)
            .markers
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>(),
        ["x"]
    );
    let e = h
        .command(
            "marker_manager",
            "set_params",
            json!({"markers": [{"id": "x", "x": 3, "y": 3}, {"id": "x", "x": 3, "y": 3}]}),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StageFailed);
    h.command("marker_manager", "reset", json!({})).unwrap();
    let f = square_frame(&mut h, &[]);
    h.process(&f);
    assert_eq!(markers(&h).markers[0].id, "x");
}
