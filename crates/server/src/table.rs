//! Seed 002's `state` and `trajectory` messages, built once per snapshot from the results of
//! a billiards pipeline and shared by every subscribed client like the snapshot itself.
//!
//! The server does not depend on the stages: it reads the snapshot JSON it already has. The
//! results are looked up under the stages' default namespaces, `ball_tracking` (tracked balls
//! and cue, `framebus_billiards::TrackedBalls`), `table_detection` (the table) and
//! `trajectory` (the predicted shot). A snapshot without `ball_tracking` has no `state`
//! message, one without `trajectory` no `trajectory` message; other pipelines pay one
//! substring scan per snapshot.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use framebus_protocol::{
    ServerMessage, TableBall, TablePosition, TableState, TableTrajectory, TableVelocity,
};
use serde::Deserialize;
use serde_json::Value;

use crate::payload::Payload;

/// The table messages of one snapshot (both absent for non-billiards pipelines).
#[derive(Debug, Default)]
pub(crate) struct TableMessages {
    /// `{"type":"state",…}`.
    pub(crate) state: Option<Payload>,
    /// `{"type":"trajectory",…}`.
    pub(crate) trajectory: Option<Payload>,
}

#[derive(Deserialize)]
struct Partial {
    source: String,
    sequence: u64,
    results: Results,
}

#[derive(Deserialize)]
struct Results {
    ball_tracking: Option<Tracked>,
    table_detection: Option<Value>,
    trajectory: Option<Predicted>,
}

#[derive(Deserialize)]
struct Tracked {
    #[serde(default)]
    balls: Vec<Ball>,
    #[serde(default)]
    cue: Value,
}

#[derive(Deserialize)]
struct Ball {
    id: String,
    x: f64,
    y: f64,
    #[serde(default)]
    vx: f64,
    #[serde(default)]
    vy: f64,
    #[serde(default)]
    at_rest: bool,
    #[serde(default)]
    pocketed: bool,
}

#[derive(Deserialize)]
struct Predicted {
    #[serde(default)]
    active: bool,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    paths: Vec<Value>,
    #[serde(default)]
    collisions: Vec<Value>,
    #[serde(default)]
    pockets: Vec<Value>,
}

/// Whether `needle` occurs in `hay` (SIMD substring search: this runs twice over every
/// snapshot, on the pipeline thread before the publish; 12 KB for a sensor snapshot).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

fn payload(msg: &ServerMessage) -> Option<Payload> {
    serde_json::to_vec(msg)
        .ok()
        .map(|v| Payload::new(Bytes::from(v)))
}

impl TableMessages {
    /// The messages for one snapshot's JSON; empty when it holds no billiards results.
    pub(crate) fn from_snapshot(json: &[u8]) -> Self {
        if !contains(json, b"\"ball_tracking\"") && !contains(json, b"\"trajectory\"") {
            return Self::default();
        }
        let Ok(p) = serde_json::from_slice::<Partial>(json) else {
            return Self::default();
        };
        let timestamp = iso8601(SystemTime::now());
        let scale = p
            .results
            .table_detection
            .as_ref()
            .and_then(|t| t.get("px_per_m"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let state = p.results.ball_tracking.map(|t| {
            let balls = t
                .balls
                .into_iter()
                .map(|b| TableBall {
                    id: b.id,
                    position: TablePosition {
                        x: b.x,
                        y: b.y,
                        scale,
                    },
                    velocity: TableVelocity { x: b.vx, y: b.vy },
                    at_rest: b.at_rest,
                    pocketed: b.pocketed,
                })
                .collect();
            ServerMessage::State(Box::new(TableState {
                source: p.source.clone(),
                balls,
                cue: t.cue,
                table: p.results.table_detection.clone().unwrap_or(Value::Null),
                timestamp: timestamp.clone(),
                sequence: p.sequence,
            }))
        });
        let trajectory = p.results.trajectory.map(|t| {
            ServerMessage::Trajectory(Box::new(TableTrajectory {
                source: p.source.clone(),
                active: t.active,
                reason: t.reason,
                lines: t.paths,
                collisions: t.collisions,
                pockets: t.pockets,
                timestamp,
                sequence: p.sequence,
            }))
        });
        Self {
            state: state.as_ref().and_then(payload),
            trajectory: trajectory.as_ref().and_then(payload),
        }
    }
}

/// `t` as ISO 8601 UTC with milliseconds (`2026-12-01T22:30:05.123Z`).
pub(crate) fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn iso8601_formats_known_instants() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_250);
        assert_eq!(iso8601(t), "2024-02-29T23:59:59.250Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn builds_state_and_trajectory_from_results_only_when_present() {
        let other = br#"{"source":"camera_0","sequence":3,"results":{"blob_detection":{}}}"#;
        let m = TableMessages::from_snapshot(other);
        assert!(m.state.is_none() && m.trajectory.is_none());
        let json = br#"{"source":"camera_0","sequence":7,"results":{
            "table_detection":{"found":true,"px_per_m":320.5},
            "ball_tracking":{"balls":[{"id":"cue","x":0.5,"y":0.4,"vx":1.0,"vy":-2.0,"at_rest":false}],"cue":null},
            "trajectory":{"active":true,"reason":"","paths":[{"id":"cue","points":[[0.5,0.4],[1.0,0.4]]}],
              "collisions":[{"t":0.1,"type":"ball_ball","agents":["cue","1"],"x":1.0,"y":0.4}],"pockets":[]}}}"#;
        let m = TableMessages::from_snapshot(json);
        let state: Value = serde_json::from_slice(m.state.unwrap().text().as_bytes()).unwrap();
        assert_eq!(state["type"], "state");
        assert_eq!(state["sequence"], 7);
        assert_eq!(state["balls"][0]["position"]["scale"], 320.5);
        assert_eq!(state["balls"][0]["velocity"]["y"], -2.0);
        assert_eq!(state["table"]["found"], true);
        let tr: Value = serde_json::from_slice(m.trajectory.unwrap().text().as_bytes()).unwrap();
        assert_eq!(tr["type"], "trajectory");
        assert_eq!(tr["lines"][0]["points"][1][0], 1.0);
        assert_eq!(tr["collisions"][0]["agents"][1], "1");
    }
}
