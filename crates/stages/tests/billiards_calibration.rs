//! Calibration of `table_detection`: a malformed pinned calibration fails each frame, is
//! reported, and the pipeline goes on; `calibrate` refuses a bad quadrilateral with
//! `bad_args` naming the problem, and a good one is kept in the stage's params.

use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::harness::Harness;
use framebus_core::protocol::ErrorCode;
use framebus_core::source::{Source, SourceInit};
use framebus_media::synthetic_table::{SyntheticTable, SyntheticTableParams};
use framebus_stages::billiards::ball_detection::{BallDetection, DetectedBalls};
use framebus_stages::billiards::table_detection::{TableDetection, TableGeometry};
use serde_json::json;

fn camera() -> SyntheticTable {
    let init = SourceInit::standalone("camera_0", Arc::new(ManualClock::new()));
    SyntheticTable::new(
        SyntheticTableParams {
            width: 640,
            height: 360,
            fps: 0.0,
            ..Default::default()
        },
        &init,
    )
    .unwrap()
}

#[test]
fn malformed_calibration_fails_frames_and_the_loop_goes_on() {
    let mut cam = camera();
    let corners = cam.view().corners_px();
    // Two corners swapped: a bow tie, not a convex quadrilateral.
    let bowtie = [corners[0], corners[2], corners[1], corners[3]];
    let mut h = Harness::builder()
        .stage::<TableDetection>("table_detection", json!({ "corners": bowtie }))
        .stage::<BallDetection>("ball_detection", json!({}))
        .max_failures(100)
        .build()
        .unwrap();
    for i in 1..=3u64 {
        let f = cam.next_frame().unwrap().unwrap();
        let snap = h.process(&f);
        assert_eq!(snap["frame_id"], i, "frames keep flowing");
        let errors = snap["errors"].as_array().unwrap();
        let e = errors
            .iter()
            .find(|e| e["stage"] == "table_detection")
            .unwrap();
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("not a convex quadrilateral"),
            "{e}"
        );
        assert_eq!(e["consecutive"], i);
        // The next stage still ran, finding nothing without a table.
        assert_eq!(
            h.result::<DetectedBalls>("ball_detection").unwrap().count,
            0
        );
    }
    // A bad calibrate is refused and changes nothing.
    let e = h
        .command(
            "table_detection",
            "calibrate",
            json!({ "corners": [[0, 0], [10, 10], [20, 20], [0, 5]] }),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    assert!(e.message.contains("collinear"), "{}", e.message);
    let e = h
        .command(
            "table_detection",
            "calibrate",
            json!({ "corners": [[0, 0], [10, 10]] }),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    assert!(e.message.contains("exactly 4"), "{}", e.message);
    let e = h
        .command("table_detection", "calibrate", json!({ "corners": bowtie }))
        .unwrap_err();
    assert!(e.message.contains("not a convex"), "{}", e.message);
    // A good one is applied and kept in the params.
    h.command(
        "table_detection",
        "calibrate",
        json!({ "corners": corners }),
    )
    .unwrap();
    let params = h
        .command("table_detection", "get_params", json!({}))
        .unwrap()
        .result;
    assert_eq!(params["corners"], json!(corners));
    let f = cam.next_frame().unwrap().unwrap();
    let snap = h.process(&f);
    assert!(
        snap["errors"].as_array().unwrap().is_empty(),
        "{}",
        snap["errors"]
    );
    let t = h.result::<TableGeometry>("table_detection").unwrap();
    assert!(t.found && t.source == "calibrated");
    assert_eq!(
        h.result::<DetectedBalls>("ball_detection").unwrap().count,
        16
    );
}
