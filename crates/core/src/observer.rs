//! Observers: where snapshots and events go (the server's hub, a JSONL file, tests).

use std::sync::Arc;

use framebus_protocol::ServerMessage;

use crate::frame::Frame;

/// One serialized snapshot, lent to observers on the pipeline thread.
pub struct SnapshotOut<'a> {
    /// The snapshot as JSON bytes (no trailing newline). Serialized once for everyone.
    pub json: &'a [u8],
    /// The frame the snapshot describes (shared, not copied), e.g. for video preview.
    pub frame: &'a Frame,
    /// Index of the source.
    pub source_index: u32,
    /// The snapshot's sequence number.
    pub sequence: u64,
}

/// Receives snapshots and events. Called on pipeline threads: return quickly, never block.
pub trait Observer: Send + Sync {
    /// A snapshot was built.
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        let _ = snap;
    }
    /// An event (notification, state change, alert).
    fn event(&self, msg: &ServerMessage) {
        let _ = msg;
    }
}

/// The observers of a runtime.
#[derive(Clone, Default)]
pub struct Observers(pub(crate) Arc<[Arc<dyn Observer>]>);

impl Observers {
    /// From a list.
    pub fn new(list: Vec<Arc<dyn Observer>>) -> Self {
        Self(list.into())
    }
    /// Passes an event to every observer.
    pub fn event(&self, msg: &ServerMessage) {
        for o in self.0.iter() {
            o.event(msg);
        }
    }
    /// Passes a snapshot to every observer.
    pub fn snapshot(&self, s: &SnapshotOut<'_>) {
        for o in self.0.iter() {
            o.snapshot(s);
        }
    }
}
