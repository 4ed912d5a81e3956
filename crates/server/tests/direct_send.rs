//! Direct sends (the publishing thread writes a new snapshot to the first few `/ws/stream`
//! clients itself) over real sockets: every client, written to directly or by its writer
//! task, gets every source's snapshots in order; a client that stops reading while it is
//! one of the direct ones blocks neither the pipeline nor the other clients, and is closed.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::json;

/// More clients than the publishing thread writes to itself (4): the rest go through their
/// writer tasks.
const CLIENTS: usize = 6;

/// Two sources, each its own pipeline thread publishing.
const TWO_SOURCES: &str = r#"
[[sources]]
id = "camera_0"
kind = "synthetic_rider"
params = { width = 64, height = 48, fps = 60 }

[[sources]]
id = "camera_1"
kind = "synthetic_rider"
params = { width = 64, height = 48, fps = 60 }
"#;

/// Reads `ws` until it has `n` snapshots of each of `sources`; fails if a source's
/// `sequence` ever goes backwards or repeats.
async fn snapshots_in_order(ws: &mut Ws, sources: &[&str], n: usize) {
    let mut last: HashMap<String, u64> = HashMap::new();
    let mut got: HashMap<String, usize> = HashMap::new();
    until(ws, |v| {
        if v["type"] == "snapshot" {
            let source = v["source"].as_str().expect("source").to_owned();
            let seq = v["sequence"].as_u64().expect("sequence");
            if let Some(&prev) = last.get(&source) {
                assert!(seq > prev, "{source}: sequence {seq} after {prev}");
            }
            last.insert(source.clone(), seq);
            *got.entry(source).or_default() += 1;
        }
        sources
            .iter()
            .all(|s| got.get(*s).copied().unwrap_or(0) >= n)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_gets_every_source_in_order_direct_or_not() {
    let server = start(TWO_SOURCES).await;
    let mut plain = Vec::new();
    for _ in 0..CLIENTS {
        plain.push(connect(&server).await);
    }
    // Compressed snapshots are never written directly.
    let mut compressed = connect(&server).await;
    send(
        &mut compressed,
        &json!({"type": "subscribe", "streams": ["state"], "compress": true}),
    )
    .await;
    next_of(&mut compressed, "ack").await;

    let sources = ["camera_0", "camera_1"];
    for ws in plain.iter_mut().chain([&mut compressed]) {
        snapshots_in_order(ws, &sources, 30).await;
    }
    let views = server.state.clients();
    assert_eq!(views.len(), CLIENTS + 1);
    let direct: Vec<u64> = views.iter().map(|c| c.stats.snapshots_direct).collect();
    // The first clients were written to by the pipeline threads; the compressed one never.
    assert!(direct[0] > 0, "{direct:?}");
    assert_eq!(direct[CLIENTS], 0, "{direct:?}");
    assert!(views[CLIENTS].compress);
    for c in &views {
        assert!(c.stats.snapshots_direct <= c.stats.snapshots_sent, "{c:?}");
        assert_eq!(c.stats.failed_sends, 0, "{c:?}");
    }
    // Counted in /metrics too.
    let metrics = server.get_text("/metrics").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("framebus_ws_snapshots_direct_total "))
        .expect("the direct-send counter in /metrics");
    let n: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n >= 1.0, "{line}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_direct_client_blocks_neither_the_pipeline_nor_others() {
    // 12 KB sensor snapshots, about 60 a second: a client that stops reading fills its socket
    // within a second.
    let toml = r#"
[[sources]]
id = "adc_0"
kind = "signal_generator"
inline = true
snapshot_hz = 1000
params = { sample_rate = 1000000, batch_size = 16384, realtime = true, tones = [{ freq_hz = 10000, amplitude = 0.5 }] }

[[stages]]
plugin = "stats"
params = { points = 512 }

[[stages]]
plugin = "fft"
params = { size = 1024 }

[server]
slow_client_timeout_s = 1
"#;
    let server = start(toml).await;
    // The stalled client connects first, so it is one of the clients the pipeline thread
    // writes to itself: a tiny receive buffer, and it never reads a byte.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let (mut stalled, _) = tokio_tungstenite::client_async(server.ws_url("/ws/stream"), tcp)
        .await
        .unwrap();
    let state = server.state.clone();
    eventually(|| {
        state
            .clients()
            .first()
            .is_some_and(|c| c.stats.snapshots_direct >= 1)
    })
    .await;

    let mut readers = SnapshotCounters::new(CLIENTS);
    for _ in 0..CLIENTS {
        let mut ws = connect(&server).await;
        next_of(&mut ws, "snapshot").await;
        readers.spawn(ws);
    }

    let hub = server.state.hub().clone();
    let published_start = hub.snapshots_published();
    let counts_start = readers.counted();
    // The pipeline keeps publishing (2 s of packets) while the server gives up on the client.
    eventually(|| {
        state.client_totals().closed_slow >= 1 && hub.snapshots_published() - published_start >= 120
    })
    .await;
    let published = hub.snapshots_published() - published_start;
    readers.assert_most_of(&counts_start, published);
    let totals = server.state.client_totals();
    assert_eq!(totals.closed_slow, 1, "{totals:?}");
    // The stalled client leaves the registry (right after it is counted); the readers stay.
    eventually(|| state.client_totals().connected == CLIENTS).await;
    // Readers were written to directly once the stalled client's place was free too.
    assert!(totals.stats.snapshots_direct >= 1, "{totals:?}");

    // The stalled client, once it reads, finds the close frame after its backlog.
    let close = close_frame(&mut stalled).await;
    if let Some(f) = close {
        assert_eq!(u16::from(f.code), 1008);
    }
    let _ = stalled.close(None).await;
    readers.abort();
    server.stop().await;
}
