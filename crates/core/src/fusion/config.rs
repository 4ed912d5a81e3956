//! The `[[rules]]` and `[trace]` config: conditions, edges, durations and actions, checked
//! before anything starts (errors name the field, e.g. `rules[0].for`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `[[rules]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Rule id (names it in triggers, traces and clip labels).
    pub id: String,
    /// The source whose observations it watches; absent means every source, each on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The condition.
    pub when: CondConfig,
    /// How long `when` must hold (observation time) before the rule turns active (`"0.5s"`).
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub sustain: Option<String>,
    /// How long the clear condition must hold before the rule turns inactive again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_after: Option<String>,
    /// The condition that clears an active rule (a separate off threshold); default `not when`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_when: Option<CondConfig>,
    /// Least time between two firings (`"10s"`); a firing due inside it waits for its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<String>,
    /// Which edge fires: `on_rise` (default), `on_fall`, `while_active` (begin/update/end).
    #[serde(default)]
    pub edge: EdgeKind,
    /// `while_active`: least time between two `update` triggers (default `"1s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_every: Option<String>,
    /// What to do when it fires.
    #[serde(default)]
    pub actions: Vec<ActionConfig>,
}

/// When a rule fires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// When it turns active.
    #[default]
    OnRise,
    /// When it turns inactive.
    OnFall,
    /// When it turns active (`begin`), while it stays active (`update`), and at its end.
    WhileActive,
}

/// A condition. Exactly one subject (`signal`, `field`, `count`, `point`) with its test, or
/// one of `all`, `any`, `not`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CondConfig {
    /// A signal published this frame (`knee_angle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// A field of a stage result: `namespace.path.to.number` (array items by index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The length of an array in a stage result (`blob_detection.blobs`): detections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<String>,
    /// A named point published this frame (`left_wrist`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<String>,
    /// Value `>` this.
    #[serde(default, alias = ">", skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// Value `<` this.
    #[serde(default, alias = "<", skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// Value within `[lo, hi]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[f64; 2]>,
    /// Value `==` this (a number, a bool or a string for result fields).
    #[serde(default, alias = "==", skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// `point`: inside this polygon zone (pixels, at least 3 vertices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside: Option<Vec<[f64; 2]>>,
    /// `point`: higher in the image (smaller y) than this other point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub higher_than: Option<String>,
    /// `point`: lower in the image (larger y) than this other point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_than: Option<String>,
    /// `signal` as another source last published it (a cross-source rule): the value from
    /// that source's latest observation. Default: the observation being evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// With `source`: its value counts while its observation is at most this far (before or
    /// after) from the one being evaluated (`"1s"` by default); older, the test fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// Every one holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<CondConfig>>,
    /// At least one holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<CondConfig>>,
    /// It does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<CondConfig>>,
}

/// An action of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionConfig {
    /// Cut a clip on the source (its `save_clip`); overlapping requests make one clip.
    SaveClip(SaveClipAction),
    /// A UI toast; `{signal}` in `title` and `message` is replaced by the signal's value.
    Notify(NotifyAction),
    /// A JSON POST of the trigger, retried with backoff behind a circuit breaker.
    Webhook(WebhookAction),
    /// A command on the bus (`{ target = "pipeline", cmd = "disable_stage", args = {…} }`).
    Command(CommandAction),
}

/// `save_clip`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveClipAction {
    /// Seconds before the trigger.
    #[serde(default = "three")]
    pub pre_s: f64,
    /// Seconds after the trigger.
    #[serde(default = "two")]
    pub post_s: f64,
    /// The source to cut from (default: the trigger's source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn three() -> f64 {
    3.0
}
fn two() -> f64 {
    2.0
}

/// `notify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyAction {
    /// `info`, `warning` or `error`.
    #[serde(default = "info")]
    #[schemars(with = "String")]
    pub level: framebus_protocol::NotificationLevel,
    /// Title.
    pub title: String,
    /// Message.
    #[serde(default)]
    pub message: String,
}

fn info() -> framebus_protocol::NotificationLevel {
    framebus_protocol::NotificationLevel::Info
}

/// `webhook`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookAction {
    /// `http://host:port/path` (plain HTTP; put a TLS proxy in front for HTTPS).
    pub url: String,
    /// Extra request headers.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Attempts per call (first try included).
    #[serde(default = "four")]
    pub attempts: u32,
    /// First retry delay, ms; doubles each retry.
    #[serde(default = "hundred")]
    pub backoff_ms: u64,
    /// Per-attempt timeout, ms.
    #[serde(default = "two_thousand")]
    pub timeout_ms: u64,
    /// Failed calls in a row that open the circuit breaker.
    #[serde(default = "three_u32")]
    pub breaker_failures: u32,
    /// How long an open breaker skips calls before letting one through, ms.
    #[serde(default = "five_thousand")]
    pub breaker_open_ms: u64,
}

fn three_u32() -> u32 {
    3
}
fn five_thousand() -> u64 {
    5000
}

fn four() -> u32 {
    4
}
fn hundred() -> u64 {
    100
}
fn two_thousand() -> u64 {
    2000
}

/// `command`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandAction {
    /// Target (stage id, source id, `pipeline`, `all_cameras`).
    pub target: String,
    /// Command name.
    pub cmd: String,
    /// Arguments.
    #[serde(default = "empty")]
    pub args: Value,
}

fn empty() -> Value {
    Value::Object(Default::default())
}

/// `[trace]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TraceConfig {
    /// How much to record.
    pub level: TraceLevel,
    /// Where to write it.
    pub sinks: Vec<TraceSinkConfig>,
}

impl TraceConfig {
    /// True at level `off`.
    pub fn is_off(&self) -> bool {
        self.level == TraceLevel::Off
    }
}

/// Trace detail (seed 004's levels).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TraceLevel {
    /// Nothing (no formatting, no allocation).
    #[default]
    Off,
    /// Triggers.
    Minimal,
    /// Triggers, per-frame summaries and rule state changes.
    Normal,
    /// All of that plus every signal and stage timing.
    Verbose,
}

/// A trace sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TraceSinkConfig {
    /// JSON lines appended to a file.
    Jsonl {
        /// The file.
        path: std::path::PathBuf,
    },
    /// JSON lines on stderr.
    Console {},
}

/// Parses `"0.5s"`, `"250ms"`, `"2m"`, `"1h"` into nanoseconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (write e.g. \"0.5s\" or \"250ms\")"))?;
    let scale = match unit.trim() {
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "`{s}` has no unit ms, s, m or h (write e.g. \"0.5s\")"
            ));
        }
    };
    let ns = v * scale;
    if !(0.0..=86_400e9).contains(&ns) {
        return Err(format!("`{s}` is out of range 0..24h"));
    }
    Ok(ns as u64)
}
