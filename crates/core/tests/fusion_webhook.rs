//! The webhook worker against real loopback HTTP servers: one that fails the first calls,
//! one that hangs, one that is down. Retries, backoff, the breaker opening and half-opening
//! (on an injected clock), and a pipeline that keeps its frames while the endpoint hangs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use framebus_core::clock::ManualClock;
use framebus_core::config::{Config, Format};
use framebus_core::fusion::config::WebhookAction;
use framebus_core::fusion::webhook::WebhookWorker;
use framebus_core::runtime::{Runtime, RuntimeOptions};

/// A loopback HTTP server answering 500 to the first `fail` requests and 200 after, or
/// never answering when `hang`. Keeps what it received.
struct Server {
    url: String,
    requests: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<String>>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

fn serve(fail: u64, hang: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let held = Arc::new(Mutex::new(Vec::new()));
    let (r, s, h) = (requests.clone(), seen.clone(), held.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let n = r.fetch_add(1, Ordering::SeqCst) + 1;
            s.lock()
                .unwrap()
                .push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            if hang {
                h.lock().unwrap().push(conn);
                continue;
            }
            let status = if n <= fail {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = conn.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    Server {
        url,
        requests,
        seen,
        held,
    }
}

fn hook(url: &str, attempts: u32, breaker_failures: u32) -> Arc<WebhookAction> {
    Arc::new(WebhookAction {
        url: url.into(),
        headers: [("X-Token".to_owned(), "abc".to_owned())].into(),
        attempts,
        backoff_ms: 1,
        timeout_ms: 300,
        breaker_failures,
        breaker_open_ms: 1000,
    })
}

fn down_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    drop(l);
    url
}

#[test]
fn retries_until_the_server_recovers() {
    let srv = serve(2, false);
    let w = WebhookWorker::start();
    assert!(w.post(&hook(&srv.url, 4, 3), r#"{"type":"trigger"}"#.into()));
    w.wait_idle();
    let s = w.stats();
    assert_eq!(s.delivered.load(Ordering::SeqCst), 1);
    assert_eq!(s.failed_attempts.load(Ordering::SeqCst), 2);
    assert_eq!(srv.requests.load(Ordering::SeqCst), 3);
    let seen = srv.seen.lock().unwrap();
    assert!(seen[2].starts_with("POST /hook HTTP/1.1"), "{}", seen[2]);
    assert!(seen[2].contains("X-Token: abc"));
    assert!(seen[2].ends_with(r#"{"type":"trigger"}"#));
}

#[test]
fn breaker_opens_skips_and_half_opens_on_the_injected_clock() {
    // 4 failures = the first two calls (2 attempts each), then the server answers 200.
    let srv = serve(4, false);
    let clock = Arc::new(ManualClock::new());
    let w = WebhookWorker::with_clock(clock.clone());
    let h = hook(&srv.url, 2, 2);
    for _ in 0..2 {
        w.post(&h, "{}".into());
    }
    w.wait_idle();
    let s = w.stats().clone();
    assert_eq!(s.failed_calls.load(Ordering::SeqCst), 2);
    assert_eq!(s.breaker_opens.load(Ordering::SeqCst), 1);
    // Open: calls are skipped without touching the server.
    for _ in 0..3 {
        w.post(&h, "{}".into());
    }
    w.wait_idle();
    assert_eq!(s.skipped.load(Ordering::SeqCst), 3);
    assert_eq!(srv.requests.load(Ordering::SeqCst), 4);
    // Just before the end of the open time: still skipped.
    clock.advance(999_000_000);
    w.post(&h, "{}".into());
    w.wait_idle();
    assert_eq!(s.skipped.load(Ordering::SeqCst), 4);
    // Half-open: one call goes through, succeeds, and closes the breaker.
    clock.advance(1_000_000);
    w.post(&h, "{}".into());
    w.post(&h, "{}".into());
    w.wait_idle();
    assert_eq!(s.delivered.load(Ordering::SeqCst), 2);
    assert_eq!(srv.requests.load(Ordering::SeqCst), 6);
}

#[test]
fn a_down_server_reopens_the_breaker_from_half_open() {
    let clock = Arc::new(ManualClock::new());
    let w = WebhookWorker::with_clock(clock.clone());
    let h = hook(&down_url(), 3, 1);
    w.post(&h, "{}".into());
    w.wait_idle();
    let s = w.stats().clone();
    assert_eq!(s.failed_attempts.load(Ordering::SeqCst), 3);
    assert_eq!(s.breaker_opens.load(Ordering::SeqCst), 1);
    clock.advance(1_000_000_000);
    // Half-open: a single attempt, which fails and reopens the breaker.
    w.post(&h, "{}".into());
    w.post(&h, "{}".into());
    w.wait_idle();
    assert_eq!(s.failed_attempts.load(Ordering::SeqCst), 4);
    assert_eq!(s.breaker_opens.load(Ordering::SeqCst), 2);
    assert_eq!(s.skipped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_hanging_server_times_out_and_never_slows_the_pipeline() {
    let srv = serve(0, true);
    let w = WebhookWorker::start();
    w.post(&hook(&srv.url, 2, 5), "{}".into());
    w.wait_idle();
    assert_eq!(w.stats().failed_attempts.load(Ordering::SeqCst), 2);
    assert_eq!(w.stats().failed_calls.load(Ordering::SeqCst), 1);
    // Both attempts reached the server, which holds them unanswered.
    assert!(wait_until(|| srv.held.lock().unwrap().len() == 2));

    // A pipeline whose rule calls the hanging hook: every frame is still processed.
    let text = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = {{ policy = "block", capacity = 4 }}
        params = {{ frames = 500 }}
        [[stages]]
        plugin = "test_probe"
        [[rules]]
        id = "r"
        when = {{ field = "test_probe.frame_id", above = 1 }}
        actions = [ {{ webhook = {{ url = "{}", timeout_ms = 200, attempts = 1 }} }} ]
        "#,
        srv.url
    );
    let config = Config::parse(&text, Format::Toml, "t.toml").unwrap();
    let snaps = Collect::new();
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            observers: vec![snaps.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(wait_until(|| rt.finished()));
    assert_eq!(rt.status().sources[0].processed, 500);
    assert_eq!(rt.status().sources[0].dropped, 0);
    rt.shutdown();
}
