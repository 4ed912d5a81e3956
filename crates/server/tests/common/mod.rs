//! Shared test helpers: a real server on 127.0.0.1:0 around a real runtime, and a real
//! WebSocket client.

#![allow(dead_code, missing_docs, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use framebus_core::clock::{Clock, MonotonicClock};
use framebus_core::config::{Config, Format};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_server::{AppState, Hub, PreviewSettings};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long any wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A synthetic rider at 60 Hz with blob detection.
pub const RIDER: &str = r#"
[[sources]]
id = "camera_0"
kind = "synthetic_rider"
params = { width = 320, height = 240, fps = 60 }

[[stages]]
plugin = "blob_detection"
"#;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    /// The body of `GET path`, as text.
    pub async fn get_text(&self, path: &str) -> String {
        reqwest::get(self.url(path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();
    }
}

pub fn link() {
    framebus_stages::link();
    framebus_media::link();
}

/// Starts `toml` (sources, stages, optional `[server]`) and serves it on 127.0.0.1:0.
pub async fn start(toml: &str) -> TestServer {
    start_with(toml, |s| s).await
}

/// Like [`start`], letting the caller adjust the state (e.g. add plugin routes).
pub async fn start_with(toml: &str, adjust: impl FnOnce(AppState) -> AppState) -> TestServer {
    start_full(toml, std::path::PathBuf::from("."), adjust).await
}

/// Like [`start`], with config-relative paths (Python modules, files) resolved in `base_dir`.
pub async fn start_in(toml: &str, base_dir: &std::path::Path) -> TestServer {
    start_full(toml, base_dir.to_owned(), |s| s).await
}

async fn start_full(
    toml: &str,
    base_dir: std::path::PathBuf,
    adjust: impl FnOnce(AppState) -> AppState,
) -> TestServer {
    link();
    let config = Config::parse(toml, Format::Toml, "test.toml").expect("valid test config");
    let settings = config.server.clone().unwrap_or_default();
    let hub = Hub::new(config.sources.len(), PreviewSettings::default());
    let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
    let options = RuntimeOptions {
        observers: vec![hub.observer()],
        clock: clock.clone(),
        base_dir,
        ..Default::default()
    };
    let runtime = Runtime::start(&config, options).expect("runtime starts");
    let state = adjust(AppState::new(Arc::new(runtime), hub, settings).with_clock(clock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(framebus_server::run(
        listener,
        state.clone(),
        shutdown.clone(),
    ));
    TestServer {
        addr,
        state,
        shutdown,
        handle,
    }
}

pub async fn connect(server: &TestServer) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws/stream"))
        .await
        .expect("connects");
    ws
}

pub async fn send(ws: &mut Ws, v: &Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Reads messages until a JSON text message satisfies `pred`; fails after [`WAIT`].
pub async fn until(ws: &mut Ws, mut pred: impl FnMut(&Value) -> bool) -> Value {
    tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await.expect("stream open").expect("message") {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).expect("server sends JSON");
                    if pred(&v) {
                        return v;
                    }
                }
                Message::Close(c) => panic!("closed by the server: {c:?}"),
                _ => {}
            }
        }
    })
    .await
    .expect("expected message in time")
}

/// The next JSON text message (e.g. the ingest socket's answer to the frame just sent).
pub async fn next_json(ws: &mut Ws) -> Value {
    until(ws, |_| true).await
}

/// The next message of `type` `kind`.
pub async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    until(ws, |v| v["type"] == kind).await
}

/// Reads what a closed-by-the-server client had not read yet until its close frame; `None`
/// when the connection ended without one (answering pings can hit the closed socket first).
/// Fails when the connection does not end within [`WAIT`].
pub async fn close_frame<S>(ws: &mut WebSocketStream<S>) -> Option<CloseFrame>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f,
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    })
    .await
    .expect("the connection ends")
}

/// The reply (ack or error) with correlation id `id`.
pub async fn reply(ws: &mut Ws, id: &Value) -> Value {
    until(ws, |v| {
        (v["type"] == "ack" || v["type"] == "error") && &v["id"] == id
    })
    .await
}

/// Polls `cond` (without sleeping in between more than a yield) until it holds.
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while !cond() {
            tick.tick().await;
        }
    })
    .await
    .expect("condition in time")
}

/// Clients that each count, in a spawned task, the snapshots they receive.
#[derive(Default)]
pub struct SnapshotCounters {
    counts: Arc<Vec<std::sync::atomic::AtomicU64>>,
    tasks: Vec<JoinHandle<()>>,
}

impl SnapshotCounters {
    /// Room for `n` readers.
    pub fn new(n: usize) -> Self {
        Self {
            counts: Arc::new((0..n).map(|_| Default::default()).collect()),
            tasks: Vec::new(),
        }
    }

    /// Counts what `ws` receives from now on, as the next reader.
    pub fn spawn(&mut self, mut ws: Ws) {
        let (counts, i) = (self.counts.clone(), self.tasks.len());
        assert!(i < counts.len(), "room for {} readers", counts.len());
        self.tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m
                    && t.starts_with("{\"type\":\"snapshot\"")
                {
                    counts[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }

    /// How many snapshots each reader has counted so far.
    pub fn counted(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .collect()
    }

    /// Asserts that every reader received at least three quarters of the `published`
    /// snapshots since it had counted `start` (latest wins: a reader may skip a snapshot
    /// now and then, never most of them).
    pub fn assert_most_of(&self, start: &[u64], published: u64) {
        let received: Vec<u64> = self
            .counted()
            .iter()
            .zip(start)
            .map(|(c, s)| c - s)
            .collect();
        for (i, r) in received.iter().enumerate() {
            assert!(
                *r * 4 >= published * 3,
                "reader {i} got {r} of {published} snapshots: {received:?}"
            );
        }
    }

    /// Stops the readers.
    pub fn abort(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}
