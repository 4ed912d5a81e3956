//! Benchmark 5, command latency: `set_params` sent on the command bus from another thread →
//! applied by the pipeline thread (the ack) → visible in the next snapshot (an observer sees
//! the new value in the serialized JSON). The source is free-running tiny frames behind a
//! one-slot `block` edge, so the pipeline is always busy and the figure is the machinery, not
//! a wait for the camera. At a real frame rate add up to one frame interval (33 ms at 30 fps)
//! for the wait for the next frame.
//!
//! The baseline is the pipeline's mean frame interval in the same run: a command can at best
//! become visible one frame after it is applied.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::protocol::Command;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use serde_json::json;

use super::fixtures::config;
use super::{Row, Scale, quantile};

const PATTERN: &[u8] = br#""level":{"level":"#;

/// Watches snapshots for the level being waited for.
struct Watch {
    origin: Instant,
    expected: AtomicU64,
    frames: AtomicU64,
    seen: Sender<u64>,
}

impl Observer for Watch {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        let want = self.expected.load(Ordering::Acquire);
        if want == 0 {
            return;
        }
        let Some(at) = snap.json.windows(PATTERN.len()).position(|w| w == PATTERN) else {
            return;
        };
        let digits = &snap.json[at + PATTERN.len()..];
        let end = digits
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(digits.len());
        let level = std::str::from_utf8(&digits[..end])
            .ok()
            .and_then(|s| s.parse().ok());
        if level == Some(want)
            && self
                .expected
                .compare_exchange(want, 0, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let _ = self.seen.send(self.origin.elapsed().as_nanos() as u64);
        }
    }
}

/// Runs benchmark 5.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let n = scale.pick(300u64, 2_000);
    let cfg = config(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "bench_frames"
        edge = { policy = "block", capacity = 1 }
        params = { width = 8, height = 8, format = "gray8", fps = 0.0, frames = 0, fill = true }
        [[stages]]
        id = "level"
        plugin = "bench_level"
        "#,
    )?;
    let (seen_tx, seen_rx) = crossbeam_channel::bounded(1);
    let watch = Arc::new(Watch {
        origin: Instant::now(),
        expected: AtomicU64::new(0),
        frames: AtomicU64::new(0),
        seen: seen_tx,
    });
    let rt = Runtime::start(
        &cfg,
        RuntimeOptions {
            observers: vec![watch.clone() as Arc<dyn Observer>],
            ..Default::default()
        },
    )?;
    // Let the pipeline reach its steady state.
    std::thread::sleep(Duration::from_millis(100));
    let (mut applied, mut visible) = (Vec::new(), Vec::new());
    let frames0 = watch.frames.load(Ordering::Relaxed);
    let t_start = Instant::now();
    for level in 1..=n {
        let acked = Arc::new(AtomicU64::new(0));
        watch.expected.store(level, Ordering::Release);
        let t0 = watch.origin.elapsed().as_nanos() as u64;
        let (a, origin) = (acked.clone(), watch.origin);
        rt.bus().send(
            Command::new("level", "set_params", json!({ "level": level })),
            move |r| {
                if r.is_ok() {
                    a.store(origin.elapsed().as_nanos() as u64, Ordering::Release);
                }
            },
        );
        let Ok(seen) = seen_rx.recv_timeout(Duration::from_secs(5)) else {
            anyhow::bail!("level {level} never showed in a snapshot");
        };
        visible.push(seen.saturating_sub(t0));
        let ack = acked.load(Ordering::Acquire);
        if ack > 0 {
            applied.push(ack.saturating_sub(t0));
        }
    }
    let elapsed = t_start.elapsed().as_secs_f64();
    let frames = watch.frames.load(Ordering::Relaxed) - frames0;
    rt.shutdown();
    let interval_us = elapsed * 1e6 / frames.max(1) as f64;
    let base = "mean frame interval";
    Ok(vec![
        Row::new(
            "command_latency",
            format!("applied (ack) p50 ({n} cmds)"),
            quantile(&mut applied, 0.5) as f64 / 1e3,
            "µs",
        )
        .vs(base, interval_us),
        Row::new(
            "command_latency",
            "applied (ack) p99",
            quantile(&mut applied, 0.99) as f64 / 1e3,
            "µs",
        )
        .vs(base, interval_us),
        Row::new(
            "command_latency",
            "visible in snapshot p50",
            quantile(&mut visible, 0.5) as f64 / 1e3,
            "µs",
        )
        .vs(base, interval_us),
        Row::new(
            "command_latency",
            "visible in snapshot p99",
            quantile(&mut visible, 0.99) as f64 / 1e3,
            "µs",
        )
        .vs(base, interval_us),
    ])
}
