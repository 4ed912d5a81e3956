//! Benchmark 4, blob detection: the real `blob_detection` stage (from `framebus-stages`)
//! on synthetic 640×480 and 1280×720 gray frames, driven through the `Harness` (the
//! pipeline without threads). Reported per frame: the stage's own time (as the pipeline
//! measures it for `active_plugins`), and the stage plus the snapshot carrying the blobs.
//!
//! The frames are made from a fixed seed: dark noise, bright discs of varied size, and
//! scattered single bright pixels (components too small to keep). With `--frames-dir` they
//! are also written as raw `blob_<w>x<h>_<i>.gray` files, so `bench/opencv_blob.py` times
//! OpenCV on exactly the same pixels.
//!
//! The baseline is the floor of any thresholding detector: one pass counting the pixels at or
//! above the threshold.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use serde_json::{Value, json};

use super::{Row, Scale, quantile};

/// Frames per size (cycled through).
const FRAMES: usize = 8;
/// Threshold, as the stage and OpenCV use it (`>= 200`, i.e. OpenCV's `> 199`).
const THRESHOLD: u8 = 200;

/// A xorshift generator, so Rust and the files agree without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One synthetic gray frame.
pub(crate) fn make_frame(w: usize, h: usize, index: usize) -> Vec<u8> {
    let mut rng = Rng(0x5eed_0000 + (w * 31 + h * 7 + index) as u64);
    let mut img: Vec<u8> = (0..w * h).map(|_| rng.below(80) as u8).collect();
    let discs = w * h / 10_000;
    for _ in 0..discs {
        let cx = rng.below(w as u64) as i64;
        let cy = rng.below(h as u64) as i64;
        let r = 2 + rng.below(13) as i64;
        let level = 210 + rng.below(46) as u8;
        for y in (cy - r).max(0)..(cy + r + 1).min(h as i64) {
            for x in (cx - r).max(0)..(cx + r + 1).min(w as i64) {
                if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                    img[y as usize * w + x as usize] = level;
                }
            }
        }
    }
    for _ in 0..w * h / 1000 {
        let i = rng.below((w * h) as u64) as usize;
        img[i] = 255;
    }
    img
}

struct SizeResult {
    stage_ms: f64,
    total_ms: f64,
    floor_ms: f64,
    blobs: f64,
}

fn run_size(w: usize, h: usize, iters: usize, dir: Option<&Path>) -> anyhow::Result<SizeResult> {
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(|i| make_frame(w, h, i)).collect();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
        for (i, f) in frames.iter().enumerate() {
            let p = dir.join(format!("blob_{w}x{h}_{i}.gray"));
            std::fs::write(&p, f).with_context(|| format!("writing {}", p.display()))?;
        }
    }
    let params = json!({"threshold": THRESHOLD, "min_area": 10, "max_area": 5000, "max_blobs": 64});
    let mut h_ = Harness::builder()
        .plugin("blob_detection", "blob_detection", params)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build blob_detection: {e}"))?;
    let (mut stage_ns, mut total_ns) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    let mut blobs = 0u64;
    for i in 0..iters + FRAMES {
        let src = &frames[i % FRAMES];
        let f = h_.frame(w as u32, h as u32, PixelFormat::Gray8, |d| {
            d.copy_from_slice(src)
        });
        let t0 = Instant::now();
        let snap = h_.process_raw(&f);
        let dt = t0.elapsed().as_nanos() as u64;
        if i < FRAMES {
            continue; // warm-up: buffers grow to the frame size
        }
        let v: Value = serde_json::from_slice(snap)?;
        let ms = v["active_plugins"][0]["performance_ms"]
            .as_f64()
            .unwrap_or(0.0);
        stage_ns.push((ms * 1e6) as u64);
        total_ns.push(dt);
        blobs += v["results"]["blob_detection"]["count"]
            .as_u64()
            .unwrap_or(0);
        if let Some(e) = v["errors"].as_array().and_then(|e| e.first()) {
            anyhow::bail!("blob_detection failed: {e}");
        }
    }
    let mut floor_ns = Vec::with_capacity(iters);
    for i in 0..iters {
        let src = black_box(&frames[i % FRAMES]);
        let t0 = Instant::now();
        let mut n = 0u32;
        for chunk in src.chunks(4096) {
            n += chunk
                .iter()
                .map(|&p| u32::from(p >= THRESHOLD))
                .sum::<u32>();
        }
        black_box(n);
        floor_ns.push(t0.elapsed().as_nanos() as u64);
    }
    Ok(SizeResult {
        stage_ms: quantile(&mut stage_ns, 0.5) as f64 / 1e6,
        total_ms: quantile(&mut total_ns, 0.5) as f64 / 1e6,
        floor_ms: quantile(&mut floor_ns, 0.5) as f64 / 1e6,
        blobs: blobs as f64 / iters as f64,
    })
}

/// Runs benchmark 4; `dir` receives the frames as raw files when given.
pub(crate) fn run(scale: Scale, dir: Option<&Path>) -> anyhow::Result<Vec<Row>> {
    let iters = scale.pick(200, 1000);
    let mut rows = Vec::new();
    for (w, h) in [(640, 480), (1280, 720)] {
        let r = run_size(w, h, iters, dir)?;
        let floor = "one threshold pass (floor)";
        rows.push(
            Row::new(
                "blob",
                format!("{w}×{h} stage, median ms per frame"),
                r.stage_ms,
                "ms",
            )
            .vs(floor, r.floor_ms),
        );
        rows.push(
            Row::new(
                "blob",
                format!("{w}×{h} stage + snapshot, median ms per frame"),
                r.total_ms,
                "ms",
            )
            .vs(floor, r.floor_ms),
        );
        rows.push(Row::new(
            "blob",
            format!("{w}×{h} blobs kept per frame (check)"),
            r.blobs,
            "blobs",
        ));
    }
    Ok(rows)
}
