//! Process hop: a frame handed to a stage in a worker process (`isolation = "process"`,
//! the `bench_noop` stage under `framebus worker`) and its result back, measured as the
//! stage's per-frame time in the pipeline (send the `frame` message naming the shared
//! buffer, the worker reads the frame in place, the `result` comes back and is applied).
//! Payloads: 8 B, 640×480 RGB, 1920×1080 RGB and 40 MB. Frames live in memfds registered
//! once, so the hop should not depend on the size.
//!
//! Baseline, in the same run: a thread hop with the same shape (the pooled frame's handle
//! sent to another thread, which reads a byte and sends a small result back), paced alike.
//! dora-rs publishes 104 µs (8 B) to 2.5 ms (40 MB) for its shared-memory hop.
//!
//! Each payload runs three times: with the spin doorbell (`worker.spin_us`, default 200) and
//! its message slots (`worker.slot_bytes`, default 64 KiB: frame and result messages in
//! shared memory, no syscall while the other side spins), with the doorbell but no slots
//! (every message on the socket), and without either (`spin_us = 0`: both sides sleep on the
//! socket between messages).

use std::sync::Arc;
use std::time::{Duration, Instant};

use framebus_core::config::{Config, Format};
use framebus_core::frame::{FramePool, PixelFormat};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};

use super::{Row, Scale, quantile};

/// Frames a second: the worker parks between frames, as with a camera.
const FPS: f64 = 200.0;

/// (label, width, height, format) of each payload.
const PAYLOADS: [(&str, u32, u32, &str); 4] = [
    ("8 B", 8, 1, "gray8"),
    ("640×480 RGB", 640, 480, "rgb8"),
    ("1920×1080 RGB", 1920, 1080, "rgb8"),
    ("40 MB", 6400, 6250, "gray8"),
];

/// Collects the process stage's per-frame time from every snapshot.
struct Times(std::sync::Mutex<Vec<u64>>);

impl Observer for Times {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(s.json) else {
            return;
        };
        if let Some(ms) = v["active_plugins"][0]["performance_ms"].as_f64()
            && let Ok(mut t) = self.0.lock()
        {
            t.push((ms * 1e6) as u64);
        }
    }
}

/// Busy-poll time per wait of the spinning rows, µs (the default of `worker.spin_us`).
const SPIN_US: u64 = 200;

/// Bytes of each message slot of the slotted rows (the default of `worker.slot_bytes`).
const SLOT_BYTES: u64 = 64 * 1024;

fn process_hops(
    w: u32,
    h: u32,
    format: &str,
    frames: u64,
    spin_us: u64,
    slot_bytes: u64,
) -> anyhow::Result<Vec<u64>> {
    let text = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "bench_frames"
        edge = {{ policy = "block", capacity = 2 }}
        params = {{ width = {w}, height = {h}, format = "{format}", fps = {FPS}, frames = {frames}, fill = false }}
        [[stages]]
        plugin = "bench_noop"
        isolation = "process"
        worker = {{ spin_us = {spin_us}, slot_bytes = {slot_bytes} }}
        "#
    );
    let config = Config::parse(&text, Format::Toml, "process_hop.toml")?;
    let times = Arc::new(Times(std::sync::Mutex::new(Vec::new())));
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            observers: vec![times.clone()],
            ..Default::default()
        },
    )?;
    let copied = rt.status().sources[0].stages[0]
        .worker
        .as_ref()
        .map_or(0, |w| w.copied_frames);
    rt.wait();
    anyhow::ensure!(copied == 0, "frames were copied: the hop is not zero-copy");
    let mut t = std::mem::take(&mut *times.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    // The first frames register buffers and warm the worker up.
    t.drain(..t.len().min(10));
    Ok(t)
}

fn thread_hops(w: u32, h: u32, format: PixelFormat, frames: u64) -> Vec<u64> {
    let pool = FramePool::new(2, Arc::from("camera_0"), 0);
    pool.prefill(w, h, format);
    let (to_tx, to_rx) = crossbeam_channel::bounded::<framebus_core::frame::Frame>(1);
    let (back_tx, back_rx) = crossbeam_channel::bounded::<u64>(1);
    let worker = std::thread::spawn(move || {
        for f in to_rx {
            let first = f.data.first().copied().unwrap_or(0);
            if back_tx.send(f.frame_id + u64::from(first)).is_err() {
                break;
            }
        }
    });
    let period = Duration::from_secs_f64(1.0 / FPS);
    let mut out = Vec::with_capacity(frames as usize);
    let start = Instant::now();
    for i in 0..frames {
        let due = start + period * i as u32;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let Some(f) = pool.try_acquire(w, h, format) else {
            continue;
        };
        let t0 = Instant::now();
        if to_tx.send(f).is_err() || back_rx.recv().is_err() {
            break;
        }
        out.push(t0.elapsed().as_nanos() as u64);
    }
    drop(to_tx);
    let _ = worker.join();
    out.drain(..out.len().min(10));
    out
}

/// Runs the benchmark.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let frames = scale.pick(200, 2000);
    let mut rows = Vec::new();
    for (label, w, h, format) in PAYLOADS {
        let px = if format == "rgb8" {
            PixelFormat::Rgb8
        } else {
            PixelFormat::Gray8
        };
        let mut thread = thread_hops(w, h, px, frames);
        let mut slots = process_hops(w, h, format, frames, SPIN_US, SLOT_BYTES)?;
        let mut spin = process_hops(w, h, format, frames, SPIN_US, 0)?;
        let mut sleep = process_hops(w, h, format, frames, 0, 0)?;
        for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
            let s = quantile(&mut slots, q) as f64 / 1000.0;
            let p = quantile(&mut spin, q) as f64 / 1000.0;
            let n = quantile(&mut sleep, q) as f64 / 1000.0;
            let t = quantile(&mut thread, q) as f64 / 1000.0;
            rows.push(
                Row::new(
                    "process_hop",
                    format!("{label} round trip {name}, spin_us={SPIN_US}, slots"),
                    s,
                    "µs",
                )
                .vs(format!("thread hop {name}"), t),
            );
            rows.push(
                Row::new(
                    "process_hop",
                    format!("{label} round trip {name}, spin_us={SPIN_US}, no slots"),
                    p,
                    "µs",
                )
                .vs(format!("slots {name}"), s),
            );
            rows.push(
                Row::new(
                    "process_hop",
                    format!("{label} round trip {name}, spin_us=0"),
                    n,
                    "µs",
                )
                .vs(format!("slots {name}"), s),
            );
        }
    }
    Ok(rows)
}
