//! The `pose` stage (BlazePose on ONNX Runtime, one thread) on a real photo
//! (`basketball1.png`, 640×480), driven through the `Harness`. Reported per frame, p50:
//! - tracking (the landmark model on the region from the previous frame) and with the
//!   detector (the stage reset before every frame), for the lite and full landmark models;
//! - the time inside ONNX Runtime apart from our own pre/post-processing (crops, decoding,
//!   heatmap refinement, smoothing, angles, result), from the stage's own timings.
//!
//! The baseline is MediaPipe Python 0.10.14 (full model, one thread) as the issue records it
//! (16.7 ms p50 per frame); `bench/pose_compare.sh` measures it on this machine beside this
//! benchmark.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use framebus_stages::Pose;
use serde_json::json;

use super::{Row, Scale, quantile};

/// MediaPipe Python full model, p50 ms per frame, from the issue.
const MEDIAPIPE_FULL_MS: f64 = 16.7;

/// Runs the pose benchmark.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    framebus_stages::link();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stages/tests/fixtures/people/basketball1.png");
    let img = image::open(&path)
        .with_context(|| format!("{}", path.display()))?
        .to_rgb8();
    let (w, h) = (img.width(), img.height());
    let data = img.into_raw();
    let n = scale.pick(20, 100);
    let mut rows = Vec::new();
    for model in ["lite", "full"] {
        for detect in [false, true] {
            let mut hs = Harness::builder()
                .plugin("pose", "pose", json!({"model": model, "threads": 1}))
                .build()
                .map_err(|e| anyhow::anyhow!(e))?;
            let (mut total, mut ort, mut ours) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..n + 3 {
                if detect {
                    let _ = hs.command("pose", "reset", json!({}));
                }
                let f = hs.frame(w, h, PixelFormat::Rgb8, |d| d.copy_from_slice(&data));
                let t0 = Instant::now();
                hs.process(&f);
                let dt = t0.elapsed().as_nanos() as u64;
                let p = hs.result::<Pose>("vision").context("pose result")?;
                anyhow::ensure!(p.valid, "no person found in the benchmark photo");
                if i >= 3 {
                    total.push(dt);
                    let o = (p.timings.ort * 1e6) as u64;
                    ort.push(o);
                    ours.push(dt.saturating_sub(o));
                }
            }
            let mode = if detect { "with detector" } else { "tracking" };
            rows.push(
                Row::new(
                    "pose",
                    format!("{model}, {mode}: per frame p50"),
                    ms(quantile(&mut total, 0.5)),
                    "ms",
                )
                .vs("MediaPipe Python full (issue)", MEDIAPIPE_FULL_MS),
            );
            rows.push(Row::new(
                "pose",
                format!("{model}, {mode}: inside ONNX Runtime p50"),
                ms(quantile(&mut ort, 0.5)),
                "ms",
            ));
            rows.push(Row::new(
                "pose",
                format!("{model}, {mode}: ours (pre/post, snapshot) p50"),
                ms(quantile(&mut ours, 0.5)),
                "ms",
            ));
        }
    }
    Ok(rows)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}
