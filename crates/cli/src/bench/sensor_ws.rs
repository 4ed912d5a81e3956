//! Sensor latency to a browser: `examples/sensor.toml` itself (a realtime 1 MS/s generator
//! → … → 1024-point FFT; a snapshot per packet) served by the real server on 127.0.0.1
//! (`[server] bind` overridden by a free port), and a real WebSocket client
//! on `/ws/stream`. A packet of 16 384 samples ends exactly with the last sample of its last
//! FFT frame, and the generator releases it when the clock reaches that sample, so the
//! latency of a snapshot is `received − (t_ns + 16 384 / rate)`, both on the runtime's clock
//! (the client reads the same clock in the same process). Goal (issue 11): p99 ≤ 1 ms.

use std::sync::Arc;
use std::time::Duration;

use framebus_core::clock::{Clock, MonotonicClock};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use super::fixtures::config;
use super::served::Served;
use super::{Row, quantile};

const RATE: f64 = 1_000_000.0;
const BATCH: u64 = 16_384;

/// `examples/sensor.toml` as the user runs it; the bench publishes every packet's snapshot
/// (`snapshot_hz` 1000 instead of 30), so each FFT frame's latency is seen.
const EXAMPLE: &str = include_str!("../../../../examples/sensor.toml");

/// Latencies (ns) of the snapshots a WebSocket client received during `secs`.
fn measure(secs: f64) -> anyhow::Result<Vec<u64>> {
    let mut cfg = config(EXAMPLE)?;
    for src in &mut cfg.sources {
        src.snapshot_hz = Some(1000.0);
    }
    let clock = Arc::new(MonotonicClock::new());
    let served = Served::start(cfg, clock.clone(), ".".into())?;
    let url = served.stream_url();
    let packet_ns = (BATCH as f64 * 1e9 / RATE) as u64;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let lat = client.block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let mut lat = Vec::new();
        let until = clock.now_ns() + (secs * 1e9) as u64;
        let mut skipped = 0;
        while clock.now_ns() < until {
            let Some(msg) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await? else {
                break;
            };
            let Message::Text(text) = msg? else { continue };
            let now = clock.now_ns();
            let v: serde_json::Value = serde_json::from_str(&text)?;
            if v["type"] != "snapshot" {
                continue;
            }
            // The first snapshots include the connection's start-up.
            if skipped < 10 {
                skipped += 1;
                continue;
            }
            let t = v["t_ns"].as_u64().unwrap_or(0) + packet_ns;
            lat.push(now.saturating_sub(t));
        }
        anyhow::Ok(lat)
    });
    served.stop();
    lat
}

/// The sensor → WebSocket latency rows.
pub(crate) fn run(secs: f64) -> anyhow::Result<Vec<Row>> {
    let mut lat = measure(secs)?;
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
    ])
}
