//! Seed 002's table messages (`state`, `trajectory`): built by the server once per snapshot
//! from the results of the billiards stages (`ball_tracking`, `table_detection`,
//! `trajectory`) and sent to clients subscribed to the `state` / `trajectory` streams.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// A position on the table, metres in the table frame (`x` along the long side).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TablePosition {
    /// Along the long side, m.
    pub x: f64,
    /// Along the short side, m.
    pub y: f64,
    /// Pixels per metre of the camera at this point (seed 002's `scale`; 0 when unknown).
    pub scale: f64,
}

/// A velocity in the table frame, m/s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TableVelocity {
    /// m/s along x.
    pub x: f64,
    /// m/s along y.
    pub y: f64,
}

/// One tracked ball of a [`TableState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TableBall {
    /// Stable identity ("cue", "8", "1" … "15", or a track number).
    pub id: String,
    /// Centre.
    pub position: TablePosition,
    /// Velocity.
    pub velocity: TableVelocity,
    /// The tracker considers the ball at rest.
    pub at_rest: bool,
    /// No longer on the table.
    pub pocketed: bool,
}

/// Seed 002's `state` message: the tracked balls, the cue and the table of one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TableState {
    /// Source id (`camera_0`).
    pub source: String,
    /// Tracked balls.
    pub balls: Vec<TableBall>,
    /// The cue line (`{"tip":[x,y],"angle_deg","ball"}`, metres), or null when none.
    #[ts(type = "unknown")]
    pub cue: Value,
    /// The table geometry (`table_detection`'s result), or null when not detected.
    #[ts(type = "unknown")]
    pub table: Value,
    /// Wall-clock time the message was built, ISO 8601 UTC.
    pub timestamp: String,
    /// The snapshot's sequence number.
    #[ts(type = "number")]
    pub sequence: u64,
}

/// Seed 002's `trajectory` message: the predicted shot of one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TableTrajectory {
    /// Source id.
    pub source: String,
    /// A prediction is shown (the cue is aimed at the resting cue ball).
    pub active: bool,
    /// Why not, when inactive.
    pub reason: String,
    /// One polyline per moving ball: `[{"id","points":[[x,y],…]}]`, metres.
    #[ts(type = "unknown[]")]
    pub lines: Vec<Value>,
    /// Collision points: `[{"t","type","agents","x","y"}]`.
    #[ts(type = "unknown[]")]
    pub collisions: Vec<Value>,
    /// Balls predicted to drop: `[{"ball","pocket","t","x","y"}]`.
    #[ts(type = "unknown[]")]
    pub pockets: Vec<Value>,
    /// Wall-clock time, ISO 8601 UTC.
    pub timestamp: String,
    /// The snapshot's sequence number.
    #[ts(type = "number")]
    pub sequence: u64,
}
