//! Sensor latency to a browser: `examples/sensor.toml` itself (a realtime 1 MS/s generator
//! → … → 1024-point FFT; a snapshot per packet) served by the real server on 127.0.0.1
//! (`[server] bind` overridden by a free port), and a real WebSocket client
//! on `/ws/stream`. A packet of 16 384 samples ends exactly with the last sample of its last
//! FFT frame, and the generator releases it when the clock reaches that sample, so the
//! latency of a snapshot is `received − (t_ns + 16 384 / rate)`, both on the runtime's clock
//! (the client reads the same clock in the same process). Goal (issue 11): p99 ≤ 1 ms.

use std::sync::{Arc, Mutex};

use framebus_core::clock::{Clock, MonotonicClock};
use framebus_core::observer::{Observer, SnapshotOut};

use super::fixtures::config;
use super::served::Served;
use super::{Row, quantile};

const RATE: f64 = 1_000_000.0;
const BATCH: u64 = 16_384;

/// `examples/sensor.toml` as the user runs it; the bench publishes every packet's snapshot
/// (`snapshot_hz` 1000 instead of 30), so each FFT frame's latency is seen.
const EXAMPLE: &str = include_str!("../../../../examples/sensor.toml");

/// When each snapshot (by `sequence`) left its pipeline: the clock read by an observer on
/// the pipeline thread, beside the server's hub.
struct Published {
    clock: Arc<dyn Clock>,
    at: Mutex<Vec<(u64, u64)>>,
}

impl Observer for Published {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        let now = self.clock.now_ns();
        if let Ok(mut at) = self.at.lock() {
            at.push((snap.sequence, now));
        }
    }
}

/// Latencies (ns) of the snapshots a WebSocket client received during `secs`: from the
/// last sample to the client, and the part of it from the pipeline's publish to the client.
fn measure(secs: f64) -> anyhow::Result<(Vec<u64>, Vec<u64>)> {
    let mut cfg = config(EXAMPLE)?;
    for src in &mut cfg.sources {
        src.snapshot_hz = Some(1000.0);
    }
    let clock = Arc::new(MonotonicClock::new());
    let published = Arc::new(Published {
        clock: clock.clone(),
        at: Mutex::new(Vec::with_capacity(4096)),
    });
    let served = Served::start(cfg, clock.clone(), ".".into(), vec![published.clone()])?;
    let packet_ns = (BATCH as f64 * 1e9 / RATE) as u64;
    let mut arrivals = Vec::new();
    let got = served.receive(&*clock, secs, |text, now| {
        let v: serde_json::Value = serde_json::from_str(text)?;
        if v["type"] == "snapshot" {
            let t = v["t_ns"].as_u64().unwrap_or(0) + packet_ns;
            arrivals.push((v["sequence"].as_u64().unwrap_or(0), t, now));
        }
        Ok(())
    });
    served.stop();
    got?;
    let at = std::mem::take(&mut *published.at.lock().unwrap_or_else(|e| e.into_inner()));
    let at: std::collections::HashMap<u64, u64> = at.into_iter().collect();
    // The first snapshots include the connection's start-up.
    let steady = arrivals.iter().skip(10);
    let total = steady
        .clone()
        .map(|&(_, t, now)| now.saturating_sub(t))
        .collect();
    let hop = steady
        .filter_map(|&(seq, _, now)| at.get(&seq).map(|&p| now.saturating_sub(p)))
        .collect();
    Ok((total, hop))
}

/// The sensor → WebSocket latency rows.
pub(crate) fn run(secs: f64) -> anyhow::Result<Vec<Row>> {
    let (mut lat, mut hop) = measure(secs)?;
    let n = lat.len();
    Ok(vec![
        Row::new(
            "sensor",
            format!("last sample of an FFT frame → WebSocket client p50 ({n} snapshots)"),
            quantile(&mut lat, 0.5) as f64 / 1e3,
            "µs",
        ),
        Row::new(
            "sensor",
            "last sample of an FFT frame → WebSocket client p99 (goal ≤ 1000)",
            quantile(&mut lat, 0.99) as f64 / 1e3,
            "µs",
        ),
        Row::new(
            "sensor",
            "  of which snapshot published by the pipeline → WebSocket client p50",
            quantile(&mut hop, 0.5) as f64 / 1e3,
            "µs",
        ),
        Row::new(
            "sensor",
            "  of which snapshot published by the pipeline → WebSocket client p99",
            quantile(&mut hop, 0.99) as f64 / 1e3,
            "µs",
        ),
    ])
}
