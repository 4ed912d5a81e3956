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
//!
//! Publish → client is split per snapshot by the server's send trace
//! (`framebus_server::trace`): the hub's copy, the wait until a thread picks it up (none when
//! the pipeline thread writes it itself, `ws::direct`; a tokio worker's wake-up otherwise),
//! the write, and the client's wake-up and read. The inline row is measured again with direct
//! sends off (`framebus_server::set_direct_sends(false)`: every snapshot through the client's
//! writer task, as before) in the same run. A last row runs the example as shipped (30
//! snapshots a second) for a client that subscribes as the web UI does (`max_fps` 30).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

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

/// What one run measured, ns per snapshot.
struct Measured {
    /// Last sample → client.
    total: Vec<u64>,
    /// Snapshot published by the pipeline → client.
    hop: Vec<u64>,
    /// The stages of `hop` ([`STAGES`]), from the server's send trace.
    stages: [Vec<u64>; 5],
    /// Snapshots written by the publishing thread itself (no writer task woken).
    direct: usize,
}

/// The stages of publish → client, in order.
const STAGES: [&str; 5] = [
    "publish → the server's hub has it (copied, checked)",
    "hub → sending thread picks it up",
    "picked up → write begins",
    "write (WebSocket frame into the socket)",
    "write returned → client has the message",
];

/// One way of running the example and reading it.
struct Path {
    /// Row label.
    how: &'static str,
    /// The sources' `inline` (the example's is `true`).
    inline: bool,
    /// Direct sends on (the default).
    direct: bool,
    /// A snapshot per packet (`snapshot_hz` 1000) instead of the example's 30 a second.
    every_packet: bool,
    /// The client's `subscribe` message, if it sends one.
    subscribe: Option<&'static str>,
    /// How long it runs, in units of the bench's `secs`.
    runs_for: f64,
}

/// What the web UI subscribes to (`web/src/main.tsx`).
const WEB_UI: &str =
    r#"{"type":"subscribe","streams":["state","video","events","alerts","config"],"max_fps":30}"#;

/// The paths measured, in order.
const PATHS: [Path; 5] = [
    Path {
        how: "inline",
        inline: true,
        direct: true,
        every_packet: true,
        subscribe: None,
        runs_for: 1.0,
    },
    Path {
        how: "inline, no direct sends (before)",
        inline: true,
        direct: false,
        every_packet: true,
        subscribe: None,
        runs_for: 1.0,
    },
    Path {
        how: "capture thread + edge, no direct sends (before)",
        inline: false,
        direct: false,
        every_packet: true,
        subscribe: None,
        runs_for: 1.0,
    },
    Path {
        how: "capture thread + edge",
        inline: false,
        direct: true,
        every_packet: true,
        subscribe: None,
        runs_for: 1.0,
    },
    // The example as shipped (30 snapshots a second) read as the web UI reads it: the cap
    // holds back a snapshot that comes sooner than 1/30 s after the last, so some wait for
    // it by design. Twice as long, for as many snapshots as the rows above.
    Path {
        how: "as shipped (snapshot_hz 30), client subscribed as the web UI (max_fps 30)",
        inline: true,
        direct: true,
        every_packet: false,
        subscribe: Some(WEB_UI),
        runs_for: 2.0,
    },
];

/// Latencies of the snapshots a WebSocket client received during `secs`: from the last
/// sample to the client, the part of it from the pipeline's publish to the client, and that
/// part split by the server's send trace.
fn measure(secs: f64, how: &Path) -> anyhow::Result<Measured> {
    framebus_server::set_direct_sends(how.direct);
    let mut cfg = config(EXAMPLE)?;
    for src in &mut cfg.sources {
        if how.every_packet {
            src.snapshot_hz = Some(1000.0);
        }
        src.inline = how.inline;
    }
    let clock = Arc::new(MonotonicClock::new());
    // Instants (the server's trace) on the runtime's clock.
    let (base, base_ns) = (Instant::now(), clock.now_ns());
    let ns = |i: Instant| base_ns + i.saturating_duration_since(base).as_nanos() as u64;
    let published = Arc::new(Published {
        clock: clock.clone(),
        at: Mutex::new(Vec::with_capacity(4096)),
    });
    let served = Served::start(cfg, clock.clone(), ".".into(), vec![published.clone()])?;
    let packet_ns = (BATCH as f64 * 1e9 / RATE) as u64;
    let mut arrivals = Vec::new();
    framebus_server::trace::enable();
    let got = served.receive_subscribed(&*clock, secs, how.subscribe, |text, now| {
        let v: serde_json::Value = serde_json::from_str(text)?;
        if v["type"] == "snapshot" {
            let t = v["t_ns"].as_u64().unwrap_or(0) + packet_ns;
            arrivals.push((v["sequence"].as_u64().unwrap_or(0), t, now));
        }
        Ok(())
    });
    let sends = framebus_server::trace::take();
    served.stop();
    framebus_server::set_direct_sends(true);
    got?;
    // The hub numbers the snapshots it receives 1, 2, … in the order this observer sees them.
    let at = std::mem::take(&mut *published.at.lock().unwrap_or_else(|e| e.into_inner()));
    let by_number: HashMap<u64, (u64, u64)> = (1..).zip(at.iter().copied()).collect();
    let at: HashMap<u64, u64> = at.into_iter().collect();
    // The first snapshots include the connection's start-up.
    let steady = &arrivals[arrivals.len().min(10)..];
    let total = steady
        .iter()
        .map(|&(_, t, now)| now.saturating_sub(t))
        .collect();
    let hop = steady
        .iter()
        .filter_map(|&(seq, _, now)| at.get(&seq).map(|&p| now.saturating_sub(p)))
        .collect();
    let received: HashMap<u64, u64> = steady.iter().map(|&(seq, _, now)| (seq, now)).collect();
    let mut stages: [Vec<u64>; 5] = Default::default();
    let mut direct = 0;
    for s in &sends {
        let Some(&(seq, publish)) = by_number.get(&s.number) else {
            continue;
        };
        let Some(&now) = received.get(&seq) else {
            continue;
        };
        direct += usize::from(s.direct);
        let marks = [
            publish,
            ns(s.published),
            ns(s.woke),
            ns(s.write_start),
            ns(s.write_end),
            now,
        ];
        for (k, w) in marks.windows(2).enumerate() {
            stages[k].push(w[1].saturating_sub(w[0]));
        }
    }
    Ok(Measured {
        total,
        hop,
        stages,
        direct,
    })
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
    for path in &PATHS {
        let how = path.how;
        let Measured {
            total: mut lat,
            mut hop,
            stages,
            direct,
        } = measure(secs * path.runs_for, path)?;
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
        let traced = stages[0].len();
        for (name, mut v) in STAGES.iter().zip(stages) {
            let (p50, p99) = (quantile(&mut v, 0.5), quantile(&mut v, 0.99));
            rows.push(Row::new(
                "sensor",
                format!(
                    "{how}:     {name}: p50 (p99 {p99:.1} µs)",
                    p99 = p99 as f64 / 1e3
                ),
                p50 as f64 / 1e3,
                "µs",
            ));
        }
        rows.push(Row::new(
            "sensor",
            format!("{how}:     snapshots written by the publishing thread (of {traced})"),
            direct as f64,
            "",
        ));
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
