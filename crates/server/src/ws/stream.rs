//! One `/ws/stream` client: a reader (commands, subscriptions, pings) and a writer
//! (snapshots, video, events, replies) running side by side, generic over `Sink`/`Stream`
//! so that it can be driven without a socket.
//!
//! The writer never queues snapshots or video: when it is ready to send, it takes the newest
//! item of each source (latest wins) and counts what it skipped. Uncompressed snapshots
//! (capped or not) may instead be written by the publishing thread itself (`ws::direct`),
//! through the same sink, cursor and fps-cap pacing under one lock, so the two never
//! overtake each other. Events go
//! through a bounded ring; a client that falls behind loses the oldest and is told how many
//! by the counters.
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
use tokio_util::sync::ReusableBoxFuture;

use crate::AppState;
use crate::commands::{error, execute, reply_message, to_json};
use crate::hub::EventMsg;
use crate::latest::Cursor;
use crate::payload::Payload;
use crate::ws::client::{ClientGuard, ClientInfo, CloseCause, SendStats, Subscription};
use crate::ws::direct::{self, Direct, Out};
use crate::ws::pace::Pace;

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
    S: Sink<Message, Error = axum::Error> + Unpin + Send + 'static,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
{
    let (reply_tx, reply_rx) = mpsc::channel(REPLY_QUEUE);
    let (sub_tx, sub_rx) = watch::channel(Subscription::default());
    let last_seen = Arc::new(std::sync::Mutex::new(Instant::now()));
    let slots = state.inner.hub.inner.snapshots.len();
    let out = Arc::new(Direct::new(sink, guard.info.clone(), slots));
    // Publishing threads may write snapshots to this client themselves (`ws::direct`).
    let _direct = Registered::new(&state, guard.info.id, out.clone());
    let writer = Writer {
        out,
        state: state.clone(),
        info: guard.info.clone(),
        slow: Duration::from_secs(state.inner.settings.slow_client_timeout_s.max(1)),
    };
    let reader = Reader {
        state: state.clone(),
        info: guard.info.clone(),
        replies: reply_tx,
        subscription: sub_tx,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        last_seen: last_seen.clone(),
    };
    // The reader is a task of its own: it is polled only when the socket has data, not on
    // every snapshot the writer sends (a read attempt costs a buffer fill).
    let mut reading = tokio::spawn(reader.run(stream));
    let (cause, client_left) = tokio::select! {
        cause = writer.run(reply_rx, sub_rx, last_seen) => (cause, false),
        cause = &mut reading => (cause.unwrap_or(CloseCause::Peer), true),
    };
    reading.abort();
    if client_left {
        // Let the client's close frame be answered.
        let _ = timeout(Duration::from_millis(200), async {
            writer.out.out.lock().await.sink.close().await
        })
        .await;
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

/// A client's place among the hub's direct-send clients, left when dropped (also when the
/// connection's task is dropped mid-way).
struct Registered {
    state: AppState,
    id: u64,
}

impl Registered {
    fn new<S>(state: &AppState, id: u64, out: Arc<Direct<S>>) -> Self
    where
        S: Sink<Message, Error = axum::Error> + Unpin + Send + 'static,
    {
        state.inner.hub.inner.direct.add(id, out);
        Self {
            state: state.clone(),
            id,
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.state.inner.hub.inner.direct.remove(self.id);
    }
}

struct Reader {
    state: AppState,
    info: Arc<ClientInfo>,
    replies: mpsc::Sender<Bytes>,
    subscription: watch::Sender<Subscription>,
    in_flight: Arc<Semaphore>,
    last_seen: Arc<std::sync::Mutex<Instant>>,
}

impl Reader {
    async fn run<R>(self, mut stream: R) -> CloseCause
    where
        R: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let stats = &self.info.stats;
        while let Some(msg) = stream.next().await {
            if let Ok(mut t) = self.last_seen.lock() {
                *t = Instant::now();
            }
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(client = self.info.id, "read failed: {e}");
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
        SendStats::add(&self.info.stats.bad_messages, 1);
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
                    self.info.set_subscription(sub);
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
                SendStats::add(&self.info.stats.commands, 1);
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

type EventRx = broadcast::Receiver<Arc<EventMsg>>;

/// The next event and the receiver back (so the future can live across loop turns).
async fn next_event(
    mut rx: EventRx,
) -> (Result<Arc<EventMsg>, broadcast::error::RecvError>, EventRx) {
    let r = rx.recv().await;
    (r, rx)
}

struct Writer<S> {
    /// The sink and snapshot cursor, shared with publishing threads' direct sends.
    out: Arc<Direct<S>>,
    state: AppState,
    info: Arc<ClientInfo>,
    slow: Duration,
}

impl<S> Writer<S>
where
    S: Sink<Message, Error = axum::Error> + Unpin + Send,
{
    /// Sends `msg` (taking the sink from direct sends for the time of it).
    async fn send(&self, msg: Message) -> Result<(), CloseCause> {
        let mut out = self.out.out.lock().await;
        self.send_on(&mut out, msg).await
    }

    /// Sends `msg` on the locked sink.
    async fn send_on(&self, out: &mut Out<S>, msg: Message) -> Result<(), CloseCause> {
        let bytes = match &msg {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            _ => 0,
        };
        let stats = &self.info.stats;
        if out.broken {
            SendStats::add(&stats.failed_sends, 1);
            return Err(CloseCause::Peer);
        }
        // A direct write the socket did not take in full goes out first (`send` flushes).
        match timeout(self.slow, out.sink.send(msg)).await {
            Ok(Ok(())) => {
                out.unflushed = false;
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

    /// Finishes what direct sends left: a broken connection ends the client, a write the
    /// socket took only in part is flushed (within the slow-client timeout).
    async fn settle(&self, out: &mut Out<S>) -> Result<(), CloseCause> {
        let stats = &self.info.stats;
        if out.broken {
            SendStats::add(&stats.failed_sends, 1);
            return Err(CloseCause::Peer);
        }
        if out.unflushed {
            match timeout(self.slow, out.sink.flush()).await {
                Ok(Ok(())) => out.unflushed = false,
                Ok(Err(_)) => {
                    SendStats::add(&stats.failed_sends, 1);
                    return Err(CloseCause::Peer);
                }
                Err(_) => {
                    SendStats::add(&stats.failed_sends, 1);
                    return Err(CloseCause::Slow);
                }
            }
        }
        Ok(())
    }

    async fn send_payload(&self, p: &Payload, compress: bool) -> Result<(), CloseCause> {
        let mut out = self.out.out.lock().await;
        self.send_payload_on(&mut out, p, compress).await
    }

    async fn send_payload_on(
        &self,
        out: &mut Out<S>,
        p: &Payload,
        compress: bool,
    ) -> Result<(), CloseCause> {
        if compress && let Some(z) = p.compressed() {
            SendStats::add(&self.info.stats.compressed, 1);
            return self.send_on(out, Message::Binary(z.clone())).await;
        }
        self.send_on(out, Message::Text(p.text().clone())).await
    }

    async fn close(&self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = timeout(Duration::from_millis(500), async {
            let mut out = self.out.out.lock().await;
            out.sink.send(Message::Close(Some(frame))).await
        })
        .await;
    }

    async fn run(
        &self,
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
        &self,
        replies: &mut mpsc::Receiver<Bytes>,
        sub_rx: &mut watch::Receiver<Subscription>,
        last_seen: &std::sync::Mutex<Instant>,
    ) -> Result<CloseCause, CloseCause> {
        let shared = self.state.inner.clone();
        let hub = &shared.hub.inner;
        let info = self.info.clone();
        let stats = &info.stats;
        let idle = Duration::from_secs(shared.settings.idle_timeout_s.max(1));
        let mut snap_gen = hub.snapshots.watch();
        snap_gen.mark_changed();
        let mut video_gen = hub.video.latest.watch();
        // Long-lived futures for the shared wake-ups (shutdown, events): re-creating them on
        // every loop turn would register and unregister a waiter under a lock shared by
        // every client each time a snapshot goes out.
        let cancelled = shared.shutdown.cancelled();
        tokio::pin!(cancelled);
        let mut events = ReusableBoxFuture::new(next_event(hub.events.subscribe()));
        let mut sub = *sub_rx.borrow_and_update();
        let mut watching = None;
        // The snapshots' cap lives with the sink (`Out::pace`): direct sends keep it too.
        let mut video = Pace::new(hub.video.latest.len());
        let mut video_cursor = Cursor::default();
        // A direct-send client's writer waits on its own wake-up, which publishing threads
        // give only when they could not write a snapshot themselves; the others wait on the
        // generation. Both change under the sink's lock, with the subscription.
        let mut direct_mode = direct::eligible(&sub);
        self.out
            .out
            .lock()
            .await
            .subscribed(direct_mode, sub.min_interval, Instant::now());
        // The latest snapshots go out at once, whichever it waits on.
        self.out.woken.notify_one();
        let mut ping = tokio::time::interval_at(Instant::now() + idle / 3, idle / 3);
        loop {
            let now = Instant::now();
            let snaps_wanted = sub.state || sub.trajectory;
            let snap_due = {
                let mut out = self.out.out.lock().await;
                self.settle(&mut out).await?;
                if snaps_wanted {
                    let out = &mut *out;
                    out.pace.deadline(&out.snaps, &hub.snapshots, now)
                } else {
                    None
                }
            };
            let video_due = if sub.video {
                video.deadline(&video_cursor, &hub.video.latest, now)
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
                _ = &mut cancelled => return Ok(CloseCause::Shutdown),
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
                    direct_mode = direct::eligible(&sub);
                    self.out.out.lock().await.subscribed(direct_mode, sub.min_interval, now);
                    if sub.video && watching.is_none() {
                        watching = Some(hub.video.watch());
                        video_gen.mark_changed();
                    } else if !sub.video {
                        watching = None;
                    }
                    snap_gen.mark_changed();
                    video.reset(now);
                }
                (r, rx) = events.get_pin(), if wants_events => {
                    events.set(next_event(rx));
                    match r {
                        Ok(ev) => {
                            if sub.wants(ev.stream) {
                                self.send_payload(&ev.payload, sub.compress).await?;
                                SendStats::add(&stats.events_sent, 1);
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => SendStats::add(&stats.events_dropped, n),
                        Err(broadcast::error::RecvError::Closed) => {}
                    }
                }
                _ = snap_gen.changed(), if snaps_wanted && !direct_mode => {}
                _ = self.out.woken.notified(), if direct_mode => {}
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
            let woke = crate::trace::on().then(std::time::Instant::now);
            if sub.state || sub.trajectory {
                // Held over the take and the sends, so a direct send cannot overtake them.
                let mut guard = self.out.out.lock().await;
                let out = &mut *guard;
                for slot in 0..hub.snapshots.len() {
                    let now = Instant::now();
                    if !out.pace.due(slot, now) {
                        continue;
                    }
                    let Some((snap, skipped)) = out.snaps.take(&hub.snapshots, slot) else {
                        continue;
                    };
                    out.taken(slot, now, skipped, stats);
                    if sub.state {
                        let write_start = std::time::Instant::now();
                        self.send_payload_on(out, &snap.payload, sub.compress)
                            .await?;
                        if let Some(woke) = woke {
                            crate::trace::record(crate::trace::SendTrace {
                                slot,
                                number: snap.number,
                                published: snap.published,
                                woke,
                                write_start,
                                write_end: std::time::Instant::now(),
                                direct: false,
                            });
                        }
                        SendStats::add(&stats.snapshots_sent, 1);
                        stats.lag.record(snap.published.elapsed());
                        if let Some(p) = &snap.table.state {
                            self.send_payload_on(out, p, sub.compress).await?;
                        }
                    }
                    if sub.trajectory
                        && let Some(p) = &snap.table.trajectory
                    {
                        self.send_payload_on(out, p, sub.compress).await?;
                    }
                }
            }
            if sub.video {
                for slot in 0..hub.video.latest.len() {
                    let now = Instant::now();
                    if !video.due(slot, now) {
                        continue;
                    }
                    let Some((frame, skipped)) = video_cursor.take(&hub.video.latest, slot) else {
                        continue;
                    };
                    video.sent(slot, now, sub.min_interval);
                    SendStats::add(&stats.video_dropped, skipped);
                    self.send(Message::Binary(frame.data.clone())).await?;
                    SendStats::add(&stats.video_sent, 1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The client logic driven through channels instead of a socket.

    use std::sync::Arc;

    use axum::extract::ws::Message;
    use framebus_core::config::{Config, Format};
    use framebus_core::runtime::{Runtime, RuntimeOptions};
    use serde_json::{Value, json};
    use tokio::sync::mpsc;

    use crate::{AppState, Hub, PreviewSettings};

    fn state() -> AppState {
        framebus_media::link();
        framebus_stages::link();
        let toml = "[[sources]]\nid = \"camera_0\"\nkind = \"synthetic_rider\"\nparams = { width = 64, height = 48, fps = 60 }\n";
        let config = Config::parse(toml, Format::Toml, "t.toml").unwrap();
        let hub = Hub::new(1, PreviewSettings::default());
        let options = RuntimeOptions {
            observers: vec![hub.observer()],
            ..Default::default()
        };
        let runtime = Runtime::start(&config, options).unwrap();
        AppState::new(Arc::new(runtime), hub, Default::default())
    }

    async fn next_json(rx: &mut mpsc::Receiver<Message>, kind: &str) -> Value {
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
                .await
                .expect("in time")
                .expect("open");
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return v;
                }
            }
        }
    }

    #[tokio::test]
    async fn serves_a_client_over_channels() {
        let state = state();
        let guard = state
            .inner
            .clients
            .register("stream", "channel".into(), 4)
            .unwrap();
        let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
        let (in_tx, in_rx) = mpsc::channel::<Message>(64);
        let sink = Box::pin(futures_util::sink::unfold(
            out_tx,
            |tx, m: Message| async move {
                tx.send(m).await.map_err(axum::Error::new)?;
                Ok::<_, axum::Error>(tx)
            },
        ));
        let stream = Box::pin(futures_util::stream::unfold(in_rx, |mut rx| async move {
            rx.recv().await.map(|m| (Ok::<_, axum::Error>(m), rx))
        }));
        let client = tokio::spawn(super::serve_client(sink, stream, state.clone(), guard));

        let snap = next_json(&mut out_rx, "snapshot").await;
        assert_eq!(snap["source"], "camera_0");
        in_tx
            .send(Message::text(json!({"type": "ping", "id": 9}).to_string()))
            .await
            .unwrap();
        assert_eq!(next_json(&mut out_rx, "pong").await["id"], 9);
        in_tx.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        assert_eq!(next_json(&mut out_rx, "error").await["code"], "bad_message");
        let cmd = json!({"id": 1, "target": "camera_0", "payload": {"cmd": "set_params", "args": {"gain": 6}}});
        in_tx.send(Message::text(cmd.to_string())).await.unwrap();
        let ack = next_json(&mut out_rx, "ack").await;
        assert_eq!(ack["id"], 1, "{ack}");
        // The client leaves: the server side ends and unregisters it.
        drop(in_tx);
        tokio::time::timeout(std::time::Duration::from_secs(20), client)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.client_totals().connected, 0);
    }
}
