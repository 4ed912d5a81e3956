//! framebus-protocol: the wire contract between the framebus runtime, its server and every
//! client (the web UI, scripts, tests). Messages are closed, tagged serde enums; the web UI's
//! TypeScript types are generated from these definitions (`cargo test -p framebus-protocol`
//! writes them to `web/src/protocol/`), never retyped by hand.
//!
//! # Layout
//! - [`command`]: client → server commands (canonical seed-000 form and the seed-001
//!   `UpdateParam` alias), subscriptions, and [`ClientMessage::parse`] with precise errors.
//! - [`reply`]: acks, errors and the closed set of [`ErrorCode`]s.
//! - [`snapshot`]: the per-frame snapshot packet (seed 000 fields plus framebus additions).
//! - [`server`]: every server → client JSON message as one tagged enum.
//! - [`table`]: seed 002's billiards `state` and `trajectory` messages.
//! - [`video`]: the small binary header in front of JPEG preview frames.
//! - [`compressed`]: the binary form of a compressed JSON message (opt-in, seed 002).
//! - [`worker`]: the worker protocol between framebus and process-isolated stages.

pub mod command;
pub mod compressed;
pub mod reply;
pub mod server;
pub mod snapshot;
pub mod table;
pub mod video;
pub mod worker;

pub use command::{ClientMessage, Command, CommandPayload, ProtocolError, StreamKind, Subscribe};
pub use reply::{Ack, ErrorCode, ErrorReply};
pub use server::{
    ClipSaved, EndOfStream, FusionResult, Notification, NotificationLevel, RecordingSaved,
    ServerMessage, StateChanged, Trigger, TriggerEdge,
};
pub use snapshot::{
    ActivePlugin, Observation, RulePhase, RuleStatus, RunState, Snapshot, StageError, Widget,
};
pub use table::{TableBall, TablePosition, TableState, TableTrajectory, TableVelocity};
pub use video::VideoHeader;
