//! Direct sends: the pipeline thread that publishes a snapshot writes it itself to the first
//! few `/ws/stream` clients that can take it at once, before it wakes any writer task, so
//! those clients get it without waiting for a tokio worker to wake up (the largest part of
//! publish → client on an idle machine).
//!
//! Each client's WebSocket sink and snapshot cursor live in one [`Direct`], behind an async
//! mutex that its writer task holds while it sends. The publishing thread only ever
//! `try_lock`s it and polls the sink once with a no-op waker, so it never waits: a client
//! whose writer is busy, whose socket is full or that wants something the direct path does
//! not do (compression, seed 002's table messages) is left to its writer task, which the
//! publish wakes right after, exactly as without direct sends. A client's fps cap
//! (`max_fps`, the web UI's 30) lives beside its sink ([`Out::pace`]), so a snapshot due
//! under the cap is written directly and one that is not wakes the writer, which sends the
//! newest when it falls due. A write the socket
//! took only in part is finished by the writer task (with the slow-client timeout).
//!
//! After writing to at least one client the publishing thread yields its core once. The
//! reader the write woke may have been queued on this core, and the scheduler lets a running
//! thread finish its slice first, so that reader would wait for the pipeline's next work (a
//! source filling its next packet: 0.4–0.6 ms on a snapshot in five, in the sensor latency
//! bench). When nothing else waits for the core the yield returns at once (one system call).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use axum::extract::ws::Message;
use futures_util::Sink;
use tokio::sync::{Mutex, Notify};
use tokio::time::{Duration, Instant};

use crate::hub::Snap;
use crate::latest::{Cursor, Latest};
use crate::ws::client::{ClientInfo, SendStats, Subscription};
use crate::ws::pace::Pace;

/// Direct writes one publish makes at most (each is a non-blocking write of one message,
/// tens of µs on loopback); further clients are served by their writer tasks.
pub(crate) const MAX_DIRECT: usize = 4;

/// What [`DirectSend::offer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Written in full.
    Sent,
    /// Not written now, or not in full (writer busy, socket full, a billiards snapshot with
    /// its `state` message, broken); the writer task was woken to finish it.
    Woken,
    /// Not a direct-send client (its subscription): its writer waits on the generation.
    NotDirect,
    /// Not due under the client's fps cap; the writer task was woken to send the newest
    /// snapshot when it is.
    Held,
    /// Nothing newer than what the client has.
    Nothing,
}

/// A client the publishing thread can write to.
pub(crate) trait DirectSend: Send + Sync {
    /// Writes the newest snapshot of `slot` of `board` now if that cannot block, and wakes
    /// the client's writer task if it could not (in full).
    fn offer(&self, board: &Latest<Snap>, slot: usize) -> Offer;
    /// Wakes the writer task of a direct-send client (it does not wait on the generation).
    fn wake(&self);
}

/// The sending side of one client, shared by its writer task and publishing threads.
pub(crate) struct Out<S> {
    /// The WebSocket sink.
    pub(crate) sink: S,
    /// Snapshots taken so far (by either side).
    pub(crate) snaps: Cursor,
    /// A direct write was handed to the sink but not flushed: the writer task flushes it.
    pub(crate) unflushed: bool,
    /// A direct write failed: the connection is gone.
    pub(crate) broken: bool,
    /// The writer's subscription allows direct snapshots (set under this lock).
    pub(crate) eligible: bool,
    /// The subscription's fps cap: at most one snapshot per source per this interval.
    pub(crate) min_interval: Option<Duration>,
    /// When each source's next snapshot may go out under that cap.
    pub(crate) pace: Pace,
}

impl<S> Out<S> {
    /// Takes a new subscription: whether it allows direct snapshots, and its cap (every
    /// source due again at `now`).
    pub(crate) fn subscribed(
        &mut self,
        eligible: bool,
        min_interval: Option<Duration>,
        now: Instant,
    ) {
        self.eligible = eligible;
        self.min_interval = min_interval;
        self.pace.reset(now);
    }

    /// Books a snapshot of `slot` taken to send at `now` in place of `skipped` older ones
    /// (by the direct path or the writer): when the cap lets the next one out, and the
    /// skipped ones as `capped` if the cap held one back since the last send, else `dropped`.
    pub(crate) fn taken(&mut self, slot: usize, now: Instant, skipped: u64, stats: &SendStats) {
        let counter = if self.pace.sent(slot, now, self.min_interval) {
            &stats.capped
        } else {
            &stats.dropped
        };
        SendStats::add(counter, skipped);
    }
}

/// One client's [`Out`] and what the direct path needs beside it.
pub(crate) struct Direct<S> {
    /// The sending side; the writer task locks it for each send.
    pub(crate) out: Mutex<Out<S>>,
    /// Wakes the writer task while it is a direct-send client ([`Out::eligible`]): it then
    /// waits on this instead of the snapshot generation, so a snapshot written directly
    /// does not wake it.
    pub(crate) woken: Notify,
    info: Arc<ClientInfo>,
}

/// Direct sends on (the default) or off, process-wide.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns direct sends on or off for every server in this process (on by default). Off,
/// every snapshot goes through the client's writer task, as a comparison for benchmarks.
pub fn set_direct_sends(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

impl<S> Direct<S> {
    /// The sending side of a client with `sink`, for `slots` sources.
    pub(crate) fn new(sink: S, info: Arc<ClientInfo>, slots: usize) -> Self {
        Self {
            out: Mutex::new(Out {
                sink,
                snaps: Cursor::default(),
                unflushed: false,
                broken: false,
                eligible: false,
                min_interval: None,
                pace: Pace::new(slots),
            }),
            woken: Notify::new(),
            info,
        }
    }
}

/// Whether snapshots under `sub` can be written directly: plain JSON text with no companion
/// messages (capped or not).
pub(crate) fn eligible(sub: &Subscription) -> bool {
    sub.state && !sub.trajectory && !sub.compress
}

impl<S> DirectSend for Direct<S>
where
    S: Sink<Message, Error = axum::Error> + Unpin + Send,
{
    fn offer(&self, board: &Latest<Snap>, slot: usize) -> Offer {
        let Ok(mut out) = self.out.try_lock() else {
            // The writer task is sending: it takes the snapshot next.
            self.wake();
            return Offer::Woken;
        };
        let out = &mut *out;
        if !out.eligible {
            return Offer::NotDirect;
        }
        if !out.snaps.has_new(board, slot) {
            return Offer::Nothing;
        }
        let now = Instant::now();
        if !out.pace.due(slot, now) {
            // Held by the cap: the writer sends the newest when it falls due.
            out.pace.hold(slot);
            self.wake();
            return Offer::Held;
        }
        // Billiards snapshots travel with their `state` message: the writer sends both. A
        // write left unflushed goes first, and a broken connection ends in the writer.
        if out.unflushed || out.broken || board.get(slot).is_some_and(|s| s.table.state.is_some()) {
            self.wake();
            return Offer::Woken;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut out.sink).poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => {
                out.broken = true;
                self.wake();
                return Offer::Woken;
            }
            Poll::Pending => {
                self.wake();
                return Offer::Woken;
            }
        }
        let Some((snap, skipped)) = out.snaps.take(board, slot) else {
            return Offer::Nothing;
        };
        let stats = &self.info.stats;
        let text = snap.payload.text().clone();
        let bytes = text.len();
        let write_start = std::time::Instant::now();
        if Pin::new(&mut out.sink)
            .start_send(Message::Text(text))
            .is_err()
        {
            out.broken = true;
            self.wake();
            return Offer::Woken;
        }
        let flushed = match Pin::new(&mut out.sink).poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => true,
            Poll::Ready(Err(_)) => {
                out.broken = true;
                self.wake();
                return Offer::Woken;
            }
            Poll::Pending => {
                out.unflushed = true;
                false
            }
        };
        stats.sent(bytes);
        SendStats::add(&stats.snapshots_sent, 1);
        SendStats::add(&stats.snapshots_direct, 1);
        out.taken(slot, now, skipped, stats);
        stats.lag.record(snap.published.elapsed());
        if crate::trace::on() {
            crate::trace::record(crate::trace::SendTrace {
                slot,
                number: snap.number,
                published: snap.published,
                woke: write_start,
                write_start,
                write_end: std::time::Instant::now(),
                direct: true,
            });
        }
        if flushed {
            Offer::Sent
        } else {
            self.wake();
            Offer::Woken
        }
    }

    fn wake(&self) {
        self.woken.notify_one();
    }
}

/// The clients publishing threads may write to, in connection order.
#[derive(Default)]
pub(crate) struct DirectClients {
    list: arc_swap::ArcSwap<Vec<(u64, Arc<dyn DirectSend>)>>,
}

impl DirectClients {
    /// Adds client `id`.
    pub(crate) fn add(&self, id: u64, client: Arc<dyn DirectSend>) {
        self.list.rcu(|l| {
            let mut l = Vec::clone(l);
            l.push((id, client.clone()));
            l
        });
    }

    /// Removes client `id`.
    pub(crate) fn remove(&self, id: u64) {
        self.list.rcu(|l| {
            let mut l = Vec::clone(l);
            l.retain(|(i, _)| *i != id);
            l
        });
    }

    /// Offers the newest snapshot of `slot` to clients in order until [`MAX_DIRECT`] were
    /// written or tried, and wakes the writer tasks of the rest; returns how many were
    /// written in full. With direct sends off, every writer task is woken.
    pub(crate) fn offer(&self, board: &Latest<Snap>, slot: usize) -> usize {
        let list = self.list.load();
        let mut tried = if ENABLED.load(Ordering::Relaxed) {
            0
        } else {
            MAX_DIRECT
        };
        let mut sent = 0;
        for (_, c) in list.iter() {
            if tried >= MAX_DIRECT {
                c.wake();
                continue;
            }
            match c.offer(board, slot) {
                Offer::Sent => {
                    sent += 1;
                    tried += 1;
                }
                Offer::Woken => tried += 1,
                Offer::NotDirect | Offer::Nothing | Offer::Held => {}
            }
        }
        if sent > 0 {
            std::thread::yield_now();
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    //! The direct path against a sink whose socket can be made full, without threads.

    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Instant;

    use axum::extract::ws::Message;
    use bytes::Bytes;
    use futures_util::{FutureExt, Sink};

    use super::*;
    use crate::payload::Payload;
    use crate::table::TableMessages;
    use crate::ws::client::Clients;

    /// A sink with a one-message buffer; while `full`, nothing leaves the buffer.
    #[derive(Default)]
    struct Socket {
        full: bool,
        buffered: Option<Message>,
        written: Vec<String>,
    }

    impl Socket {
        fn drain(&mut self) -> Poll<Result<(), axum::Error>> {
            if self.full {
                return Poll::Pending;
            }
            if let Some(Message::Text(t)) = self.buffered.take() {
                self.written.push(t.to_string());
            }
            Poll::Ready(Ok(()))
        }
    }

    impl Sink<Message> for Socket {
        type Error = axum::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            let s = self.get_mut();
            if s.buffered.is_none() {
                return Poll::Ready(Ok(()));
            }
            s.drain()
        }
        fn start_send(self: Pin<&mut Self>, m: Message) -> Result<(), Self::Error> {
            self.get_mut().buffered = Some(m);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.get_mut().drain()
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    fn client(clients: &Arc<Clients>, eligible: bool) -> Arc<Direct<Socket>> {
        let guard = clients.register("stream", "test".into(), 100).unwrap();
        let d = Direct::new(Socket::default(), guard.info.clone(), 2);
        d.out.try_lock().unwrap().eligible = eligible;
        Arc::new(d)
    }

    fn publish(board: &Latest<Snap>, slot: usize, text: &str, table: TableMessages) {
        let snap = Snap {
            payload: Payload::new(Bytes::from(text.to_owned())),
            number: board.next_number(slot),
            published: Instant::now(),
            table,
        };
        assert!(board.store(slot, Arc::new(snap)));
    }

    fn written(d: &Direct<Socket>) -> Vec<String> {
        d.out.try_lock().unwrap().sink.written.clone()
    }

    /// True if the writer task has a wake-up waiting.
    fn woken(d: &Direct<Socket>) -> bool {
        d.woken.notified().now_or_never().is_some()
    }

    #[test]
    fn writes_the_newest_snapshot_once_and_wakes_no_writer() {
        let clients = Arc::new(Clients::default());
        let board = Latest::<Snap>::new(2);
        let d = client(&clients, true);
        publish(&board, 1, "a", TableMessages::default());
        publish(&board, 1, "b", TableMessages::default());
        assert_eq!(d.offer(&board, 1), Offer::Sent);
        assert_eq!(written(&d), ["b"]);
        assert!(!woken(&d));
        // Nothing newer: nothing written; another source's slot is empty.
        assert_eq!(d.offer(&board, 1), Offer::Nothing);
        assert_eq!(d.offer(&board, 0), Offer::Nothing);
        let stats = &d.info.stats;
        assert_eq!(stats.snapshots_direct.load(Ordering::Relaxed), 1);
        assert_eq!(stats.snapshots_sent.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn keeps_the_fps_cap_and_counts_what_it_held_as_capped() {
        let clients = Arc::new(Clients::default());
        let board = Latest::<Snap>::new(1);
        let d = client(&clients, true);
        d.out.try_lock().unwrap().subscribed(
            true,
            Some(Duration::from_secs(3600)),
            tokio::time::Instant::now(),
        );
        publish(&board, 0, "a", TableMessages::default());
        assert_eq!(d.offer(&board, 0), Offer::Sent);
        assert!(!woken(&d));
        // Within the interval: held, and the writer woken to send it when it falls due.
        publish(&board, 0, "b", TableMessages::default());
        assert_eq!(d.offer(&board, 0), Offer::Held);
        assert!(woken(&d));
        assert_eq!(written(&d), ["a"]);
        // Due again (as when the writer's deadline passes): the newest goes out, and the
        // one it replaced counts as held back by the cap, not dropped.
        d.out
            .try_lock()
            .unwrap()
            .pace
            .reset(tokio::time::Instant::now());
        publish(&board, 0, "c", TableMessages::default());
        assert_eq!(d.offer(&board, 0), Offer::Sent);
        assert_eq!(written(&d), ["a", "c"]);
        let stats = &d.info.stats;
        assert_eq!(stats.capped.load(Ordering::Relaxed), 1);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(stats.snapshots_direct.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn leaves_other_subscriptions_to_the_writer() {
        let clients = Arc::new(Clients::default());
        let board = Latest::<Snap>::new(1);
        let d = client(&clients, false);
        publish(&board, 0, "a", TableMessages::default());
        assert_eq!(d.offer(&board, 0), Offer::NotDirect);
        assert!(written(&d).is_empty());
        // Seed 002's subscriptions: compressed or with trajectories are not direct; a cap
        // (the web UI's `max_fps`) is kept by the direct path itself.
        let plain = Subscription::default();
        assert!(eligible(&plain));
        assert!(eligible(&Subscription {
            min_interval: Some(Duration::from_millis(100)),
            ..plain
        }));
        for sub in [
            Subscription {
                compress: true,
                ..plain
            },
            Subscription {
                trajectory: true,
                ..plain
            },
            Subscription {
                state: false,
                ..plain
            },
        ] {
            assert!(!eligible(&sub), "{sub:?}");
        }
        // A billiards snapshot goes with its `state` message: the writer sends both.
        let d = client(&clients, true);
        let table = TableMessages {
            state: Some(Payload::new(Bytes::from_static(b"{}"))),
            trajectory: None,
        };
        publish(&board, 0, "b", table);
        assert_eq!(d.offer(&board, 0), Offer::Woken);
        assert!(written(&d).is_empty());
        assert!(woken(&d));
    }

    #[test]
    fn a_busy_writer_or_a_full_socket_is_left_to_the_writer_task() {
        let clients = Arc::new(Clients::default());
        let board = Latest::<Snap>::new(1);
        let d = client(&clients, true);
        publish(&board, 0, "a", TableMessages::default());
        // The writer task is sending: the offer does not wait for it.
        {
            let _writer = d.out.try_lock().unwrap();
            assert_eq!(d.offer(&board, 0), Offer::Woken);
        }
        assert!(woken(&d));
        assert!(written(&d).is_empty());
        // A full socket takes the message into its buffer only: the writer finishes it and
        // no further direct write is tried meanwhile.
        d.out.try_lock().unwrap().sink.full = true;
        assert_eq!(d.offer(&board, 0), Offer::Woken);
        assert!(woken(&d));
        assert!(d.out.try_lock().unwrap().unflushed);
        publish(&board, 0, "b", TableMessages::default());
        assert_eq!(d.offer(&board, 0), Offer::Woken);
        let mut out = d.out.try_lock().unwrap();
        assert!(out.sink.written.is_empty());
        assert!(matches!(&out.sink.buffered, Some(Message::Text(t)) if t.as_str() == "a"));
        // The writer task's flush, once the socket drains.
        out.sink.full = false;
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(
            Pin::new(&mut out.sink).poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        out.unflushed = false;
        drop(out);
        assert_eq!(d.offer(&board, 0), Offer::Sent);
        assert_eq!(written(&d), ["a", "b"]);
    }

    #[test]
    fn writes_to_at_most_max_direct_clients_and_wakes_the_rest() {
        let clients = Arc::new(Clients::default());
        let board = Latest::<Snap>::new(1);
        let list = DirectClients::default();
        let all: Vec<_> = (0..MAX_DIRECT + 3)
            .map(|i| client(&clients, i != 1))
            .collect();
        for (i, d) in all.iter().enumerate() {
            list.add(i as u64, d.clone());
        }
        publish(&board, 0, "a", TableMessages::default());
        assert_eq!(list.offer(&board, 0), MAX_DIRECT);
        for (i, d) in all.iter().enumerate() {
            // Client 1 is not a direct client; MAX_DIRECT of the others are written to.
            let direct = i != 1 && i <= MAX_DIRECT;
            assert_eq!(written(d).len(), usize::from(direct), "client {i}");
            assert_eq!(woken(d), i > MAX_DIRECT, "client {i}");
        }
        // A client that left gets nothing more.
        list.remove(0);
        publish(&board, 0, "b", TableMessages::default());
        list.offer(&board, 0);
        assert_eq!(written(&all[0]), ["a"]);
        assert_eq!(written(&all[2]), ["a", "b"]);
    }
}
