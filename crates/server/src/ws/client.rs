//! Per-client state: what a client subscribed to, its send metrics (seed 002: bytes,
//! messages, dropped, lag) and the registry of connected clients with their totals.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use framebus_protocol::{StreamKind, Subscribe};
use serde::Serialize;

/// What a client receives. Before any `subscribe`: state, events and alerts, uncapped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Subscription {
    pub(crate) state: bool,
    pub(crate) video: bool,
    pub(crate) events: bool,
    pub(crate) alerts: bool,
    pub(crate) config: bool,
    /// Seed 002's `trajectory` messages.
    pub(crate) trajectory: bool,
    /// Minimum time between two snapshots (and two video frames) of one source.
    pub(crate) min_interval: Option<Duration>,
    /// Send large JSON compressed (seed 002's rule).
    pub(crate) compress: bool,
}

impl Default for Subscription {
    fn default() -> Self {
        Self {
            state: true,
            video: false,
            events: true,
            alerts: true,
            config: false,
            trajectory: false,
            min_interval: None,
            compress: false,
        }
    }
}

impl Subscription {
    /// From a `subscribe` message; `Err` names what is wrong.
    pub(crate) fn from_message(s: &Subscribe) -> Result<Self, String> {
        let min_interval = match s.max_fps {
            None => None,
            Some(f) if f.is_finite() && f > 0.0 && f <= 1000.0 => {
                Some(Duration::from_secs_f64(1.0 / f))
            }
            Some(f) => return Err(format!("max_fps must be in (0, 1000], got {f}")),
        };
        let has = |k| s.streams.contains(&k);
        Ok(Self {
            state: has(StreamKind::State),
            video: has(StreamKind::Video),
            events: has(StreamKind::Events),
            alerts: has(StreamKind::Alerts),
            config: has(StreamKind::Config),
            trajectory: has(StreamKind::Trajectory),
            min_interval,
            compress: s.compress.unwrap_or(false),
        })
    }

    /// Whether events of `stream` go to this client.
    pub(crate) fn wants(&self, stream: StreamKind) -> bool {
        match stream {
            StreamKind::State => self.state,
            StreamKind::Video => self.video,
            StreamKind::Events => self.events,
            StreamKind::Alerts => self.alerts,
            StreamKind::Config => self.config,
            StreamKind::Trajectory => self.trajectory,
        }
    }

    fn streams(&self) -> Vec<StreamKind> {
        [
            StreamKind::State,
            StreamKind::Video,
            StreamKind::Events,
            StreamKind::Alerts,
            StreamKind::Config,
            StreamKind::Trajectory,
        ]
        .into_iter()
        .filter(|k| self.wants(*k))
        .collect()
    }
}

/// Lag buckets: four per power of two of microseconds, up to ~2^28 µs (4.5 min).
const LAG_BUCKETS: usize = 4 * 28;

/// A lock-free log-linear histogram of send lags.
#[derive(Debug)]
pub(crate) struct LagHistogram([AtomicU64; LAG_BUCKETS]);

impl Default for LagHistogram {
    fn default() -> Self {
        Self(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl LagHistogram {
    fn bucket(us: u64) -> usize {
        if us < 4 {
            return us as usize;
        }
        let octave = 63 - us.leading_zeros() as usize; // ≥ 2
        let quarter = ((us >> (octave - 2)) & 3) as usize;
        (octave * 4 + quarter - 4).min(LAG_BUCKETS - 1)
    }

    /// Upper bound of bucket `b`, microseconds.
    fn upper(b: usize) -> f64 {
        if b < 4 {
            return (b + 1) as f64;
        }
        let octave = (b + 4) / 4;
        let quarter = (b + 4) % 4;
        ((1u64 << octave) as f64) * (1.0 + (quarter + 1) as f64 / 4.0)
    }

    pub(crate) fn record(&self, lag: Duration) {
        let b = Self::bucket(lag.as_micros() as u64);
        self.0[b].fetch_add(1, Ordering::Relaxed);
    }

    fn add_to(&self, into: &mut [u64; LAG_BUCKETS]) {
        for (i, b) in self.0.iter().enumerate() {
            into[i] += b.load(Ordering::Relaxed);
        }
    }

    fn absorb(&self, other: &Self) {
        for (i, b) in other.0.iter().enumerate() {
            self.0[i].fetch_add(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }
}

/// Percentile `p` (0–1) of bucket counts, as milliseconds (bucket upper bound, ±19 %).
pub(crate) fn percentile_ms(counts: &[u64; LAG_BUCKETS], p: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = ((total as f64) * p).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return LagHistogram::upper(b) / 1000.0;
        }
    }
    LagHistogram::upper(LAG_BUCKETS - 1) / 1000.0
}

macro_rules! send_stats {
    ($($(#[doc = $doc:literal])* $name:ident),* $(,)?) => {
        /// Send counters of one client (or of all clients).
        #[derive(Debug, Default)]
        pub(crate) struct SendStats {
            $($(#[doc = $doc])* pub(crate) $name: AtomicU64,)*
            /// Time from publish (snapshot built, frame encoded) to written to the socket.
            pub(crate) lag: LagHistogram,
        }

        /// A serializable copy of [`SendStats`].
        #[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
        pub struct SendCounts {
            $($(#[doc = $doc])* pub $name: u64,)*
            /// Send lag p50, milliseconds.
            pub lag_p50_ms: f64,
            /// Send lag p99, milliseconds.
            pub lag_p99_ms: f64,
        }

        impl SendStats {
            fn add_to(&self, c: &mut SendCounts, lag: &mut [u64; LAG_BUCKETS]) {
                $(c.$name += self.$name.load(Ordering::Relaxed);)*
                self.lag.add_to(lag);
            }
            fn absorb(&self, o: &Self) {
                $(self.$name.fetch_add(o.$name.load(Ordering::Relaxed), Ordering::Relaxed);)*
                self.lag.absorb(&o.lag);
            }
        }
    };
}

send_stats! {
    /// Bytes written (payloads, excluding WebSocket framing).
    bytes_sent,
    /// Messages written.
    messages_sent,
    /// Snapshots written.
    snapshots_sent,
    /// Snapshots of those written by the publishing thread itself, before any writer task
    /// was woken (see `ws::direct`).
    snapshots_direct,
    /// Video frames written.
    video_sent,
    /// Events and alerts written.
    events_sent,
    /// Replies (acks, errors, pongs, config) written.
    replies_sent,
    /// Snapshots not sent because the client was still busy with older ones (latest wins).
    dropped,
    /// Snapshots held back by the client's `max_fps`.
    capped,
    /// Video frames not sent because the client was busy or capped.
    video_dropped,
    /// Events lost because the client fell too far behind.
    events_dropped,
    /// Messages sent compressed.
    compressed,
    /// Sends that failed or timed out.
    failed_sends,
    /// Messages received.
    messages_received,
    /// Commands received.
    commands,
    /// Malformed or refused messages.
    bad_messages,
}

impl SendStats {
    /// Counts one written message of `bytes` bytes.
    pub(crate) fn sent(&self, bytes: usize) {
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
        self.messages_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A serializable copy.
    pub(crate) fn counts(&self) -> SendCounts {
        let mut c = SendCounts::default();
        let mut lag = [0; LAG_BUCKETS];
        self.add_to(&mut c, &mut lag);
        finish(c, &lag)
    }
}

fn finish(mut c: SendCounts, lag: &[u64; LAG_BUCKETS]) -> SendCounts {
    c.lag_p50_ms = percentile_ms(lag, 0.50);
    c.lag_p99_ms = percentile_ms(lag, 0.99);
    c
}

/// One connected WebSocket client.
#[derive(Debug)]
pub(crate) struct ClientInfo {
    pub(crate) id: u64,
    pub(crate) kind: &'static str,
    pub(crate) remote: String,
    connected: Instant,
    pub(crate) stats: SendStats,
    subscription: Mutex<Subscription>,
}

impl ClientInfo {
    pub(crate) fn set_subscription(&self, s: Subscription) {
        if let Ok(mut g) = self.subscription.lock() {
            *g = s;
        }
    }
}

/// A client as `/api/v1/diagnostics` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    /// Connection id.
    pub id: u64,
    /// `stream` or `ingest:<source>`.
    pub kind: String,
    /// Peer address.
    pub remote: String,
    /// Seconds since it connected.
    pub connected_s: f64,
    /// Subscribed streams.
    #[schema(value_type = Vec<String>)]
    pub streams: Vec<StreamKind>,
    /// Its fps cap, if any.
    pub max_fps: Option<f64>,
    /// Compression opted in.
    pub compress: bool,
    /// Its counters.
    pub stats: SendCounts,
}

/// Why connections were closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseCause {
    /// The client's sends stayed blocked past the slow-client timeout.
    Slow,
    /// Nothing received within the idle timeout.
    Idle,
    /// The server is shutting down.
    Shutdown,
    /// The client closed or the connection failed.
    Peer,
}

/// Totals over every client since start.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientTotals {
    /// Clients connected now.
    pub connected: usize,
    /// Clients accepted since start.
    pub accepted: u64,
    /// Clients refused (limit reached, bad token or Origin).
    pub refused: u64,
    /// Clients closed for being too slow.
    pub closed_slow: u64,
    /// Clients closed for being idle.
    pub closed_idle: u64,
    /// Counters summed over all clients, past and present.
    pub stats: SendCounts,
}

/// The registry of connected clients.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    next_id: AtomicU64,
    live: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    retired: SendStats,
    pub(crate) refused: AtomicU64,
    closed_slow: AtomicU64,
    closed_idle: AtomicU64,
}

/// Removes a client from the registry when its connection ends.
pub(crate) struct ClientGuard {
    clients: Arc<Clients>,
    pub(crate) info: Arc<ClientInfo>,
}

impl ClientGuard {
    /// Records why the connection ended.
    pub(crate) fn closed(&self, cause: CloseCause) {
        match cause {
            CloseCause::Slow => self.clients.closed_slow.fetch_add(1, Ordering::Relaxed),
            CloseCause::Idle => self.clients.closed_idle.fetch_add(1, Ordering::Relaxed),
            CloseCause::Shutdown | CloseCause::Peer => 0,
        };
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if let Ok(mut live) = self.clients.live.lock() {
            live.remove(&self.info.id);
        }
        self.clients.retired.absorb(&self.info.stats);
    }
}

impl Clients {
    /// Registers a client, or `None` when `max` clients are already connected.
    pub(crate) fn register(
        self: &Arc<Self>,
        kind: &'static str,
        remote: String,
        max: usize,
    ) -> Option<ClientGuard> {
        let mut live = self.live.lock().ok()?;
        if live.len() >= max {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            kind,
            remote,
            connected: Instant::now(),
            stats: SendStats::default(),
            subscription: Mutex::new(Subscription::default()),
        });
        live.insert(id, info.clone());
        Some(ClientGuard {
            clients: self.clone(),
            info,
        })
    }

    /// Every connected client.
    pub(crate) fn views(&self) -> Vec<ClientView> {
        let live: Vec<_> = self
            .live
            .lock()
            .map(|l| l.values().cloned().collect())
            .unwrap_or_default();
        live.iter()
            .map(|c| {
                let sub = c.subscription.lock().map(|s| *s).unwrap_or_default();
                ClientView {
                    id: c.id,
                    kind: c.kind.into(),
                    remote: c.remote.clone(),
                    connected_s: c.connected.elapsed().as_secs_f64(),
                    streams: sub.streams(),
                    max_fps: sub.min_interval.map(|d| 1.0 / d.as_secs_f64()),
                    compress: sub.compress,
                    stats: c.stats.counts(),
                }
            })
            .collect()
    }

    /// Totals since start.
    pub(crate) fn totals(&self) -> ClientTotals {
        let live: Vec<_> = self
            .live
            .lock()
            .map(|l| l.values().cloned().collect())
            .unwrap_or_default();
        let mut c = SendCounts::default();
        let mut lag = [0; LAG_BUCKETS];
        self.retired.add_to(&mut c, &mut lag);
        for l in &live {
            l.stats.add_to(&mut c, &mut lag);
        }
        ClientTotals {
            connected: live.len(),
            accepted: self.next_id.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            closed_slow: self.closed_slow.load(Ordering::Relaxed),
            closed_idle: self.closed_idle.load(Ordering::Relaxed),
            stats: finish(c, &lag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for us in [
            0u64,
            1,
            3,
            4,
            5,
            7,
            8,
            100,
            1000,
            1500,
            10_000,
            1 << 27,
            u64::MAX / 2,
        ] {
            let b = LagHistogram::bucket(us);
            assert!(b >= last, "{us}");
            last = b;
            if us < (1 << 27) {
                assert!(LagHistogram::upper(b) >= us as f64, "{us} in bucket {b}");
                assert!(
                    LagHistogram::upper(b) <= (us as f64 * 1.26).max(4.0),
                    "{us} in {b}"
                );
            }
        }
        let h = LagHistogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let mut counts = [0; LAG_BUCKETS];
        h.add_to(&mut counts);
        let p50 = percentile_ms(&counts, 0.5);
        let p99 = percentile_ms(&counts, 0.99);
        assert!((50.0..=63.0).contains(&p50), "{p50}");
        assert!((99.0..=125.0).contains(&p99), "{p99}");
    }

    #[test]
    fn registry_limits_and_keeps_totals() {
        let clients = Arc::new(Clients::default());
        let a = clients.register("stream", "a".into(), 1).unwrap();
        assert!(clients.register("stream", "b".into(), 1).is_none());
        a.info.stats.sent(10);
        assert_eq!(clients.totals().stats.bytes_sent, 10);
        a.closed(CloseCause::Slow);
        drop(a);
        let t = clients.totals();
        assert_eq!(
            (t.connected, t.accepted, t.refused, t.closed_slow),
            (0, 1, 1, 1)
        );
        assert_eq!(t.stats.bytes_sent, 10);
    }

    #[test]
    fn subscribe_validates_fps() {
        let s = Subscribe {
            streams: vec![StreamKind::Video],
            max_fps: Some(0.0),
            compress: None,
        };
        assert!(Subscription::from_message(&s).is_err());
        let s = Subscribe {
            max_fps: Some(10.0),
            ..s
        };
        let sub = Subscription::from_message(&s).unwrap();
        assert!(sub.video && !sub.state);
        assert_eq!(sub.min_interval, Some(Duration::from_millis(100)));
    }
}
