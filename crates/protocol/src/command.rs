//! Client → server messages.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// A command for a stage, a source, `all_cameras` or `pipeline` (seed 000 central dispatch).
///
/// `{"id"?, "target", "payload": {"cmd", "args"}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct Command {
    /// Optional correlation id echoed in the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string | number")]
    pub id: Option<Value>,
    /// A stage id, a source id (`camera_0`), `all_cameras` or `pipeline`.
    pub target: String,
    /// What to do.
    pub payload: CommandPayload,
}

/// The `payload` of a [`Command`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct CommandPayload {
    /// Command name, e.g. `set_params`, `cmd_add_tool`, `run`.
    pub cmd: String,
    /// Command arguments; an object for every built-in command.
    #[serde(default = "empty_object")]
    #[ts(type = "Record<string, unknown>")]
    pub args: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl Command {
    /// A command with no correlation id.
    pub fn new(target: impl Into<String>, cmd: impl Into<String>, args: Value) -> Self {
        Self {
            id: None,
            target: target.into(),
            payload: CommandPayload {
                cmd: cmd.into(),
                args,
            },
        }
    }

    /// The same command carrying a correlation id.
    pub fn with_id(mut self, id: impl Into<Value>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// The seed-001 JSON-RPC alias `{"stage_id","cmd":"UpdateParam","key","value"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateParam {
    #[serde(default)]
    id: Option<Value>,
    stage_id: String,
    cmd: String,
    key: String,
    value: Value,
}

/// Streams a client may subscribe to (seed 002 subscriptions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum StreamKind {
    /// Per-frame snapshots, and seed 002's `state` messages when a billiards pipeline runs.
    State,
    /// Binary JPEG preview frames.
    Video,
    /// Notifications, state changes and other events.
    Events,
    /// Alerts (errors, disabled stages, slow clients); seed 002 spells it `alert`.
    #[serde(alias = "alert")]
    Alerts,
    /// The effective configuration, sent once on subscribe and on change.
    Config,
    /// Seed 002's predicted shots (`trajectory` messages, paced like snapshots).
    Trajectory,
}

/// `{"type":"subscribe","streams":[...],"max_fps":N}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct Subscribe {
    /// The streams wanted; replaces the previous subscription.
    pub streams: Vec<StreamKind>,
    /// Per-client cap on snapshot and video rate; absent means uncapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub max_fps: Option<f64>,
    /// Opt in to compression (seed 002's rule): JSON messages over 1 KiB that deflate to
    /// less than 90 % are sent as binary messages, [`crate::compressed::COMPRESSED_MAGIC`]
    /// followed by a zlib stream. Absent or false: plain text messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub compress: Option<bool>,
}

/// Every message a client may send on `/ws/stream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum ClientMessage {
    /// Change stream subscriptions and rate.
    Subscribe(Subscribe),
    /// A command (also accepted without `"type"`, as seed 000 sends it).
    Command(Command),
    /// Liveness probe; answered with `pong`.
    Ping {
        /// Echoed back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "string | number")]
        id: Option<Value>,
    },
}

/// Why a client message could not be understood.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolError {
    /// The correlation id, when one could be read.
    pub id: Option<Value>,
    /// Human-readable reason.
    pub message: String,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProtocolError {}

impl ClientMessage {
    /// Parses one text message: the tagged forms, a bare seed-000 command, or the seed-001
    /// `UpdateParam` alias (mapped to `set_params` with `{key: value}`).
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ProtocolError {
            id: None,
            message: format!("not valid JSON: {e}"),
        })?;
        Self::from_value(value)
    }

    /// Like [`ClientMessage::parse`], from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ProtocolError> {
        let Value::Object(obj) = &value else {
            return Err(ProtocolError {
                id: None,
                message: "a message must be a JSON object".into(),
            });
        };
        let id = obj.get("id").cloned();
        let err = |message: String| ProtocolError {
            id: id.clone(),
            message,
        };
        if obj.contains_key("type") {
            return serde_json::from_value(value.clone())
                .map_err(|e| err(format!("invalid message: {e}")));
        }
        if obj.contains_key("stage_id") {
            let up: UpdateParam = serde_json::from_value(value.clone())
                .map_err(|e| err(format!("invalid UpdateParam message: {e}")))?;
            if up.cmd != "UpdateParam" {
                return Err(err(format!(
                    "unknown JSON-RPC cmd `{}` (only `UpdateParam` is accepted)",
                    up.cmd
                )));
            }
            let mut args = serde_json::Map::new();
            args.insert(up.key, up.value);
            return Ok(ClientMessage::Command(Command {
                id: up.id,
                target: up.stage_id,
                payload: CommandPayload {
                    cmd: "set_params".into(),
                    args: Value::Object(args),
                },
            }));
        }
        if obj.contains_key("target") {
            return serde_json::from_value(value.clone())
                .map(ClientMessage::Command)
                .map_err(|e| err(format!("invalid command: {e}")));
        }
        Err(err(
            "unrecognised message: expected `type`, a command with `target`, or `stage_id`".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_seed_000_command() {
        let m = ClientMessage::parse(
            r#"{"target":"blob_detection","payload":{"cmd":"set_params","args":{"threshold":120}}}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Command(Command::new(
                "blob_detection",
                "set_params",
                json!({"threshold":120})
            ))
        );
    }

    #[test]
    fn maps_update_param_alias() {
        let m = ClientMessage::parse(
            r#"{"stage_id":"gain1","cmd":"UpdateParam","key":"gain","value":1.5}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Command(Command::new("gain1", "set_params", json!({"gain":1.5})))
        );
    }

    #[test]
    fn tagged_subscribe_and_ping() {
        let m = ClientMessage::parse(
            r#"{"type":"subscribe","streams":["state","video"],"max_fps":10}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Subscribe(Subscribe {
                streams: vec![StreamKind::State, StreamKind::Video],
                max_fps: Some(10.0),
                compress: None,
            })
        );
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"ping","id":3}"#).unwrap(),
            ClientMessage::Ping { .. }
        ));
    }

    #[test]
    fn errors_keep_the_id() {
        for bad in [
            "not json",
            "[1,2]",
            r#"{"id":7,"target":5,"payload":{"cmd":"x"}}"#,
            r#"{"id":7,"target":"a"}"#,
            r#"{"id":7,"stage_id":"a","cmd":"Nope","key":"k","value":1}"#,
            r#"{"id":7,"hello":1}"#,
            r#"{"type":"subscribe","streams":["nope"]}"#,
        ] {
            let e = ClientMessage::parse(bad).unwrap_err();
            assert!(!e.message.is_empty(), "{bad}");
            if bad.contains("\"id\":7") {
                assert_eq!(e.id, Some(json!(7)), "{bad}");
            }
        }
    }
}
