//! Benchmark 2, edge hops between threads.
//!
//! Latency: the producer writes a timestamp into the payload and sends it; the consumer
//! subtracts it from its clock on arrival. One message is in flight at a time (the producer
//! waits for the previous arrival), so the figure is the hop itself, not queueing. Two
//! cases: back to back (the consumer is still spinning in `recv`) and paced every 200 µs
//! (the consumer has parked and must be woken, as between camera frames).
//!
//! Cost: pooled frames pushed through a `block` edge as fast as possible; the per-frame
//! time minus the same acquire/release on one thread is what the hop adds (the figure the
//! GStreamer `queue` comparison uses).
//!
//! The baseline is a bare `crossbeam_channel` with the same protocol: the edge's own price.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use framebus_core::edge::{EdgePolicy, edge};
use framebus_core::frame::{Frame, FramePool, PixelFormat};

use super::{Row, Scale, quantile};

/// Interleaved rounds per variant.
const ROUNDS: usize = 4;

/// One-way latencies (ns) of `n` messages, one in flight, `gap` between them.
fn latency(
    n: usize,
    gap: Option<Duration>,
    mut send: impl FnMut(u64) + Send,
    mut recv: impl FnMut() -> Option<u64> + Send,
) -> Vec<u64> {
    let origin = Instant::now();
    let received = AtomicU64::new(0);
    let mut lat = Vec::with_capacity(n);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n as u64 {
                let mut spins = 0u32;
                while received.load(Ordering::Acquire) < i {
                    spins += 1;
                    if spins < 1000 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
                if let Some(g) = gap {
                    std::thread::sleep(g);
                }
                send(origin.elapsed().as_nanos() as u64);
            }
        });
        for i in 0..n as u64 {
            let Some(t) = recv() else { break };
            lat.push((origin.elapsed().as_nanos() as u64).saturating_sub(t));
            received.store(i + 1, Ordering::Release);
        }
    });
    lat
}

fn edge_latency(n: usize, gap: Option<Duration>) -> Vec<u64> {
    let (tx, rx) = edge::<u64>(EdgePolicy::Latest);
    latency(
        n,
        gap,
        move |t| {
            let _ = tx.send(t);
        },
        move || rx.rx.recv().ok(),
    )
}

fn raw_latency(n: usize, gap: Option<Duration>) -> Vec<u64> {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(1);
    latency(
        n,
        gap,
        move |t| {
            let _ = tx.send(t);
        },
        move || rx.recv().ok(),
    )
}

/// Seconds per frame: acquire on one thread, hop, drop on another.
fn hop_cost(
    n: u64,
    mut send: impl FnMut(Frame) + Send,
    mut recv: impl FnMut() -> Option<Frame>,
) -> f64 {
    let pool = FramePool::new(128, Arc::from("camera_0"), 0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            for id in 0..n {
                let Some(mut f) = pool.acquire_or(64, 48, PixelFormat::Gray8, || false) else {
                    break;
                };
                if let Some(d) = f.get_mut() {
                    d.frame_id = id;
                }
                send(f);
            }
        });
        for _ in 0..n {
            let Some(f) = recv() else { break };
            black_box(f.frame_id);
        }
    });
    t0.elapsed().as_secs_f64() / n as f64
}

/// Seconds per frame for acquire + release on one thread.
fn one_thread(n: u64) -> f64 {
    let pool = FramePool::new(128, Arc::from("camera_0"), 0);
    let t0 = Instant::now();
    for id in 0..n {
        let mut f = pool
            .try_acquire(64, 48, PixelFormat::Gray8)
            .expect("free frame");
        if let Some(d) = f.get_mut() {
            d.frame_id = id;
        }
        black_box(f.frame_id);
    }
    t0.elapsed().as_secs_f64() / n as f64
}

/// Runs benchmark 2.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let n = scale.pick(20_000, 100_000);
    let n_paced = scale.pick(500, 2_000);
    let mut rows = Vec::new();
    // Interleaved rounds, so load from the rest of the machine falls on both alike.
    let (mut fb, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        fb.extend(edge_latency(n / ROUNDS, None));
        raw.extend(raw_latency(n / ROUNDS, None));
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        rows.push(
            Row::new(
                "edge_hop",
                format!("latency {name}, back to back ({n} msgs)"),
                quantile(&mut fb, q) as f64 / 1e3,
                "µs",
            )
            .vs("crossbeam channel", quantile(&mut raw, q) as f64 / 1e3),
        );
    }
    let gap = Some(Duration::from_micros(200));
    let (mut fb, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        fb.extend(edge_latency(n_paced / ROUNDS, gap));
        raw.extend(raw_latency(n_paced / ROUNDS, gap));
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        rows.push(
            Row::new(
                "edge_hop",
                format!("latency {name}, consumer parked ({n_paced} msgs, 200 µs apart)"),
                quantile(&mut fb, q) as f64 / 1e3,
                "µs",
            )
            .vs("crossbeam channel", quantile(&mut raw, q) as f64 / 1e3),
        );
    }
    let frames = scale.pick(200_000, 1_000_000);
    // The fastest of interleaved rounds: noise only ever adds time.
    let (mut base, mut fb, mut raw) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        let n = frames / ROUNDS as u64;
        base = base.min(one_thread(n));
        let (tx, rx) = edge::<Frame>(EdgePolicy::Block { capacity: 64 });
        fb = fb.min(hop_cost(
            n,
            move |f| {
                let _ = tx.send(f);
            },
            move || rx.rx.recv().ok(),
        ));
        let (tx, rx) = crossbeam_channel::bounded::<Frame>(64);
        raw = raw.min(hop_cost(
            n,
            move |f| {
                let _ = tx.send(f);
            },
            move || rx.recv().ok(),
        ));
    }
    rows.push(
        Row::new(
            "edge_hop",
            format!("hop cost per frame, throughput ({frames} frames, block 64)"),
            ((fb - base) * 1e9).max(0.0),
            "ns",
        )
        .vs("crossbeam channel", ((raw - base) * 1e9).max(0.0)),
    );
    Ok(rows)
}
