//! WebSocket fan-out benchmark (real sockets on loopback, real clients):
//!
//! 1. **Latency**: capture → snapshot received by a WebSocket client, p50/p99, with 10
//!    clients at 60 Hz. "Runtime-added" subtracts the stage's own time (reported apart).
//! 2. **Fan-out cost** with 100 and 1000 clients at 30 Hz: CPU time per second of the server
//!    side (tokio workers, capture and pipeline threads) and lag p99 (capture → received),
//!    beside a hand-written baseline in the same process: a bare axum WebSocket server that
//!    forwards one pre-serialized message per frame from a `tokio::sync::broadcast` channel.
//!
//! `cargo bench -p framebus-server --bench ws_fanout` (add `-- --quick` for a short run).
//! Clients run in their own tokio runtime (threads `fb-client`), the server in another
//! (`fb-server`); CPU is read per thread from `/proc/self/task/*/stat`.

#![allow(missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as AxMessage, Utf8Bytes, WebSocketUpgrade};
use framebus_core::clock::{Clock, MonotonicClock};
use framebus_core::config::{Config, Format};
use framebus_core::frame::FramePool;
use framebus_core::prelude::*;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_core::source::{Source, SourceInit};
use framebus_server::{AppState, Hub, PreviewSettings};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------
// A paced source that stamps each frame the moment it hands it over.

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct TickerParams {
    width: u32,
    height: u32,
    fps: f64,
}

impl Default for TickerParams {
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
            fps: 30.0,
        }
    }
}

/// Gray frames with six bright squares (six blobs, like the BikeFit markers).
struct Ticker {
    p: TickerParams,
    pool: FramePool,
    init: SourceInit,
    n: u64,
    start_ns: u64,
}

impl Source for Ticker {
    type Params = TickerParams;
    const KIND: &'static str = "fanout_ticker";
    const DESCRIPTION: &'static str = "benchmark frames stamped on hand-over";
    fn new(p: TickerParams, init: &SourceInit) -> Result<Self> {
        Ok(Self {
            pool: init.frame_pool(),
            start_ns: init.clock.now_ns(),
            p,
            init: init.clone(),
            n: 0,
        })
    }
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.init.stop.is_stopped() {
            return Ok(None);
        }
        self.n += 1;
        let due = self.start_ns + (self.n as f64 * 1e9 / self.p.fps) as u64;
        self.init.clock.sleep_until(due);
        let stop = self.init.stop.clone();
        let Some(mut f) =
            self.pool
                .acquire_or(self.p.width, self.p.height, PixelFormat::Gray8, || {
                    stop.is_stopped()
                })
        else {
            return Ok(None);
        };
        let d = f.get_mut().expect("unique");
        d.data.fill(20);
        let (w, h) = (d.width as usize, d.height as usize);
        for k in 0..6 {
            let (cx, cy) = (w * (k + 1) / 7, h / 3 + (k % 2) * h / 3);
            for y in cy - 3..cy + 3 {
                d.data[y * w + cx - 3..y * w + cx + 3].fill(250);
            }
        }
        d.frame_id = self.n;
        d.t_ns = self.init.clock.now_ns();
        Ok(Some(f))
    }
}
framebus_core::register_source!(Ticker);

// ---------------------------------------------------------------------------------------
// Measurement helpers.

/// CPU seconds of this process's threads, by thread-name prefix.
fn thread_cpu() -> HashMap<String, f64> {
    let tick = 100.0; // USER_HZ on Linux
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in dir.flatten() {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3; utime 14, stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let (Some(u), Some(s)) = (f.get(11), f.get(12)) else {
            continue;
        };
        let secs = (u.parse::<f64>().unwrap_or(0.0) + s.parse::<f64>().unwrap_or(0.0)) / tick;
        *out.entry(comm).or_insert(0.0) += secs;
    }
    out
}

fn is_server_thread(name: &str) -> bool {
    [
        "fb-server",
        "capture-",
        "pipeline-",
        "video-preview",
        "fb-publisher",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn cpu_split(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> (f64, f64) {
    let (mut server, mut clients) = (0.0, 0.0);
    for (name, t) in after {
        let d = t - before.get(name).copied().unwrap_or(0.0);
        if is_server_thread(name) {
            server += d;
        } else if name.starts_with("fb-client") {
            clients += d;
        }
    }
    (server, clients)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// `"key":123` in a JSON text, without parsing all of it.
fn number_after(text: &str, key: &str) -> Option<f64> {
    let i = text.find(key)? + key.len();
    let rest = &text[i..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Samples collected by clients while `recording` is set.
#[derive(Default)]
struct Samples {
    recording: AtomicBool,
    /// Capture → received, ms.
    latency: Mutex<Vec<f64>>,
    /// The stage's time for the same snapshot, ms.
    stage: Mutex<Vec<f64>>,
    received: AtomicU64,
}

async fn client(
    addr: SocketAddr,
    path: &str,
    clock: Arc<MonotonicClock>,
    samples: Arc<Samples>,
    stage_time: bool,
) {
    let (mut ws, _) = loop {
        match tokio_tungstenite::connect_async(format!("ws://{addr}{path}")).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await, // backlog full: retry
        }
    };
    let mut local = Vec::with_capacity(4096);
    let mut local_stage = Vec::new();
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let now = clock.now_ns();
        if !samples.recording.load(Ordering::Relaxed) {
            if !local.is_empty() {
                break;
            }
            continue;
        }
        let Some(t_ns) = number_after(&t, "\"t_ns\":") else {
            continue;
        };
        local.push((now as f64 - t_ns) / 1e6);
        if stage_time {
            local_stage.push(number_after(&t, "\"performance_ms\":").unwrap_or(0.0));
        }
        samples.received.fetch_add(1, Ordering::Relaxed);
    }
    samples.latency.lock().unwrap().extend(local);
    samples.stage.lock().unwrap().extend(local_stage);
}

/// Records capture → snapshot built (on the pipeline thread, before the hub).
struct Built {
    clock: Arc<MonotonicClock>,
    recording: Arc<AtomicBool>,
    ms: Mutex<Vec<f64>>,
}

impl framebus_core::observer::Observer for Built {
    fn snapshot(&self, s: &framebus_core::observer::SnapshotOut<'_>) {
        if self.recording.load(Ordering::Relaxed) {
            let d = self.clock.now_ns().saturating_sub(s.frame.t_ns) as f64 / 1e6;
            if let Ok(mut v) = self.ms.try_lock() {
                v.push(d);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The two servers.

struct Running {
    addr: SocketAddr,
    stop: CancellationToken,
    state: Option<AppState>,
    stop_publisher: Arc<AtomicBool>,
    built: Option<Arc<Built>>,
}

fn framebus_server(rt: &tokio::runtime::Runtime, clock: Arc<MonotonicClock>, fps: f64) -> Running {
    let toml = format!(
        r#"
[[sources]]
id = "camera_0"
kind = "fanout_ticker"
params = {{ width = 320, height = 240, fps = {fps} }}

[[stages]]
plugin = "blob_detection"

[server]
max_clients = 5000
"#
    );
    let config = Config::parse(&toml, Format::Toml, "bench.toml").unwrap();
    let hub = Hub::new(1, PreviewSettings::default());
    let built = Arc::new(Built {
        clock: clock.clone(),
        recording: Arc::new(AtomicBool::new(false)),
        ms: Mutex::new(Vec::with_capacity(4096)),
    });
    let runtime = Runtime::start(
        &config,
        RuntimeOptions {
            clock,
            observers: vec![hub.observer(), built.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    let state = AppState::new(Arc::new(runtime), hub, config.server.clone().unwrap());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    rt.spawn(framebus_server::run(listener, state.clone(), stop.clone()));
    Running {
        addr,
        stop,
        state: Some(state),
        stop_publisher: Arc::new(AtomicBool::new(false)),
        built: Some(built),
    }
}

/// The hand-written baseline: one message per frame, serialized once, through a broadcast
/// channel, one task per client that forwards it.
fn baseline_server(
    rt: &tokio::runtime::Runtime,
    clock: Arc<MonotonicClock>,
    fps: f64,
    template: String,
) -> Running {
    let (tx, _) = tokio::sync::broadcast::channel::<Utf8Bytes>(16);
    let tx2 = tx.clone();
    let app = axum::Router::new().route(
        "/ws",
        axum::routing::get(move |ws: WebSocketUpgrade| {
            let mut rx = tx2.subscribe();
            async move {
                ws.on_upgrade(move |mut socket| async move {
                    loop {
                        match rx.recv().await {
                            Ok(m) => {
                                if socket.send(AxMessage::Text(m)).await.is_err() {
                                    return;
                                }
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(_) => return,
                        }
                    }
                })
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let s = stop.clone();
    // TCP_NODELAY, as framebus sets it.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    rt.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(s.cancelled_owned())
            .await
            .unwrap();
    });
    let stop_publisher = Arc::new(AtomicBool::new(false));
    let sp = stop_publisher.clone();
    std::thread::Builder::new()
        .name("fb-publisher".into())
        .spawn(move || {
            let start = clock.now_ns();
            let mut n = 0u64;
            while !sp.load(Ordering::Relaxed) {
                n += 1;
                clock.sleep_until(start + (n as f64 * 1e9 / fps) as u64);
                let t = clock.now_ns();
                let msg = template.replace("\"t_ns\":0", &format!("\"t_ns\":{t}"));
                let _ = tx.send(Utf8Bytes::from(msg));
            }
        })
        .unwrap();
    Running {
        addr,
        stop,
        state: None,
        stop_publisher,
        built: None,
    }
}

struct Outcome {
    clients: usize,
    received: u64,
    expected: f64,
    lat_p50: f64,
    lat_p99: f64,
    stage_p50: f64,
    server_cpu_ms_per_s: f64,
    client_cpu_ms_per_s: f64,
    send_lag_p99: Option<f64>,
    /// Capture → snapshot built, p50/p99 (framebus only).
    built: Option<(f64, f64)>,
}

#[allow(clippy::too_many_arguments)]
fn measure(
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
    clock: &Arc<MonotonicClock>,
    server: Running,
    path: &str,
    clients: usize,
    fps: f64,
    warmup: Duration,
    window: Duration,
) -> Outcome {
    let samples = Arc::new(Samples::default());
    let mut handles = Vec::new();
    for i in 0..clients {
        let (addr, clock, samples, path) =
            (server.addr, clock.clone(), samples.clone(), path.to_owned());
        handles.push(
            client_rt.spawn(async move { client(addr, &path, clock, samples, i < 10).await }),
        );
    }
    std::thread::sleep(warmup);
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    samples.recording.store(true, Ordering::Relaxed);
    if let Some(b) = &server.built {
        b.recording.store(true, Ordering::Relaxed);
    }
    std::thread::sleep(window);
    samples.recording.store(false, Ordering::Relaxed);
    if let Some(b) = &server.built {
        b.recording.store(false, Ordering::Relaxed);
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu1 = thread_cpu();
    let (server_cpu, client_cpu) = cpu_split(&cpu0, &cpu1);
    let send_lag_p99 = server
        .state
        .as_ref()
        .map(|s| s.client_totals().stats.lag_p99_ms);
    // Clients stop at their next message after recording ends.
    client_rt.block_on(async {
        for h in handles {
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
    });
    server.stop_publisher.store(true, Ordering::Relaxed);
    server.stop.cancel();
    if let Some(state) = server.state {
        server_rt.block_on(async { tokio::time::sleep(Duration::from_millis(300)).await });
        drop(state);
    }
    let built = server.built.as_ref().map(|b| {
        let mut v = std::mem::take(&mut *b.ms.lock().unwrap());
        v.sort_by(f64::total_cmp);
        (percentile(&v, 0.5), percentile(&v, 0.99))
    });
    let mut lat = std::mem::take(&mut *samples.latency.lock().unwrap());
    lat.sort_by(f64::total_cmp);
    let mut stage = std::mem::take(&mut *samples.stage.lock().unwrap());
    stage.sort_by(f64::total_cmp);
    Outcome {
        clients,
        received: samples.received.load(Ordering::Relaxed),
        expected: clients as f64 * fps * secs,
        lat_p50: percentile(&lat, 0.5),
        lat_p99: percentile(&lat, 0.99),
        stage_p50: percentile(&stage, 0.5),
        server_cpu_ms_per_s: server_cpu * 1000.0 / secs,
        client_cpu_ms_per_s: client_cpu * 1000.0 / secs,
        send_lag_p99,
        built,
    }
}

/// One real snapshot of the benchmark pipeline, with `t_ns` zeroed (the baseline's payload).
fn template(server_rt: &tokio::runtime::Runtime, clock: &Arc<MonotonicClock>) -> String {
    let server = framebus_server(server_rt, clock.clone(), 30.0);
    let text = server_rt.block_on(async {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/ws/stream", server.addr))
                .await
                .unwrap();
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await
                && t.starts_with("{\"type\":\"snapshot\"")
            {
                let _ = ws.close(None).await;
                return t.to_string();
            }
        }
    });
    server.stop.cancel();
    let t = number_after(&text, "\"t_ns\":").unwrap() as u64;
    text.replace(&format!("\"t_ns\":{t}"), "\"t_ns\":0")
}

fn main() {
    framebus_stages::link();
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only framebus:1000` runs one fan-out measurement (for profiling).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let (warmup, window) = if quick {
        (Duration::from_secs(1), Duration::from_secs(3))
    } else {
        (Duration::from_secs(2), Duration::from_secs(10))
    };
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()
            .unwrap()
    };
    let server_rt = runtime("fb-server");
    let client_rt = runtime("fb-client");
    let clock = Arc::new(MonotonicClock::new());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "# ws_fanout ({}), {cpu}, {cores} cores",
        if quick { "quick" } else { "full" }
    );
    let tpl = template(&server_rt, &clock);
    println!("snapshot size: {} bytes", tpl.len());
    if let Some((which, n)) = only.as_deref().and_then(|o| o.split_once(':')) {
        let n: usize = n.parse().expect("--only SERVER:CLIENTS");
        let (server, path) = if which == "framebus" {
            (
                framebus_server(&server_rt, clock.clone(), 30.0),
                "/ws/stream",
            )
        } else {
            (
                baseline_server(&server_rt, clock.clone(), 30.0, tpl.clone()),
                "/ws",
            )
        };
        let o = measure(
            &server_rt, &client_rt, &clock, server, path, n, 30.0, warmup, window,
        );
        println!(
            "{which} {n} clients: server CPU {:.1} ms/s, lag p50 {:.2} p99 {:.2} ms, received {:.3}",
            o.server_cpu_ms_per_s,
            o.lat_p50,
            o.lat_p99,
            o.received as f64 / o.expected
        );
        return;
    }

    println!("\n## Latency: 10 clients at 60 Hz, capture -> snapshot received (ms)");
    let fb = framebus_server(&server_rt, clock.clone(), 60.0);
    let o = measure(
        &server_rt,
        &client_rt,
        &clock,
        fb,
        "/ws/stream",
        10,
        60.0,
        warmup,
        window,
    );
    println!("| | p50 | p99 |\n|---|---:|---:|");
    println!(
        "| capture -> received (framebus) | {:.3} | {:.3} |",
        o.lat_p50, o.lat_p99
    );
    println!(
        "| runtime-added (minus the stage, {:.3} ms p50) | {:.3} | {:.3} |",
        o.stage_p50,
        o.lat_p50 - o.stage_p50,
        o.lat_p99 - o.stage_p50
    );
    if let Some((p50, p99)) = o.built {
        println!("| of which capture -> snapshot built (pipeline) | {p50:.3} | {p99:.3} |");
    }
    println!(
        "(received {} of {:.0} expected snapshots; server send lag p99 {:.2} ms)",
        o.received,
        o.expected,
        o.send_lag_p99.unwrap_or(f64::NAN)
    );
    let base = baseline_server(&server_rt, clock.clone(), 60.0, tpl.clone());
    let b = measure(
        &server_rt, &client_rt, &clock, base, "/ws", 10, 60.0, warmup, window,
    );
    println!(
        "| publish -> received (hand-written baseline) | {:.3} | {:.3} |",
        b.lat_p50, b.lat_p99
    );

    println!("\n## Fan-out at 30 Hz");
    println!(
        "| server | clients | server CPU ms/s | per message µs | lag p50 ms | lag p99 ms | send lag p99 ms | received / expected | client CPU ms/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let idle = framebus_server(&server_rt, clock.clone(), 30.0);
    let z = measure(
        &server_rt,
        &client_rt,
        &clock,
        idle,
        "/ws/stream",
        0,
        30.0,
        warmup,
        window,
    );
    println!(
        "| framebus (pipeline only) | 0 | {:.1} | | | | | | {:.1} |",
        z.server_cpu_ms_per_s, z.client_cpu_ms_per_s
    );
    for n in [100usize, 1000] {
        for which in ["framebus", "baseline"] {
            let (server, path) = if which == "framebus" {
                (
                    framebus_server(&server_rt, clock.clone(), 30.0),
                    "/ws/stream",
                )
            } else {
                (
                    baseline_server(&server_rt, clock.clone(), 30.0, tpl.clone()),
                    "/ws",
                )
            };
            let o = measure(
                &server_rt, &client_rt, &clock, server, path, n, 30.0, warmup, window,
            );
            let per_msg = o.server_cpu_ms_per_s * 1000.0 / (n as f64 * 30.0);
            println!(
                "| {which} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {:.3} | {:.1} |",
                o.clients,
                o.server_cpu_ms_per_s,
                per_msg,
                o.lat_p50,
                o.lat_p99,
                o.send_lag_p99.map_or("".into(), |l| format!("{l:.2}")),
                o.received as f64 / o.expected,
                o.client_cpu_ms_per_s
            );
        }
    }
}
