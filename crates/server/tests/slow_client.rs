//! A client that never reads, beside 20 that do: the readers keep receiving snapshots at the
//! source's rate, the stalled client is closed with a reason, and server memory stays
//! bounded (nothing queues up per client).

mod common;

use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const READERS: usize = 20;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_slows_no_one_and_is_closed() {
    let toml = r#"
[[sources]]
id = "camera_0"
kind = "synthetic_rider"
params = { width = 640, height = 480, fps = 60 }

[[stages]]
plugin = "blob_detection"

[server]
slow_client_timeout_s = 1
"#;
    let server = start(toml).await;

    // 20 readers, each counting the snapshots it receives.
    let mut readers = SnapshotCounters::new(READERS);
    for _ in 0..READERS {
        let mut ws = connect(&server).await;
        send(&mut ws, &json!({"type": "subscribe", "streams": ["state"]})).await;
        next_of(&mut ws, "snapshot").await;
        readers.spawn(ws);
    }

    // The stalled client: a tiny receive buffer, subscribed to everything including ~30 KB
    // JPEG frames at 60 Hz, and never reads a byte.
    let rss_before = rss_bytes();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let (mut stalled, _) = tokio_tungstenite::client_async(server.ws_url("/ws/stream"), tcp)
        .await
        .unwrap();
    stalled
        .send(Message::text(
            json!({"type": "subscribe", "streams": ["state", "video", "events", "alerts"]})
                .to_string(),
        ))
        .await
        .unwrap();

    let hub = server.state.hub().clone();
    let published_start = hub.snapshots_published();
    let counts_start = readers.counted();
    // Wait until the server gave up on the stalled client and at least 3 s of frames passed.
    let state = server.state.clone();
    eventually(|| {
        state.client_totals().closed_slow >= 1 && hub.snapshots_published() - published_start >= 180
    })
    .await;
    let published = hub.snapshots_published() - published_start;
    let rss_after = rss_bytes();
    readers.assert_most_of(&counts_start, published);
    let totals = server.state.client_totals();
    assert_eq!(totals.closed_slow, 1, "{totals:?}");
    assert_eq!(totals.connected, READERS);
    assert!(totals.stats.failed_sends >= 1);
    assert!(
        rss_after.saturating_sub(rss_before) < 64 << 20,
        "RSS grew by {} MiB",
        (rss_after - rss_before) >> 20
    );
    // Only the readers are left.
    assert!(
        server
            .state
            .clients()
            .iter()
            .all(|c| c.stats.video_sent == 0)
    );

    // The stalled client, once it reads, finds a close frame with the reason after its backlog.
    let close = close_frame(&mut stalled).await;
    if let Some(f) = close {
        assert_eq!(u16::from(f.code), 1008);
        assert!(f.reason.contains("too slow"));
    }
    readers.abort();
    server.stop().await;
}
