//! Sensor latency to a browser: `examples/sensor.toml` itself (a realtime 1 MS/s generator
//! → … → 1024-point FFT; a snapshot per packet) served by the real server on 127.0.0.1
//! (`[server] bind` overridden by a free port), and a real WebSocket client
//! on `/ws/stream`. A packet of 16 384 samples ends exactly with the last sample of its last
//! FFT frame, and the generator releases it when the clock reaches that sample, so the
//! latency of a snapshot is `received − (t_ns + 16 384 / rate)`, both on the runtime's clock
//! (the client reads the same clock in the same process). Goal (issue 11): p99 ≤ 1 ms.
//!
//! The example reads its generator on the pipeline thread (`inline = true`); the same run
//! measures it with a capture thread and a `block` edge (`inline = false`, as before) beside
//! it, and the generator's own pacing alone (how late `next_packet` returns after the clock
//! reached the packet's last sample), which is part of both.

use std::sync::{Arc, Mutex};

use framebus_core::clock::{Clock, MonotonicClock};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::source::{Source, SourceInit};
use framebus_media::signal::{SignalGenerator, SignalGeneratorParams};

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
/// `inline` sets the sources' `inline` (the example's is `true`).
fn measure(secs: f64, inline: bool) -> anyhow::Result<(Vec<u64>, Vec<u64>)> {
    let mut cfg = config(EXAMPLE)?;
    for src in &mut cfg.sources {
        src.snapshot_hz = Some(1000.0);
        src.inline = inline;
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

/// How late the example's generator, alone on this thread, hands over each packet after
/// the clock reached its last sample (ns), over `secs`.
fn pacing(secs: f64) -> anyhow::Result<Vec<u64>> {
    let src = config(EXAMPLE)?
        .sources
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the example has no source"))?;
    let params: SignalGeneratorParams = serde_json::from_value(src.params)?;
    let clock = Arc::new(MonotonicClock::new());
    let mut generator =
        SignalGenerator::new(params, &SourceInit::standalone("adc_0", clock.clone()))?;
    let packet_ns = (BATCH as f64 * 1e9 / RATE) as u64;
    let until = clock.now_ns() + (secs * 1e9) as u64;
    let mut late = Vec::new();
    while clock.now_ns() < until {
        let Some(packet) = generator.next_packet()? else {
            break;
        };
        let now = clock.now_ns();
        late.push(now.saturating_sub(packet.header.t_ns + packet_ns));
    }
    Ok(late.split_off(late.len().min(10)))
}

/// The sensor → WebSocket latency rows: the example as configured (generator read inline),
/// then with a capture thread and an edge, then the generator's pacing alone.
pub(crate) fn run(secs: f64) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (inline, how) in [(true, "inline"), (false, "capture thread + edge")] {
        let (mut lat, mut hop) = measure(secs, inline)?;
        let n = lat.len();
        rows.extend([
            Row::new(
                "sensor",
                format!(
                    "{how}: last sample of an FFT frame → WebSocket client p50 ({n} snapshots)"
                ),
                quantile(&mut lat, 0.5) as f64 / 1e3,
                "µs",
            ),
            Row::new(
                "sensor",
                format!("{how}: last sample of an FFT frame → WebSocket client p99 (goal ≤ 1000)"),
                quantile(&mut lat, 0.99) as f64 / 1e3,
                "µs",
            ),
            Row::new(
                "sensor",
                format!("{how}:   of which snapshot published by the pipeline → client p50"),
                quantile(&mut hop, 0.5) as f64 / 1e3,
                "µs",
            ),
            Row::new(
                "sensor",
                format!("{how}:   of which snapshot published by the pipeline → client p99"),
                quantile(&mut hop, 0.99) as f64 / 1e3,
                "µs",
            ),
        ]);
    }
    let mut late = pacing(secs)?;
    rows.extend([
        Row::new(
            "sensor",
            "generator alone: last sample → packet handed over p50",
            quantile(&mut late, 0.5) as f64 / 1e3,
            "µs",
        ),
        Row::new(
            "sensor",
            "generator alone: last sample → packet handed over p99",
            quantile(&mut late, 0.99) as f64 / 1e3,
            "µs",
        ),
    ]);
    Ok(rows)
}
