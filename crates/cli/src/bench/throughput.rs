//! Benchmark 3, throughput: 640×480 RGB frames, source → 3 no-op stages → sink, with two
//! thread hops (capture thread → pipeline thread → sink thread), through the real runtime.
//! The source writes every byte of every frame (as a camera driver or decoder would). The
//! sink is an observer that forwards each frame over a second `block` edge to its own thread.
//!
//! Frames per second are timed from the first frame at the sink to the last, so start-up is
//! not counted. Allocations per frame (all threads) need the `bench-alloc` feature.
//!
//! The baseline is the same work hand-written: three threads, two bounded channels, buffers
//! recycled through a return channel.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use framebus_core::edge::{EdgePolicy, EdgeTx, edge};
use framebus_core::frame::Frame;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};

use super::alloc;
use super::fixtures::config;
use super::{Row, Scale};

const W: usize = 640;
const H: usize = 480;
/// Interleaved rounds per variant.
const ROUNDS: u64 = 2;

/// Forwards every processed frame to the sink thread.
struct SinkObserver {
    tx: EdgeTx<Frame>,
}

impl Observer for SinkObserver {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        let _ = self.tx.send(snap.frame.clone());
    }
}

/// Frames per second and allocations per frame between the first and last frame at the sink.
struct Measured {
    fps: f64,
    allocs: Option<f64>,
}

/// Counts `n` frames arriving through `recv`; times first to last.
fn sink(n: u64, mut recv: impl FnMut() -> Option<u64>) -> anyhow::Result<Measured> {
    let mut first = None;
    let mut a0 = None;
    for i in 0..n {
        let Some(id) = recv() else {
            anyhow::bail!("the sink got {i} of {n} frames");
        };
        black_box(id);
        if i == 0 {
            first = Some(Instant::now());
            a0 = alloc::count();
        }
    }
    let dt = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let allocs = a0
        .zip(alloc::count())
        .map(|(a, b)| (b - a) as f64 / (n - 1) as f64);
    Ok(Measured {
        fps: (n - 1) as f64 / dt.max(1e-9),
        allocs,
    })
}

fn framebus(n: u64) -> anyhow::Result<Measured> {
    let cfg = config(&format!(
        r#"
        [runtime]
        pool_frames = 16
        [[sources]]
        id = "camera_0"
        kind = "bench_frames"
        edge = {{ policy = "block", capacity = 4 }}
        params = {{ width = {W}, height = {H}, format = "rgb8", frames = {n}, fill = true }}
        [[stages]]
        id = "s1"
        plugin = "bench_noop"
        [[stages]]
        id = "s2"
        plugin = "bench_noop"
        [[stages]]
        id = "s3"
        plugin = "bench_noop"
        "#
    ))?;
    let (tx, rx) = edge::<Frame>(EdgePolicy::Block { capacity: 4 });
    let observers: Vec<Arc<dyn Observer>> = vec![Arc::new(SinkObserver { tx })];
    let rt = Runtime::start(
        &cfg,
        RuntimeOptions {
            observers,
            ..Default::default()
        },
    )?;
    let got = sink(n, || {
        rx.rx
            .recv_timeout(Duration::from_secs(10))
            .ok()
            .map(|f| f.frame_id)
    });
    rt.shutdown();
    got
}

fn hand_written(n: u64) -> anyhow::Result<Measured> {
    // Buffers are made on demand (up to 16) and recycled through a return channel, as the
    // framebus pool does, so both keep only as many frames as are in flight.
    let (free_tx, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(16);
    let (tx1, rx1) = crossbeam_channel::bounded::<(u64, Vec<u8>)>(4);
    let (tx2, rx2) = crossbeam_channel::bounded::<(u64, Vec<u8>)>(4);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut made = 0;
            for id in 1..=n {
                let buf = match free_rx.try_recv() {
                    Ok(b) => Some(b),
                    Err(_) if made < 16 => {
                        made += 1;
                        Some(vec![0u8; W * H * 3])
                    }
                    Err(_) => free_rx.recv().ok(),
                };
                let Some(mut buf) = buf else { break };
                buf.fill(id as u8);
                if tx1.send((id, buf)).is_err() {
                    break;
                }
            }
        });
        s.spawn(move || {
            let stages: [fn(&[u8]) -> bool; 3] = [|b| !b.is_empty(); 3];
            for (id, buf) in rx1 {
                for st in black_box(&stages) {
                    black_box(st(&buf));
                }
                if tx2.send((id, buf)).is_err() {
                    break;
                }
            }
        });
        sink(n, || {
            let (id, buf) = rx2.recv_timeout(Duration::from_secs(10)).ok()?;
            let _ = free_tx.send(buf);
            Some(id)
        })
    })
}

/// Runs benchmark 3.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let n = scale.pick(2_000, 10_000);
    // Interleaved rounds; the best frame rate of each is kept (noise only ever slows).
    let (mut fb, mut base) = (framebus(n / ROUNDS)?, hand_written(n / ROUNDS)?);
    for _ in 1..ROUNDS {
        let (f, b) = (framebus(n / ROUNDS)?, hand_written(n / ROUNDS)?);
        if f.fps > fb.fps {
            fb = f;
        }
        if b.fps > base.fps {
            base = b;
        }
    }
    let mut rows = vec![
        Row::new(
            "throughput",
            format!("640×480 RGB, 3 stages, 2 hops ({n} frames)"),
            fb.fps,
            "fps",
        )
        .vs("hand-written threads + channels", base.fps),
    ];
    match (fb.allocs, base.allocs) {
        (Some(a), Some(b)) => rows.push(
            Row::new(
                "throughput",
                "allocations per frame (all threads)",
                a,
                "allocs",
            )
            .vs("hand-written threads + channels", b),
        ),
        _ => eprintln!("bench: allocations not counted (build with `--features bench-alloc`)"),
    }
    Ok(rows)
}
