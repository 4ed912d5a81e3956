//! Our `pose` stage against MediaPipe 0.10.14 itself (full model, static images): the
//! keypoints `bench/pose_mediapipe.sh` recorded in `tests/fixtures/pose_mediapipe.json`.
//!
//! Measured (README, "Pose"): on the full-body basketball frames the median error is
//! 1.4 px (the goal, ≤ 1.5 px, asserted), the worst visible point 7.9–11.8 px; on the two
//! close-ups (astronaut, camera) our detector's region differs from MediaPipe's: median
//! 8.5–8.9 px, outliers up to 89 px. Beyond the median on the basketball frames the asserted
//! bounds are the measured ones (so a regression fails), not yet the goal (visible
//! points ≤ 5 px, median ≤ 1.5 px on every image).

mod pose_common;

use pose_common::{fixtures, photo, pose_harness, run};
use serde_json::{Value, json};

#[test]
fn keypoints_match_mediapipe_on_the_fixture_photos() {
    let text = std::fs::read_to_string(fixtures().join("pose_mediapipe.json")).expect("fixture");
    let mp: Value = serde_json::from_str(&text).expect("json");
    let mut h = pose_harness(json!({"model": "full", "smoothing": "none"}));
    let images = mp["images"].as_object().expect("images");
    assert!(images.len() >= 5, "four photos and the empty image");
    assert!(images.values().any(|v| v["valid"] == false));
    for (name, want) in images {
        h.command("pose", "reset", json!({})).expect("reset");
        let got = run(&mut h, &photo(name));
        assert_eq!(
            got.valid,
            want["valid"].as_bool().unwrap(),
            "{name}: person found"
        );
        if !got.valid {
            continue;
        }
        let mut errs = Vec::new();
        let mut worst_visible: f64 = 0.0;
        for (g, w) in got
            .keypoints
            .iter()
            .zip(want["keypoints"].as_array().unwrap())
        {
            assert_eq!(g.id, w["id"].as_str().unwrap());
            let e = (g.x - w["x"].as_f64().unwrap()).hypot(g.y - w["y"].as_f64().unwrap());
            errs.push(e);
            if w["visibility"].as_f64().unwrap() > 0.5 {
                worst_visible = worst_visible.max(e);
            }
        }
        errs.sort_by(f64::total_cmp);
        let median = errs[errs.len() / 2];
        eprintln!(
            "{name}: median {median:.2} px, max {:.2} px, worst visible {worst_visible:.2} px",
            errs[errs.len() - 1]
        );
        let (max_median, max_visible) = if name.starts_with("basketball") {
            (1.5, 12.0)
        } else {
            (16.0, 95.0)
        };
        assert!(median <= max_median, "{name}: median error {median:.2} px");
        assert!(
            worst_visible <= max_visible,
            "{name}: a visible keypoint is {worst_visible:.2} px off"
        );
    }
}
