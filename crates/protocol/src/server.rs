//! Server → client JSON messages.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::reply::{Ack, ErrorReply};
use crate::snapshot::{RunState, Snapshot};

/// Severity of a [`Notification`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum NotificationLevel {
    /// Informational.
    Info,
    /// Something to look at.
    Warning,
    /// Something failed.
    Error,
}

/// A toast for the UI (seed 000 `ui.notify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Notification {
    /// Severity.
    pub level: NotificationLevel,
    /// Who raised it (stage or source id, `pipeline`).
    pub source: String,
    /// Short title.
    pub title: String,
    /// Details.
    pub message: String,
}

/// The run state changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StateChanged {
    /// Previous state.
    pub from: RunState,
    /// New state.
    pub to: RunState,
}

/// A source reached the end of its stream (end of file) and will produce no more frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EndOfStream {
    /// Source id (`camera_0`).
    pub source: String,
    /// Frames the source produced.
    #[ts(type = "number")]
    pub frames: u64,
}

/// A clip was written completely (`save_clip`'s file is ready to play and download).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ClipSaved {
    /// The clip id the `save_clip` ack carried.
    pub id: String,
    /// The source it was cut from.
    pub source: String,
    /// The label given with `save_clip` (empty when none).
    pub label: String,
    /// Where the MP4 is, relative to the recordings directory (`clips/<id>.mp4`).
    pub path: String,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Frames in the clip.
    pub frames: u64,
}

/// A recording session was closed (`stop_recording`, `pause` or shutdown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RecordingSaved {
    /// Session name (its folder under the recordings directory).
    pub session: String,
    /// Video frames written, over all sources.
    pub frames: u64,
    /// Frames the encoder could not keep up with (missing from the videos).
    pub dropped: u64,
    /// Total size of the session's files, bytes.
    pub bytes: u64,
}

/// Which edge of a rule's activity a trigger marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TriggerEdge {
    /// The rule became active (`on_rise`).
    Rise,
    /// The rule became inactive (`on_fall`).
    Fall,
    /// `while_active`: the rule became active.
    Begin,
    /// `while_active`: the rule is still active.
    Update,
    /// `while_active`: the rule became inactive.
    End,
}

/// What fired (seed 004's `Trigger`): a rule, on a source, at an observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Trigger {
    /// The rule id.
    pub rule: String,
    /// The source whose observation fired it.
    pub source: String,
    /// The frame of that observation.
    pub frame_id: u64,
    /// Its capture time, ns (observation time, never wall clock).
    pub t_ns: u64,
    /// The edge.
    pub edge: TriggerEdge,
    /// Label given to the clip this trigger asked for (`clip_saved` carries it), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub clip_label: Option<String>,
}

/// Seed 004's `FusionResult`, sent as the `trigger` event when a rule fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FusionResult {
    /// True when this result asks for actions.
    pub should_trigger: bool,
    /// What fired.
    pub trigger: Trigger,
    /// 0..1: how strongly the condition held (share of its parts that held).
    pub score: f64,
    /// Human-readable reason, with the signal values that made it fire.
    pub reason: String,
}

/// Every JSON message the server sends on `/ws/stream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum ServerMessage {
    /// One processed frame.
    Snapshot(Box<Snapshot>),
    /// A command succeeded.
    Ack(Ack),
    /// A command or message failed.
    Error(ErrorReply),
    /// A toast.
    Notification(Notification),
    /// The run state changed.
    StateChanged(StateChanged),
    /// An alert (stage disabled, client too slow, source lost).
    Alert(Notification),
    /// The effective configuration.
    Config {
        /// The config as JSON.
        #[ts(type = "unknown")]
        config: Value,
    },
    /// A source ended (end of file); its pipeline finishes the frames queued.
    EndOfStream(EndOfStream),
    /// A clip is complete.
    ClipSaved(ClipSaved),
    /// A fusion rule fired.
    Trigger(FusionResult),
    /// A recording session is complete.
    RecordingSaved(RecordingSaved),
    /// Reply to `ping`.
    Pong {
        /// Echo of the ping id.
        #[ts(type = "string | number | null")]
        id: Option<Value>,
    },
}
