//! Benchmark 6, freshness under overload: a 30 fps source of 640×480 RGB frames into a stage
//! that takes 50 ms (20 fps at most). With the `latest` edge the pipeline always takes the
//! newest frame and the rest are dropped and counted; the baseline is a FIFO edge of 4
//! (`drop_oldest`, like a leaky GStreamer `queue`), where frames wait their turn.
//!
//! Age = the time a frame's snapshot leaves the pipeline − the frame's capture time, both on
//! the runtime's clock, so it includes the 50 ms of processing. Memory is the growth of the
//! process's resident set while the pipeline runs (the frame pool and queues).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use framebus_core::clock::{Clock, MonotonicClock};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};

use super::alloc::rss_bytes;
use super::fixtures::config;
use super::{Row, Scale, quantile};

/// Frames processed before ages are recorded (queues fill up first).
const WARM_UP: u64 = 10;

/// Records the age of every processed frame.
struct Ages {
    clock: Arc<MonotonicClock>,
    seen: AtomicU64,
    ages: Mutex<Vec<u64>>,
}

impl Observer for Ages {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        let age = self.clock.now_ns().saturating_sub(snap.frame.t_ns);
        if self.seen.fetch_add(1, Ordering::Relaxed) >= WARM_UP
            && let Ok(mut a) = self.ages.lock()
        {
            a.push(age);
        }
    }
}

struct Outcome {
    p50_ms: f64,
    p99_ms: f64,
    dropped_pct: f64,
    rss_mib: f64,
}

fn run_edge(edge: &str, secs: f64) -> anyhow::Result<Outcome> {
    let cfg = config(&format!(
        r#"
        [runtime]
        pool_frames = 8
        [[sources]]
        id = "camera_0"
        kind = "bench_frames"
        edge = {edge}
        params = {{ width = 640, height = 480, format = "rgb8", fps = 30.0, frames = 0, fill = true }}
        [[stages]]
        id = "slow"
        plugin = "bench_sleep"
        params = {{ ms = 50 }}
        "#
    ))?;
    let clock = Arc::new(MonotonicClock::new());
    let ages = Arc::new(Ages {
        clock: clock.clone(),
        seen: AtomicU64::new(0),
        ages: Mutex::new(Vec::with_capacity(1024)),
    });
    let rss0 = rss_bytes().unwrap_or(0);
    let rt = Runtime::start(
        &cfg,
        RuntimeOptions {
            clock,
            observers: vec![ages.clone() as Arc<dyn Observer>],
            ..Default::default()
        },
    )?;
    std::thread::sleep(Duration::from_secs_f64(secs));
    let rss1 = rss_bytes().unwrap_or(0);
    let status = rt.status();
    rt.shutdown();
    let s = &status.sources[0];
    let mut v = std::mem::take(&mut *ages.ages.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(Outcome {
        p50_ms: quantile(&mut v, 0.5) as f64 / 1e6,
        p99_ms: quantile(&mut v, 0.99) as f64 / 1e6,
        dropped_pct: 100.0 * s.dropped as f64 / s.sent.max(1) as f64,
        rss_mib: rss1.saturating_sub(rss0) as f64 / (1024.0 * 1024.0),
    })
}

/// Runs benchmark 6.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let secs = scale.pick(3.0, 10.0);
    let latest = run_edge(r#"{ policy = "latest" }"#, secs)?;
    let fifo = run_edge(r#"{ policy = "drop_oldest", capacity = 4 }"#, secs)?;
    let base = "FIFO edge (drop_oldest 4)";
    Ok(vec![
        Row::new(
            "freshness",
            format!("age at snapshot p50, latest edge ({secs} s)"),
            latest.p50_ms,
            "ms",
        )
        .vs(base, fifo.p50_ms),
        Row::new(
            "freshness",
            "age at snapshot p99, latest edge",
            latest.p99_ms,
            "ms",
        )
        .vs(base, fifo.p99_ms),
        Row::new("freshness", "frames dropped", latest.dropped_pct, "%").vs(base, fifo.dropped_pct),
        Row::new(
            "freshness",
            "resident memory growth while running",
            latest.rss_mib,
            "MiB",
        )
        .vs(base, fifo.rss_mib),
    ])
}
