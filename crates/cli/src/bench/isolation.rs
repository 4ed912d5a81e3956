//! Stage isolation benchmarks (thread side), figures only.
//!
//! - **Parallel join**: three independent 10 ms stages per frame, inline (one after the
//!   other) vs `isolation = "thread"` (one group, joined before the snapshot): milliseconds
//!   per frame and the speedup. Twice: CPU-bound stages (a busy core each: at most 2× on 2
//!   cores) and stages that wait (sleep, as a stage waiting on a device would).
//! - **Hop latency**: a frame handed to a stage and its result back, p50/p99 per frame, for
//!   8 B, 640×480 RGB, 1920×1080 RGB and 40 MB frames, beside the same stage called inline.
//!   Each hop kind is one [`Hop`] function over the same [`PAYLOADS`]; [`HOPS`] lists them,
//!   so another kind (the process hop) is one more entry printing the same rows.

use std::hint::black_box;
use std::time::Instant;

use framebus_core::config::{Isolation, Schedule};
use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use serde_json::json;

use super::fixtures::{Level, Sleep, Spin};
use super::{Row, Scale, quantile};

/// A frame size the hop is measured with.
pub(crate) struct Payload {
    /// Label in the table.
    pub(crate) name: &'static str,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) format: PixelFormat,
}

/// The frame sizes of the hop benchmark (the issue's, as dora-rs publishes them).
pub(crate) const PAYLOADS: [Payload; 4] = [
    Payload {
        name: "8 B",
        width: 8,
        height: 1,
        format: PixelFormat::Gray8,
    },
    Payload {
        name: "640×480 RGB",
        width: 640,
        height: 480,
        format: PixelFormat::Rgb8,
    },
    Payload {
        name: "1920×1080 RGB",
        width: 1920,
        height: 1080,
        format: PixelFormat::Rgb8,
    },
    Payload {
        name: "40 MB",
        width: 8000,
        height: 5000,
        format: PixelFormat::Gray8,
    },
];

/// Measures `n` hops of one kind with frames of `payload`: nanoseconds per frame, from
/// handing the frame over to having the stage's result in the frame's store.
pub(crate) type Hop = fn(&Payload, usize) -> anyhow::Result<Vec<u64>>;

/// Every hop kind measured beside the inline call (the process hop goes here too).
pub(crate) const HOPS: &[(&str, Hop)] = &[("thread", thread_hop)];

/// Per-frame times through a harness whose one stage (`bench_level`, writes a result) is
/// scheduled by `schedule`.
fn frames_through(schedule: Schedule, p: &Payload, n: usize) -> anyhow::Result<Vec<u64>> {
    let mut h = Harness::builder()
        .stage::<Level>("level", json!({"level": 1}))
        .schedule(schedule)
        .build()
        .map_err(anyhow::Error::msg)?;
    let warm = (n / 10).max(10);
    let mut out = Vec::with_capacity(n);
    for i in 0..warm + n {
        let f = h.frame(p.width, p.height, p.format, |_| {});
        let t0 = Instant::now();
        black_box(h.process_raw(&f).len());
        let ns = t0.elapsed().as_nanos() as u64;
        if i >= warm {
            out.push(ns);
        }
    }
    anyhow::ensure!(h.result_json("level").is_some(), "the stage gave no result");
    Ok(out)
}

/// The stage inline, on the pipeline thread: the baseline.
fn inline_call(p: &Payload, n: usize) -> anyhow::Result<Vec<u64>> {
    frames_through(Schedule::default(), p, n)
}

/// The stage on its own thread (`isolation = "thread"`, join).
fn thread_hop(p: &Payload, n: usize) -> anyhow::Result<Vec<u64>> {
    frames_through(
        Schedule {
            isolation: Isolation::Thread,
            ..Schedule::default()
        },
        p,
        n,
    )
}

/// Hop rows of one kind: p50 and p99 per payload, beside the inline call.
pub(crate) fn hop_rows(kind: &str, hop: Hop, n: usize) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for p in &PAYLOADS {
        let mut base = inline_call(p, n)?;
        let mut got = hop(p, n)?;
        for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
            let b = quantile(&mut base, q) as f64 / 1e3;
            let v = quantile(&mut got, q) as f64 / 1e3;
            rows.push(
                Row::new(
                    "isolation",
                    format!("{kind} hop {label}, {} frame", p.name),
                    v,
                    "µs",
                )
                .vs("inline call", b),
            );
        }
    }
    Ok(rows)
}

/// Milliseconds per frame through three `S` stages of 10 ms each, all with `isolation`.
fn join_ms<S: framebus_core::stage::Stage>(
    isolation: Isolation,
    frames: usize,
) -> anyhow::Result<f64> {
    let mut b = Harness::builder();
    for i in 0..3 {
        b = b
            .stage::<S>(&format!("s{i}"), json!({"ms": 10}))
            .schedule(Schedule {
                isolation,
                ..Schedule::default()
            });
    }
    let mut h = b.build().map_err(anyhow::Error::msg)?;
    let f = h.frame(64, 48, PixelFormat::Gray8, |_| {});
    h.process_raw(&f);
    let t0 = Instant::now();
    for _ in 0..frames {
        let f = h.frame(64, 48, PixelFormat::Gray8, |_| {});
        black_box(h.process_raw(&f).len());
    }
    Ok(t0.elapsed().as_secs_f64() * 1e3 / frames as f64)
}

/// Runs the isolation benchmarks.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let frames = scale.pick(20, 100);
    let mut rows = Vec::new();
    for (what, inline, thread) in [
        (
            "CPU-bound",
            join_ms::<Spin>(Isolation::Inline, frames)?,
            join_ms::<Spin>(Isolation::Thread, frames)?,
        ),
        (
            "waiting",
            join_ms::<Sleep>(Isolation::Inline, frames)?,
            join_ms::<Sleep>(Isolation::Thread, frames)?,
        ),
    ] {
        rows.push(
            Row::new(
                "isolation",
                format!("join: 3 × 10 ms {what} stages, thread group, per frame"),
                thread,
                "ms",
            )
            .vs("inline, one after another", inline),
        );
        rows.push(Row::new(
            "isolation",
            format!("join speedup ({what}, {} cores)", cores()),
            inline / thread,
            "×",
        ));
    }
    let n = scale.pick(2_000, 10_000);
    for (kind, hop) in HOPS {
        rows.extend(hop_rows(kind, *hop, n)?);
    }
    Ok(rows)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
