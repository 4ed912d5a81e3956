//! Observers: where snapshots and events go (the server's hub, a JSONL file, tests, the
//! recorder). Observers also see every command a pipeline applied, and may answer commands
//! on a source target that the source itself does not know (the recorder's `save_clip`).

use std::sync::Arc;

use framebus_protocol::{Command, RunState, ServerMessage};
use serde_json::Value;

use crate::command::Reply;
use crate::error::CommandError;
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
    /// The run state the frame was processed in (`recording` frames belong to a recording).
    pub state: RunState,
}

/// A command a pipeline applied (or refused), lent to observers on the pipeline thread
/// right after it was handled and before the next frame.
pub struct CommandApplied<'a> {
    /// Index of the source whose pipeline handled it.
    pub source_index: u32,
    /// The command.
    pub command: &'a Command,
    /// Its reply (`Ok` when it was applied).
    pub reply: &'a Reply,
    /// The run state when it was handled.
    pub state: RunState,
    /// The last frame the pipeline processed before it, if any.
    pub after_frame_id: Option<u64>,
}

/// Where a source's pipeline stands when a command for the source arrives.
#[derive(Debug, Clone, Copy)]
pub struct FrameMark<'a> {
    /// Source id.
    pub source: &'a str,
    /// Index of the source.
    pub source_index: u32,
    /// The last processed frame (`None` before the first).
    pub frame_id: Option<u64>,
    /// Its capture time.
    pub t_ns: Option<u64>,
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
    /// A pipeline handled a command (stage, source and `pipeline` stage commands).
    fn command(&self, applied: &CommandApplied<'_>) {
        let _ = applied;
    }
    /// A command for source `mark.source` that the runtime does not handle itself; return
    /// `Some(reply)` to answer it (the first observer that answers wins).
    fn source_command(
        &self,
        mark: &FrameMark<'_>,
        command: &Command,
    ) -> Option<Result<Value, CommandError>> {
        let _ = (mark, command);
        None
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
    /// Passes an applied command to every observer.
    pub fn command(&self, applied: &CommandApplied<'_>) {
        for o in self.0.iter() {
            o.command(applied);
        }
    }
    /// Offers a source command to the observers; the first answer wins.
    pub fn source_command(
        &self,
        mark: &FrameMark<'_>,
        command: &Command,
    ) -> Option<Result<Value, CommandError>> {
        self.0.iter().find_map(|o| o.source_command(mark, command))
    }
}
