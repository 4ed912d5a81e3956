//! The hub: the bridge from the runtime's pipeline threads to the async clients.
//!
//! The runtime calls the hub's [`Observer`] on pipeline threads. It never blocks there: a
//! snapshot's JSON is copied once into shared bytes and swapped into its source's latest-wins
//! slot, written at once to the first few clients whose sockets take it without waiting
//! (`ws::direct`), and then the other clients' writer tasks are woken; an event is serialized once and put on a bounded broadcast ring; the frame goes to
//! the video encoder only while someone watches. Clients read all of it at their own pace.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_protocol::{ServerMessage, StreamKind};
use tokio::sync::broadcast;

use crate::latest::{Latest, Numbered};
use crate::payload::Payload;
use crate::video::{PreviewSettings, VideoShared};
use crate::ws::direct::DirectClients;

/// Events kept for clients that fall behind; older ones are dropped (and counted) for them.
const EVENT_RING: usize = 256;

/// One snapshot, serialized once by the pipeline and shared by every client.
#[derive(Debug)]
pub(crate) struct Snap {
    /// The JSON (and its compressed form on demand).
    pub(crate) payload: Payload,
    /// Per-source publish number (1, 2, …), to count what a client skipped.
    pub(crate) number: u64,
    /// When the hub received it (for send lag).
    pub(crate) published: Instant,
    /// Seed 002's `state` and `trajectory` messages built from it (billiards pipelines).
    pub(crate) table: crate::table::TableMessages,
}

impl Numbered for Snap {
    fn number(&self) -> u64 {
        self.number
    }
}

/// One event (notification, state change, alert), serialized once.
#[derive(Debug)]
pub(crate) struct EventMsg {
    /// `Events` or `Alerts`.
    pub(crate) stream: StreamKind,
    /// The JSON.
    pub(crate) payload: Payload,
}

/// Shared state behind [`Hub`].
pub(crate) struct HubInner {
    /// Latest snapshot per source.
    pub(crate) snapshots: Latest<Snap>,
    /// Events for every client.
    pub(crate) events: broadcast::Sender<Arc<EventMsg>>,
    /// Video preview: the latest frame, the encoder, the latest JPEG per source.
    pub(crate) video: Arc<VideoShared>,
    /// Events published.
    pub(crate) events_published: AtomicU64,
    /// `/ws/stream` clients a publishing thread may write a snapshot to itself.
    pub(crate) direct: DirectClients,
}

/// Receives snapshots and events from the runtime and holds the latest of each for clients.
/// Create it before the runtime, pass [`Hub::observer`] in `RuntimeOptions::observers`.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<HubInner>,
}

impl Hub {
    /// A hub for `sources` sources (the config's source count) with video preview settings.
    /// Starts the video encoder thread, which sleeps until a client subscribes to video.
    pub fn new(sources: usize, preview: PreviewSettings) -> Self {
        let video = VideoShared::start(sources, preview);
        Self {
            inner: Arc::new(HubInner {
                snapshots: Latest::new(sources),
                events: broadcast::channel(EVENT_RING).0,
                video,
                events_published: AtomicU64::new(0),
                direct: DirectClients::default(),
            }),
        }
    }

    /// The observer to hand to the runtime.
    pub fn observer(&self) -> Arc<dyn Observer> {
        Arc::new(HubObserver(self.inner.clone()))
    }

    /// Number of sources.
    pub fn sources(&self) -> usize {
        self.inner.snapshots.len()
    }

    /// Snapshots received from the runtime so far.
    pub fn snapshots_published(&self) -> u64 {
        self.inner.snapshots.published()
    }

    /// Events received or emitted so far.
    pub fn events_published(&self) -> u64 {
        self.inner.events_published.load(Ordering::Relaxed)
    }

    /// Preview frames encoded so far.
    pub fn video_encoded(&self) -> u64 {
        self.inner.video.encoded()
    }

    /// Sends an event to every subscribed client (e.g. an alert raised by the server).
    pub fn emit(&self, msg: &ServerMessage) {
        self.inner.event(msg);
    }
}

impl HubInner {
    fn event(&self, msg: &ServerMessage) {
        let stream = match msg {
            ServerMessage::Alert(_) => StreamKind::Alerts,
            ServerMessage::Config { .. } => StreamKind::Config,
            // Per-client or per-frame messages never travel as events.
            ServerMessage::Snapshot(_)
            | ServerMessage::State(_)
            | ServerMessage::Trajectory(_)
            | ServerMessage::Ack(_)
            | ServerMessage::Error(_)
            | ServerMessage::Pong { .. } => return,
            // Notifications, state changes and any event kind added later.
            _ => StreamKind::Events,
        };
        let Ok(json) = serde_json::to_vec(msg) else {
            return;
        };
        self.events_published.fetch_add(1, Ordering::Relaxed);
        // No receivers is fine: nobody is connected.
        let _ = self.events.send(Arc::new(EventMsg {
            stream,
            payload: Payload::new(Bytes::from(json)),
        }));
    }
}

/// The runtime-facing side of the hub.
struct HubObserver(Arc<HubInner>);

impl Observer for HubObserver {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        let slot = s.source_index as usize;
        let hub = &self.0;
        if slot >= hub.snapshots.len() {
            return;
        }
        let snap = Snap {
            table: crate::table::TableMessages::from_snapshot(s.json),
            payload: Payload::new(Bytes::copy_from_slice(s.json)),
            number: hub.snapshots.next_number(slot),
            published: Instant::now(),
        };
        // The first clients get it from this thread before any writer task is woken.
        if hub.snapshots.store(slot, Arc::new(snap)) {
            hub.direct.offer(&hub.snapshots, slot);
            hub.snapshots.wake();
        }
        // Sample pipelines lend an empty frame: nothing to encode.
        if s.frame.width > 0 {
            hub.video.offer(slot, s.frame);
        }
    }

    fn event(&self, msg: &ServerMessage) {
        self.0.event(msg);
    }
}
