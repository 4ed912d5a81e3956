//! The webhook executor: one worker thread with a bounded queue, so a slow or dead endpoint
//! never blocks a pipeline (a full queue drops the call and counts it). Each call is a JSON
//! POST over plain HTTP/1.1, retried with exponential backoff; after `breaker_failures` failed
//! calls in a row the URL's circuit breaker opens (calls are skipped) for `breaker_open_ms`,
//! then half-opens: one call is let through, and its outcome closes or reopens the breaker.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::clock::{Clock, MonotonicClock};
use crate::fusion::config::WebhookAction;

/// Calls a webhook may have waiting; more are dropped (counted in [`WebhookStats::dropped`]).
pub const QUEUE: usize = 64;

/// Counters of a webhook worker.
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Calls delivered (a 2xx answer).
    pub delivered: AtomicU64,
    /// Attempts that failed (connect error, timeout, non-2xx).
    pub failed_attempts: AtomicU64,
    /// Calls that failed after every retry.
    pub failed_calls: AtomicU64,
    /// Calls dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Calls skipped because the breaker was open.
    pub skipped: AtomicU64,
    /// Times a breaker opened.
    pub breaker_opens: AtomicU64,
}

struct Job {
    hook: Arc<WebhookAction>,
    body: String,
}

#[derive(Default)]
struct Breaker {
    failures: u32,
    open_until: Option<u64>,
}

/// The worker; dropping it finishes queued calls and joins the thread.
pub struct WebhookWorker {
    tx: Option<Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<WebhookStats>,
    pending: Arc<(Mutex<u64>, Condvar)>,
}

impl WebhookWorker {
    /// Starts a worker on the monotonic clock.
    pub fn start() -> Self {
        Self::with_clock(Arc::new(MonotonicClock::new()))
    }

    /// Starts a worker whose breaker timing reads `clock` (tests inject a manual clock).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let (tx, rx) = bounded::<Job>(QUEUE);
        let stats = Arc::new(WebhookStats::default());
        let pending = Arc::new((Mutex::new(0u64), Condvar::new()));
        let (s, p) = (stats.clone(), pending.clone());
        let thread = std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || run(rx, s, p, clock))
            .ok();
        Self {
            tx: Some(tx),
            thread,
            stats,
            pending,
        }
    }

    /// Queues a call; never blocks. Returns false when it was dropped (queue full).
    pub fn post(&self, hook: &Arc<WebhookAction>, body: String) -> bool {
        let Some(tx) = &self.tx else { return false };
        if let Ok(mut n) = self.pending.0.lock() {
            *n += 1;
        }
        match tx.try_send(Job {
            hook: hook.clone(),
            body,
        }) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.done_one();
                false
            }
        }
    }

    fn done_one(&self) {
        finish(&self.pending);
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<WebhookStats> {
        &self.stats
    }

    /// Blocks until every queued call has finished (delivered, failed or skipped).
    pub fn wait_idle(&self) {
        let (m, cv) = &*self.pending;
        let mut n = m.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            n = cv.wait(n).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for WebhookWorker {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn finish(pending: &(Mutex<u64>, Condvar)) {
    let mut n = pending.0.lock().unwrap_or_else(|e| e.into_inner());
    *n = n.saturating_sub(1);
    if *n == 0 {
        pending.1.notify_all();
    }
}

fn run(
    rx: Receiver<Job>,
    stats: Arc<WebhookStats>,
    pending: Arc<(Mutex<u64>, Condvar)>,
    clock: Arc<dyn Clock>,
) {
    let mut breakers: HashMap<String, Breaker> = HashMap::new();
    for job in rx {
        let hook = &job.hook;
        let b = breakers.entry(hook.url.clone()).or_default();
        let now = clock.now_ns();
        // Open: skip. Past its time: half-open, this one call decides.
        if let Some(until) = b.open_until
            && now < until
        {
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            finish(&pending);
            continue;
        }
        let half_open = b.open_until.is_some();
        let attempts = if half_open { 1 } else { hook.attempts.max(1) };
        let mut ok = false;
        for attempt in 0..attempts {
            if attempt > 0 {
                let backoff = hook.backoff_ms.saturating_mul(1 << (attempt - 1).min(16));
                std::thread::sleep(Duration::from_millis(backoff));
            }
            match post_json(hook, &job.body) {
                Ok(()) => {
                    ok = true;
                    break;
                }
                Err(e) => {
                    stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(url = %hook.url, "webhook attempt failed: {e}");
                }
            }
        }
        if ok {
            stats.delivered.fetch_add(1, Ordering::Relaxed);
            b.failures = 0;
            b.open_until = None;
        } else {
            stats.failed_calls.fetch_add(1, Ordering::Relaxed);
            b.failures += 1;
            if half_open || b.failures >= hook.breaker_failures.max(1) {
                if !half_open {
                    tracing::warn!(url = %hook.url, "webhook circuit breaker open");
                }
                stats.breaker_opens.fetch_add(1, Ordering::Relaxed);
                b.open_until = Some(clock.now_ns() + hook.breaker_open_ms * 1_000_000);
            }
        }
        finish(&pending);
    }
}

/// Splits `http://host:port/path` into (host:port, path).
pub fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}` is not an http:// URL"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if hostport.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    Ok((hostport, path.to_owned()))
}

fn post_json(hook: &WebhookAction, body: &str) -> Result<(), String> {
    let (hostport, path) = split_url(&hook.url)?;
    let timeout = Duration::from_millis(hook.timeout_ms.max(1));
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in &hook.headers {
        req.push_str(k);
        req.push_str(": ");
        req.push_str(v);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < 12 {
        let r = s.read(&mut head[n..]).map_err(|e| e.to_string())?;
        if r == 0 {
            break;
        }
        n += r;
    }
    let line = std::str::from_utf8(&head[..n]).map_err(|e| e.to_string())?;
    let code: u16 = line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad response `{}`", line.lines().next().unwrap_or("")))?;
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP {code}"))
    }
}
