//! The per-frame snapshot (seed 000's packet plus framebus additions).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::server::Notification;

/// Run state of the runtime (seed 001's recording lock lives in `Recording`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    Default,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RunState {
    /// Frames are not processed; commands still are.
    Paused,
    /// Frames are processed; parameters change live.
    #[default]
    Running,
    /// Frames are processed; parameter changes are refused with `busy`.
    Recording,
}

impl RunState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Running => "running",
            Self::Recording => "recording",
        }
    }
}

/// One entry of `active_plugins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActivePlugin {
    /// Stage id.
    pub id: String,
    /// Time spent in the stage for this frame, milliseconds.
    pub performance_ms: f64,
    /// False once the stage was disabled after repeated failures.
    pub enabled: bool,
    /// For a `mode = "latest"` stage: the frame its carried result was computed on (absent
    /// for other stages, and until its first result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub frame_id: Option<u64>,
    /// For a `mode = "latest"` stage: how much older than this snapshot's frame its result
    /// is, milliseconds of capture time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub age_ms: Option<f64>,
}

/// Seed 004's `Observation`: what one stage saw in one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Observation {
    /// The stage (seed 004's extractor) that made it.
    pub source: String,
    /// The frame it was made on (for a `latest` stage, the frame it last finished).
    #[ts(type = "number")]
    pub frame_id: u64,
    /// That frame's capture time, nanoseconds.
    #[ts(type = "number")]
    pub t_ns: u64,
    /// The signals the stage published.
    #[ts(type = "Record<string, number>")]
    pub signals: BTreeMap<String, f64>,
    /// The namespace of its result in the snapshot's `results`, if it wrote one.
    pub data: Option<String>,
    /// Its timings, milliseconds (`process_ms`).
    #[ts(type = "Record<string, number>")]
    pub timing: BTreeMap<String, f64>,
}

/// One entry of `errors`: a stage that failed on this frame or is disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StageError {
    /// Stage id.
    pub stage: String,
    /// The error or panic message.
    pub message: String,
    /// Consecutive failures so far.
    pub consecutive: u32,
    /// True once the stage is disabled.
    pub disabled: bool,
}

/// A dashboard widget published by a stage (a value with optional range).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Widget {
    /// Unique id (`stage.tool`).
    pub id: String,
    /// Label to show.
    pub label: String,
    /// Current value, or null when not valid this frame.
    pub value: Option<f64>,
    /// Unit (`deg`, `px`, …).
    pub unit: String,
    /// Minimum over the stage's window.
    pub min: Option<f64>,
    /// Maximum over the stage's window.
    pub max: Option<f64>,
}

/// The snapshot sent once per processed frame to every `state` subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Snapshot {
    /// Per-source frame number, strictly increasing.
    #[ts(type = "number")]
    pub frame_id: u64,
    /// Index of the source in the config (seed 000's integer camera id).
    pub camera_id: u32,
    /// Source id (`camera_0`).
    pub source: String,
    /// Frame width in pixels (result coordinates are in this frame's pixels).
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Monotonic capture time of the frame, nanoseconds.
    #[ts(type = "number")]
    pub t_ns: u64,
    /// Snapshot counter over the whole runtime, strictly increasing.
    #[ts(type = "number")]
    pub sequence: u64,
    /// Processed frames per second (smoothed).
    pub fps: f64,
    /// Run state.
    pub state: RunState,
    /// Stage results by namespace.
    #[ts(type = "Record<string, any>")]
    pub results: BTreeMap<String, Value>,
    /// Scalar signals published by stages (`knee_angle`).
    #[ts(type = "Record<string, number>")]
    pub signals: BTreeMap<String, f64>,
    /// Dashboard widgets.
    pub widgets: Vec<Widget>,
    /// Notifications raised while processing this frame.
    pub notifications: Vec<Notification>,
    /// Every stage with its time for this frame.
    pub active_plugins: Vec<ActivePlugin>,
    /// What each stage that ran saw in this frame (seed 004's observations).
    #[serde(default)]
    pub observations: Vec<Observation>,
    /// Stages that failed on this frame or are disabled.
    pub errors: Vec<StageError>,
    /// Frames dropped so far on each edge, by edge name.
    #[ts(type = "Record<string, number>")]
    pub dropped: BTreeMap<String, u64>,
    /// Where each fusion rule watching this source stands (empty without `[[rules]]`).
    #[serde(default)]
    pub rules: Vec<RuleStatus>,
}

/// A fusion rule's phase, for the highlights panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RulePhase {
    /// Waiting for its condition.
    Armed,
    /// Its condition holds; waiting out `for`.
    Pending,
    /// Active (fired, or `while_active` between begin and end).
    Active,
    /// Fired recently; a new firing waits for `cooldown` to pass.
    CoolingDown,
}

impl RulePhase {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Armed => "armed",
            Self::Pending => "pending",
            Self::Active => "active",
            Self::CoolingDown => "cooling_down",
        }
    }
}

/// One fusion rule on one source: its phase and how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RuleStatus {
    /// Rule id from the config.
    pub id: String,
    /// Where it stands at this frame.
    pub phase: RulePhase,
    /// Times it fired on this source so far.
    #[ts(type = "number")]
    pub fired: u64,
    /// Frame of its last firing, if any.
    #[ts(type = "number | null")]
    pub last_frame_id: Option<u64>,
}
