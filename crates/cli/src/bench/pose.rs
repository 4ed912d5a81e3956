//! The `pose` stage (BlazePose on ONNX Runtime, one thread) on a real photo
//! (`basketball1.png`, 640×480), driven through the `Harness`. Reported per frame, p50:
//! - tracking (the landmark model on the region from the previous frame) and with the
//!   detector (the stage reset before every frame), for the lite and full landmark models;
//! - the time inside ONNX Runtime apart from our own pre/post-processing (crops, decoding,
//!   heatmap refinement, smoothing, angles, result), from the stage's own timings;
//! - the process's CPU time per frame (mean, from `/proc/self/stat`), which a loaded machine
//!   inflates far less than wall time; `bench/pose_mediapipe_time.py` reports MediaPipe's the
//!   same way.
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
            let mut cpu0 = 0.0;
            for i in 0..n + 3 {
                if i == 3 {
                    cpu0 = cpu_seconds().unwrap_or(f64::NAN);
                }
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
            let cpu = (cpu_seconds().unwrap_or(f64::NAN) - cpu0) / n as f64;
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
            if cpu.is_finite() {
                rows.push(Row::new(
                    "pose",
                    format!("{model}, {mode}: process CPU per frame (mean)"),
                    cpu * 1e3,
                    "ms",
                ));
            }
        }
    }
    Ok(rows)
}

/// User + system CPU time of this process so far, in seconds (`/proc/self/stat` fields 14
/// and 15, in clock ticks of 1/100 s, Linux's fixed `USER_HZ`); `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it follow its `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}
