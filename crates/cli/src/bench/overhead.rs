//! Benchmark 1, per-stage overhead: 10 no-op stages over pooled frames through the real
//! pipeline (`Harness`: the same `Pipeline` the runtime thread runs, without threads), beside
//! a hand-written loop doing the same work (acquire a pooled frame, call 10 no-op functions
//! through `dyn`, release it): the floor.
//!
//! Per stage = (time with 10 stages − time with none) / 10, so the fixed per-frame cost
//! (frame bookkeeping, the snapshot's header) is not charged to stages. What a framebus
//! stage costs per frame beyond the floor: two clock reads for its timing, `catch_unwind`,
//! the stats counters, and its entry in the snapshot's `active_plugins`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use framebus_core::frame::{FrameData, FramePool, PixelFormat};
use framebus_core::harness::Harness;
use serde_json::json;

use super::fixtures::Noop;
use super::{Row, Scale};

const STAGES: usize = 10;
/// Interleaved rounds per configuration.
const ROUNDS: u64 = 3;

/// Seconds per frame through a harness with `stages` no-op stages.
fn framebus(stages: usize, frames: u64) -> anyhow::Result<f64> {
    let mut b = Harness::builder();
    for i in 0..stages {
        b = b.stage::<Noop>(&format!("noop_{i}"), json!({}));
    }
    let mut h = b.build().map_err(anyhow::Error::msg)?;
    for _ in 0..1000 {
        let f = h.frame(8, 8, PixelFormat::Gray8, |_| {});
        h.process_raw(&f);
    }
    let t0 = Instant::now();
    for _ in 0..frames {
        let f = h.frame(8, 8, PixelFormat::Gray8, |_| {});
        black_box(h.process_raw(&f).len());
    }
    Ok(t0.elapsed().as_secs_f64() / frames as f64)
}

/// A hand-written stage: a boxed closure over the frame.
type StageFn = dyn FnMut(&FrameData) -> bool;

/// Seconds per frame through the hand-written loop with `stages` no-op functions.
fn floor(stages: usize, frames: u64) -> f64 {
    let pool = FramePool::new(4, Arc::from("camera_0"), 0);
    let mut fns: Vec<Box<StageFn>> = (0..stages)
        .map(|_| Box::new(|f: &FrameData| black_box(f).width > 0) as Box<StageFn>)
        .collect();
    let fns = black_box(&mut fns);
    let t0 = Instant::now();
    for id in 0..frames {
        let mut f = pool
            .try_acquire(8, 8, PixelFormat::Gray8)
            .expect("pool of 4, one in use");
        if let Some(d) = f.get_mut() {
            d.frame_id = id;
        }
        for s in fns.iter_mut() {
            if !s(&f) {
                break;
            }
        }
        black_box(&f);
    }
    t0.elapsed().as_secs_f64() / frames as f64
}

/// Nanoseconds for the two `Instant::now()` calls the pipeline makes around every stage.
fn clock_pair(n: u64) -> f64 {
    let t0 = Instant::now();
    let mut acc = 0u128;
    for _ in 0..n {
        let a = Instant::now();
        acc += black_box(a.elapsed().as_nanos());
    }
    black_box(acc);
    t0.elapsed().as_secs_f64() * 1e9 / n as f64
}

/// Runs benchmark 1.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let frames = scale.pick(200_000, 1_000_000);
    // Three interleaved rounds, the fastest of each kept: noise from the rest of the machine
    // only ever adds time.
    let (mut fb0, mut fb10, mut fl0, mut fl10) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        let n = frames / ROUNDS;
        fb0 = fb0.min(framebus(0, n)?);
        fb10 = fb10.min(framebus(STAGES, n)?);
        fl0 = fl0.min(floor(0, n));
        fl10 = fl10.min(floor(STAGES, n));
    }
    let per_stage = |a: f64, b: f64| ((b - a) / STAGES as f64 * 1e9).max(0.0);
    let floor_stage = per_stage(fl0, fl10).max(0.01);
    Ok(vec![
        Row::new(
            "overhead",
            format!("per stage per frame ({frames} frames)"),
            per_stage(fb0, fb10),
            "ns",
        )
        .vs("hand-written loop", floor_stage),
        Row::new(
            "overhead",
            "per frame, 10 no-op stages + snapshot",
            fb10 * 1e9,
            "ns",
        )
        .vs("hand-written loop", fl10 * 1e9),
        Row::new(
            "overhead",
            "per frame, no stages (snapshot, bookkeeping)",
            fb0 * 1e9,
            "ns",
        )
        .vs("hand-written loop", fl0 * 1e9),
        Row::new(
            "overhead",
            "two clock reads (charged to every stage)",
            clock_pair(frames),
            "ns",
        ),
    ])
}
