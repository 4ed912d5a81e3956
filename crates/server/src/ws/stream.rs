//! One `/ws/stream` client: a reader (commands, subscriptions, pings) and a writer
//! (snapshots, video, events, replies) running side by side, generic over `Sink`/`Stream`
//! so that it can be driven without a socket.
//!
//! The writer never queues snapshots or video: when it is ready to send, it takes the newest
//! item of each source (latest wins) and counts what it skipped. Events go through a bounded
//! ring; a client that falls behind loses the oldest and is told how many by the counters.
//! Replies go through a small bounded queue. So a client's memory is bounded whatever it
//! does. A send blocked longer than `slow_client_timeout_s` closes the client (1008, "too
//! slow"); nothing received for `idle_timeout_s` (pings are sent every third of it) closes
//! it too (1001, "idle timeout").

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use bytes::Bytes;
use framebus_protocol::{
    Ack, ClientMessage, ErrorCode, Notification, NotificationLevel, ServerMessage,
};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::json;
use tokio::sync::{Semaphore, broadcast, mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};

use crate::AppState;
use crate::commands::{error, execute, reply_message, to_json};
use crate::latest::Cursor;
use crate::payload::Payload;
use crate::ws::client::{ClientGuard, CloseCause, SendStats, Subscription};

/// Replies waiting for the writer; the reader waits when it is full.
const REPLY_QUEUE: usize = 64;
/// Commands one client may have in flight; more are answered `busy`.
const MAX_IN_FLIGHT: usize = 32;
/// Close codes.
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;

/// Serves one client until it leaves, is closed for a reason, or the server shuts down.
pub(crate) async fn serve_client<S, R>(sink: S, stream: R, state: AppState, guard: ClientGuard)
where
    S: Sink<Message, Error = axum::Error> + Unpin + Send,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin + Send,
{
    let (reply_tx, reply_rx) = mpsc::channel(REPLY_QUEUE);
    let (sub_tx, sub_rx) = watch::channel(Subscription::default());
    let last_seen = Arc::new(std::sync::Mutex::new(Instant::now()));
    let mut writer = Writer {
        sink,
        state: state.clone(),
        guard: &guard,
        slow: Duration::from_secs(state.inner.settings.slow_client_timeout_s.max(1)),
    };
    let reader = Reader {
        state: state.clone(),
        guard: &guard,
        replies: reply_tx,
        subscription: sub_tx,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        last_seen: last_seen.clone(),
    };
    let (cause, client_left) = tokio::select! {
        cause = writer.run(reply_rx, sub_rx, last_seen) => (cause, false),
        cause = reader.run(stream) => (cause, true),
    };
    if client_left {
        // Let the client's close frame be answered.
        let _ = timeout(Duration::from_millis(200), writer.sink.close()).await;
    }
    guard.closed(cause);
    if cause == CloseCause::Slow {
        let info = &guard.info;
        tracing::info!(client = info.id, remote = %info.remote, "closed a client that stopped reading");
        state.hub().emit(&ServerMessage::Alert(Notification {
            level: NotificationLevel::Warning,
            source: "server".into(),
            title: "client too slow".into(),
            message: format!(
                "closed WebSocket client {} ({}): it stopped reading",
                info.id, info.remote
            ),
        }));
    }
}

struct Reader<'a> {
    state: AppState,
    guard: &'a ClientGuard,
    replies: mpsc::Sender<Bytes>,
    subscription: watch::Sender<Subscription>,
    in_flight: Arc<Semaphore>,
    last_seen: Arc<std::sync::Mutex<Instant>>,
}

impl Reader<'_> {
    async fn run<R>(&self, mut stream: R) -> CloseCause
    where
        R: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let stats = &self.guard.info.stats;
        while let Some(msg) = stream.next().await {
            if let Ok(mut t) = self.last_seen.lock() {
                *t = Instant::now();
            }
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(client = self.guard.info.id, "read failed: {e}");
                    return CloseCause::Peer;
                }
            };
            SendStats::add(&stats.messages_received, 1);
            match msg {
                Message::Text(text) => self.text(&text).await,
                Message::Binary(b) => {
                    let m = format!(
                        "binary messages ({} bytes) are not accepted on /ws/stream; send JSON text \
                         (camera frames go to /ws/ingest/{{source_id}})",
                        b.len()
                    );
                    self.refuse(None, ErrorCode::BadMessage, m).await;
                }
                Message::Ping(_) | Message::Pong(_) => {}
                Message::Close(_) => return CloseCause::Peer,
            }
        }
        CloseCause::Peer
    }

    async fn reply(&self, msg: &ServerMessage) {
        let _ = self.replies.send(to_json(msg)).await;
    }

    async fn refuse(&self, id: Option<serde_json::Value>, code: ErrorCode, message: String) {
        SendStats::add(&self.guard.info.stats.bad_messages, 1);
        self.reply(&ServerMessage::Error(error(id, code, message)))
            .await;
    }

    async fn text(&self, text: &str) {
        let max = self.state.inner.settings.max_message_bytes;
        if text.len() > max {
            let m = format!(
                "message of {} bytes exceeds the limit of {max} bytes",
                text.len()
            );
            return self.refuse(None, ErrorCode::TooLarge, m).await;
        }
        let msg = match ClientMessage::parse(text) {
            Ok(m) => m,
            Err(e) => return self.refuse(e.id, ErrorCode::BadMessage, e.message).await,
        };
        match msg {
            ClientMessage::Ping { id } => self.reply(&ServerMessage::Pong { id }).await,
            ClientMessage::Subscribe(s) => match Subscription::from_message(&s) {
                Ok(sub) => {
                    self.guard.info.set_subscription(sub);
                    self.subscription.send_replace(sub);
                    let ack = Ack {
                        id: None,
                        target: "server".into(),
                        cmd: "subscribe".into(),
                        result: json!({ "streams": s.streams, "max_fps": s.max_fps, "compress": sub.compress }),
                    };
                    self.reply(&ServerMessage::Ack(ack)).await;
                    if sub.config {
                        let config = crate::rest::effective_config(&self.state);
                        self.reply(&ServerMessage::Config { config }).await;
                    }
                }
                Err(m) => self.refuse(None, ErrorCode::BadArgs, m).await,
            },
            ClientMessage::Command(cmd) => {
                SendStats::add(&self.guard.info.stats.commands, 1);
                let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
                    let m =
                        format!("more than {MAX_IN_FLIGHT} commands in flight; wait for replies");
                    return self.refuse(cmd.id, ErrorCode::Busy, m).await;
                };
                let bus = self.state.runtime().bus().clone();
                let replies = self.replies.clone();
                // Replies may come back out of order; the id correlates them.
                tokio::spawn(async move {
                    let reply = execute(&bus, cmd).await;
                    let _ = replies.send(to_json(&reply_message(reply))).await;
                    drop(permit);
                });
            }
        }
    }
}

struct Writer<'a, S> {
    sink: S,
    state: AppState,
    guard: &'a ClientGuard,
    slow: Duration,
}

/// Per-source pacing of one kind of latest-wins item (snapshots or video).
struct Pace {
    cursor: Cursor,
    next_at: Vec<Instant>,
    waited: Vec<bool>,
}

impl Pace {
    fn new(slots: usize) -> Self {
        let now = Instant::now();
        Self {
            cursor: Cursor::default(),
            next_at: vec![now; slots],
            waited: vec![false; slots],
        }
    }

    /// The earliest time a waiting slot becomes due.
    fn deadline<T: crate::latest::Numbered>(
        &mut self,
        board: &crate::latest::Latest<T>,
        now: Instant,
    ) -> Option<Instant> {
        let mut earliest: Option<Instant> = None;
        for slot in 0..board.len() {
            if self.next_at[slot] > now && self.cursor.has_new(board, slot) {
                self.waited[slot] = true;
                earliest = Some(earliest.map_or(self.next_at[slot], |e| e.min(self.next_at[slot])));
            }
        }
        earliest
    }
}

impl<S> Writer<'_, S>
where
    S: Sink<Message, Error = axum::Error> + Unpin + Send,
{
    async fn send(&mut self, msg: Message) -> Result<(), CloseCause> {
        let bytes = match &msg {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            _ => 0,
        };
        let stats = &self.guard.info.stats;
        match timeout(self.slow, self.sink.send(msg)).await {
            Ok(Ok(())) => {
                stats.sent(bytes);
                Ok(())
            }
            Ok(Err(_)) => {
                SendStats::add(&stats.failed_sends, 1);
                Err(CloseCause::Peer)
            }
            Err(_) => {
                SendStats::add(&stats.failed_sends, 1);
                Err(CloseCause::Slow)
            }
        }
    }

    async fn send_payload(&mut self, p: &Payload, compress: bool) -> Result<(), CloseCause> {
        if compress && let Some(z) = p.compressed() {
            SendStats::add(&self.guard.info.stats.compressed, 1);
            return self.send(Message::Binary(z.clone())).await;
        }
        self.send(Message::Text(p.text().clone())).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = timeout(
            Duration::from_millis(500),
            self.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }

    async fn run(
        &mut self,
        mut replies: mpsc::Receiver<Bytes>,
        mut sub_rx: watch::Receiver<Subscription>,
        last_seen: Arc<std::sync::Mutex<Instant>>,
    ) -> CloseCause {
        match self.pump(&mut replies, &mut sub_rx, &last_seen).await {
            Ok(cause) | Err(cause) => {
                match cause {
                    CloseCause::Shutdown => self.close(GOING_AWAY, "server shutting down").await,
                    CloseCause::Idle => self.close(GOING_AWAY, "idle timeout").await,
                    CloseCause::Slow => {
                        self.close(POLICY, "too slow: the client stopped reading")
                            .await
                    }
                    CloseCause::Peer => {}
                }
                cause
            }
        }
    }

    async fn pump(
        &mut self,
        replies: &mut mpsc::Receiver<Bytes>,
        sub_rx: &mut watch::Receiver<Subscription>,
        last_seen: &std::sync::Mutex<Instant>,
    ) -> Result<CloseCause, CloseCause> {
        let shared = self.state.inner.clone();
        let hub = &shared.hub.inner;
        let stats = &self.guard.info.stats;
        let idle = Duration::from_secs(shared.settings.idle_timeout_s.max(1));
        let mut snap_gen = hub.snapshots.watch();
        snap_gen.mark_changed();
        let mut video_gen = hub.video.latest.watch();
        let mut events = hub.events.subscribe();
        let mut sub = *sub_rx.borrow_and_update();
        let mut watching = None;
        let mut snaps = Pace::new(hub.snapshots.len());
        let mut video = Pace::new(hub.video.latest.len());
        let mut ping = tokio::time::interval_at(Instant::now() + idle / 3, idle / 3);
        loop {
            let now = Instant::now();
            let snap_due = if sub.state {
                snaps.deadline(&hub.snapshots, now)
            } else {
                None
            };
            let video_due = if sub.video {
                video.deadline(&hub.video.latest, now)
            } else {
                None
            };
            let due = match (snap_due, video_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wants_events = sub.events || sub.alerts || sub.config;
            tokio::select! {
                biased;
                _ = shared.shutdown.cancelled() => return Ok(CloseCause::Shutdown),
                r = replies.recv() => match r {
                    Some(json) => {
                        let p = Payload::new(json);
                        self.send_payload(&p, sub.compress).await?;
                        SendStats::add(&stats.replies_sent, 1);
                    }
                    None => return Ok(CloseCause::Peer),
                },
                r = sub_rx.changed() => {
                    if r.is_err() {
                        return Ok(CloseCause::Peer);
                    }
                    sub = *sub_rx.borrow_and_update();
                    if sub.video && watching.is_none() {
                        watching = Some(hub.video.watch());
                        video_gen.mark_changed();
                    } else if !sub.video {
                        watching = None;
                    }
                    snap_gen.mark_changed();
                    snaps.next_at.iter_mut().for_each(|t| *t = now);
                    video.next_at.iter_mut().for_each(|t| *t = now);
                }
                r = events.recv(), if wants_events => match r {
                    Ok(ev) => {
                        if sub.wants(ev.stream) {
                            self.send_payload(&ev.payload, sub.compress).await?;
                            SendStats::add(&stats.events_sent, 1);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => SendStats::add(&stats.events_dropped, n),
                    Err(broadcast::error::RecvError::Closed) => {}
                },
                _ = snap_gen.changed(), if sub.state => {}
                _ = video_gen.changed(), if sub.video => {}
                _ = sleep_until(due.unwrap_or(now)), if due.is_some() => {}
                _ = ping.tick() => {
                    let seen = last_seen.lock().map(|t| *t).unwrap_or(now);
                    if now.duration_since(seen) > idle {
                        return Ok(CloseCause::Idle);
                    }
                    self.send(Message::Ping(Bytes::new())).await?;
                }
            }
            if sub.state {
                for slot in 0..hub.snapshots.len() {
                    let now = Instant::now();
                    if snaps.next_at[slot] > now {
                        continue;
                    }
                    let Some((snap, skipped)) = snaps.cursor.take(&hub.snapshots, slot) else {
                        continue;
                    };
                    let counter = if std::mem::take(&mut snaps.waited[slot]) {
                        &stats.capped
                    } else {
                        &stats.dropped
                    };
                    SendStats::add(counter, skipped);
                    if let Some(i) = sub.min_interval {
                        snaps.next_at[slot] = now + i;
                    }
                    self.send_payload(&snap.payload, sub.compress).await?;
                    SendStats::add(&stats.snapshots_sent, 1);
                    stats.lag.record(snap.published.elapsed());
                }
            }
            if sub.video {
                for slot in 0..hub.video.latest.len() {
                    let now = Instant::now();
                    if video.next_at[slot] > now {
                        continue;
                    }
                    let Some((frame, skipped)) = video.cursor.take(&hub.video.latest, slot) else {
                        continue;
                    };
                    video.waited[slot] = false;
                    SendStats::add(&stats.video_dropped, skipped);
                    if let Some(i) = sub.min_interval {
                        video.next_at[slot] = now + i;
                    }
                    self.send(Message::Binary(frame.data.clone())).await?;
                    SendStats::add(&stats.video_sent, 1);
                }
            }
        }
    }
}
