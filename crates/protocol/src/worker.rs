//! The worker protocol (version [`PROTOCOL_VERSION`]): messages between framebus (the host)
//! and a stage running in a child process (`framebus worker` or the Python SDK's
//! `python -m framebus.worker`). One message is one `SOCK_SEQPACKET` datagram holding one
//! JSON object tagged by `"type"`; pixels travel in shared memory (memfds passed with
//! `SCM_RIGHTS` on [`HostMessage::Buffer`]), never in these messages. The contract is
//! `docs/worker_protocol.md`; [`schema`] is exported to `python/framebus/wire_schema.json`
//! (a test fails when that file is stale) so the Python SDK checks itself against it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::snapshot::RunState;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 2;

/// The feature a worker lists in [`WorkerMessage::Pong`]'s `features` when it can spin on a
/// shared doorbell ([`HostMessage::Spin`]).
pub const FEATURE_SPIN: &str = "spin";

/// The feature a worker lists beside [`FEATURE_SPIN`] when it can also take and give
/// messages through the doorbell's slots ([`HostMessage::Spin`]'s `slot_bytes`).
pub const FEATURE_SLOTS: &str = "slots";

/// The largest datagram either side sends or accepts, bytes.
pub const MAX_DATAGRAM: usize = 4 * 1024 * 1024;

/// Host → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HostMessage {
    /// Handshake: the protocol version and the stage the host wants.
    Ping {
        /// Protocol version ([`PROTOCOL_VERSION`]).
        protocol: u32,
        /// Stage id (a registered Rust plugin id or a Python stage's `id`).
        stage: String,
    },
    /// Asks for the stage's description, params schema and default params.
    Describe,
    /// Builds the stage instance.
    Init {
        /// The stage instance id in the config.
        id: String,
        /// The source whose pipeline runs it.
        source: String,
        /// Params from the config (validated by the worker).
        params: Value,
    },
    /// Registers a shared-memory buffer; its memfd travels as `SCM_RIGHTS`. No answer.
    Buffer {
        /// Buffer id, unique for the host's lifetime.
        buffer: u64,
        /// Length to map, bytes.
        len: u64,
    },
    /// Unmaps a buffer registered before. No answer.
    DropBuffer {
        /// Buffer id.
        buffer: u64,
    },
    /// Processes one frame whose pixels are in a registered buffer.
    Frame {
        /// Request number; the result must carry the same.
        seq: u64,
        /// Buffer holding the pixels.
        buffer: u64,
        /// Offset of the first pixel in the buffer, bytes.
        offset: u64,
        /// Frame metadata.
        frame: FrameMeta,
        /// The run state.
        state: RunState,
        /// Named points published by earlier stages this frame.
        points: Vec<WirePoint>,
    },
    /// Applies params (partial or full).
    SetParams {
        /// Params to merge into those in force.
        params: Value,
    },
    /// Runs a custom command.
    Command {
        /// Command name.
        name: String,
        /// Its args.
        args: Value,
    },
    /// Clears the stage's accumulated state.
    Reset,
    /// Liveness check, sent after 1 s of silence.
    Heartbeat {
        /// Echoed back.
        n: u64,
    },
    /// Stops the stage; the worker answers `ok` and exits 0.
    Shutdown,
    /// Only to a worker whose pong listed `"spin"`: the memfd of the control block travels
    /// as `SCM_RIGHTS` (map it read-write, shared). The worker answers `ok` or `error` (no
    /// doorbell). After `ok` each side adds 1 to its u64 message counter for every message
    /// it sends (the host's at byte 0, the worker's at byte 128; atomic, native endianness)
    /// and busy-polls the other's for up to `spin_us` before sleeping on the socket. With
    /// `slot_bytes` (only to a worker that also listed `"slots"`), messages may travel in
    /// the block's slots instead of the socket: see `docs/worker_protocol.md`.
    Spin {
        /// The longest busy-poll per wait, µs.
        spin_us: u64,
        /// Bytes of each of the two message slots after the first page (0 or absent: no
        /// slots; every message travels on the socket).
        #[serde(default, skip_serializing_if = "is_zero")]
        slot_bytes: u64,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Worker → host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkerMessage {
    /// Handshake answer.
    Pong {
        /// Protocol version the worker speaks.
        protocol: u32,
        /// The stage it serves.
        stage: String,
        /// What runs the stage.
        runtime: WorkerRuntime,
        /// The worker's process id.
        pid: u32,
        /// Optional features it supports (`"spin"`: [`HostMessage::Spin`]; `"slots"`: its
        /// `slot_bytes`).
        #[serde(default)]
        features: Vec<String>,
    },
    /// The worker cannot serve (unknown stage, unsupported protocol); it exits with code 2.
    Fatal {
        /// Why.
        message: String,
    },
    /// Answer to `describe`.
    Description {
        /// Static facts about the stage.
        info: WorkerStageInfo,
        /// JSON Schema of its params.
        params_schema: Value,
        /// Default params.
        params: Value,
    },
    /// Answer to `init`: the params in force.
    Ready {
        /// Params in force.
        params: Value,
    },
    /// A request failed.
    Error {
        /// What kind of failure.
        kind: WorkerErrorKind,
        /// Why.
        message: String,
    },
    /// Answer to `frame`.
    Result(FrameResult),
    /// Answer to `set_params`: the params in force.
    Params {
        /// Params in force.
        params: Value,
    },
    /// Answer to `command`.
    Reply {
        /// The command's reply value.
        value: Value,
    },
    /// Answer to `reset` and `shutdown`.
    Ok,
    /// Answer to `heartbeat`.
    Heartbeat {
        /// The host's `n`.
        n: u64,
    },
}

/// What runs a worker's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerRuntime {
    /// The Python SDK.
    Python,
    /// `framebus worker`.
    Rust,
}

/// Kinds of [`WorkerMessage::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerErrorKind {
    /// Args or params failed validation.
    BadArgs,
    /// The stage failed.
    Failed,
    /// No such command.
    UnknownCommand,
}

/// A stage's static facts, as `describe` reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerStageInfo {
    /// Stage id.
    pub id: String,
    /// Version.
    pub version: String,
    /// One line on what it does.
    pub description: String,
    /// Results namespace; `null` means the instance id.
    pub namespace: Option<String>,
    /// Custom commands.
    pub commands: Vec<WorkerCommandSpec>,
}

/// A custom command in a [`WorkerStageInfo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerCommandSpec {
    /// Name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its args.
    pub args_schema: Value,
    /// Refused with `busy` while recording.
    pub locked_while_recording: bool,
}

/// Pixel layouts on the wire (`gray8` (h,w), `rgb8`/`bgr8` (h,w,3), `yuyv` (h,w,2), `nv12`
/// (h+h/2 rows of w)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireFormat {
    /// 8-bit luma.
    Gray8,
    /// 8-bit R, G, B.
    Rgb8,
    /// 8-bit B, G, R.
    Bgr8,
    /// Packed 4:2:2.
    Yuyv,
    /// Y plane then interleaved UV.
    Nv12,
}

/// Frame metadata in a [`HostMessage::Frame`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameMeta {
    /// Per-source frame number.
    pub frame_id: u64,
    /// Source id.
    pub source: String,
    /// Index of the source in the config.
    pub source_index: u32,
    /// Monotonic capture time, nanoseconds.
    pub t_ns: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per row.
    pub stride: u64,
    /// Pixel layout.
    pub format: WireFormat,
}

/// A named point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WirePoint {
    /// Name.
    pub name: String,
    /// X in pixels.
    pub x: f64,
    /// Y in pixels.
    pub y: f64,
    /// Confidence 0..1.
    pub score: f64,
}

/// A scalar signal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireSignal {
    /// Name.
    pub name: String,
    /// Value.
    pub value: f64,
}

/// A dashboard widget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireWidget {
    /// Id (the host prefixes the stage id when it is not already there).
    pub id: String,
    /// Label.
    pub label: String,
    /// Value, or null when not valid this frame.
    pub value: Option<f64>,
    /// Unit.
    pub unit: String,
    /// Minimum of the range.
    pub min: Option<f64>,
    /// Maximum of the range.
    pub max: Option<f64>,
}

/// Severity of a [`WireNotification`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireLevel {
    /// Informational.
    #[default]
    Info,
    /// Something to look at.
    Warning,
    /// Something failed.
    Error,
    /// Something worked (shown as info).
    Success,
}

/// A toast raised by the stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireNotification {
    /// Severity.
    pub level: WireLevel,
    /// Title.
    pub title: String,
    /// Body.
    pub message: String,
}

/// What the pipeline does after the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireFlow {
    /// Run the next stage.
    Continue,
    /// Skip the remaining stages for this frame.
    Skip,
}

/// The answer to one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameResult {
    /// The frame request's `seq`.
    pub seq: u64,
    /// The frame's `frame_id`.
    pub frame_id: u64,
    /// What the pipeline does next.
    pub flow: WireFlow,
    /// The stage's result under its namespace (any JSON, or null).
    pub output: Value,
    /// Signals published.
    pub signals: Vec<WireSignal>,
    /// Points published.
    pub points: Vec<WirePoint>,
    /// Widgets published.
    pub widgets: Vec<WireWidget>,
    /// Notifications raised.
    pub notifications: Vec<WireNotification>,
    /// The stage's error for this frame (the other fields are then ignored).
    pub error: Option<String>,
    /// Time the stage took, microseconds.
    pub process_us: u64,
}

/// The `"type"` of a [`ResultMessage`]: always `"result"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultTag {
    /// `"result"`.
    Result,
}

/// [`WorkerMessage::Result`] as a plain struct, for the per-frame path: the same JSON, parsed
/// straight into its fields (serde buffers every field of an internally tagged enum first,
/// which allocates per string and key). The host tries it before [`WorkerMessage`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultMessage {
    /// `"result"`.
    #[serde(rename = "type")]
    pub kind: ResultTag,
    /// See [`FrameResult::seq`].
    pub seq: u64,
    /// See [`FrameResult::frame_id`].
    pub frame_id: u64,
    /// See [`FrameResult::flow`].
    pub flow: WireFlow,
    /// See [`FrameResult::output`].
    pub output: Value,
    /// See [`FrameResult::signals`].
    pub signals: Vec<WireSignal>,
    /// See [`FrameResult::points`].
    pub points: Vec<WirePoint>,
    /// See [`FrameResult::widgets`].
    pub widgets: Vec<WireWidget>,
    /// See [`FrameResult::notifications`].
    pub notifications: Vec<WireNotification>,
    /// See [`FrameResult::error`].
    pub error: Option<String>,
    /// See [`FrameResult::process_us`].
    pub process_us: u64,
}

impl From<ResultMessage> for FrameResult {
    fn from(m: ResultMessage) -> Self {
        Self {
            seq: m.seq,
            frame_id: m.frame_id,
            flow: m.flow,
            output: m.output,
            signals: m.signals,
            points: m.points,
            widgets: m.widgets,
            notifications: m.notifications,
            error: m.error,
            process_us: m.process_us,
        }
    }
}

/// Serializes exactly as `WorkerMessage::Result(result.clone())` would, without the clone
/// (the Rust worker's per-frame answer).
#[derive(Debug, Serialize)]
pub struct ResultRef<'a> {
    /// `"result"`.
    #[serde(rename = "type")]
    pub kind: ResultTag,
    /// The answer.
    #[serde(flatten)]
    pub result: &'a FrameResult,
}

/// The `"type"` of a [`FrameMessage`]: always `"frame"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameTag {
    /// `"frame"`.
    Frame,
}

/// [`HostMessage::Frame`] as a plain struct (see [`ResultMessage`]): what the Rust worker
/// tries first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameMessage {
    /// `"frame"`.
    #[serde(rename = "type")]
    pub kind: FrameTag,
    /// Request number.
    pub seq: u64,
    /// Buffer holding the pixels.
    pub buffer: u64,
    /// Offset of the first pixel, bytes.
    pub offset: u64,
    /// Frame metadata.
    pub frame: FrameMeta,
    /// The run state.
    pub state: RunState,
    /// Named points published by earlier stages this frame.
    pub points: Vec<WirePoint>,
}

/// The JSON Schema of both directions, as written to `python/framebus/wire_schema.json`:
/// `$defs.HostMessage` and `$defs.WorkerMessage` (plus the types they use); the root accepts
/// either.
pub fn schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let host = generator.subschema_for::<HostMessage>();
    let worker = generator.subschema_for::<WorkerMessage>();
    let defs: serde_json::Map<String, Value> = generator
        .definitions()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "framebus worker protocol",
        "description": "Messages between framebus and a worker process (docs/worker_protocol.md). Generated from crates/protocol/src/worker.rs; do not edit.",
        "protocol": PROTOCOL_VERSION,
        "oneOf": [host, worker],
        "$defs": defs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_match_the_protocol_doc() {
        let ping: HostMessage =
            serde_json::from_value(json!({"type":"ping","protocol":1,"stage":"py_brightness"}))
                .unwrap();
        assert_eq!(
            ping,
            HostMessage::Ping {
                protocol: 1,
                stage: "py_brightness".into()
            }
        );
        let frame = json!({"type":"frame","seq":42,"buffer":7,"offset":0,"frame":{"frame_id":100,
            "source":"camera_0","source_index":0,"t_ns":123456789,"width":640,"height":480,
            "stride":1920,"format":"rgb8"},"state":"running","points":[{"name":"hip","x":1.0,"y":2.0,
            "score":0.9}]});
        let m: HostMessage = serde_json::from_value(frame.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), frame);
        let result = json!({"type":"result","seq":42,"frame_id":100,"flow":"continue",
            "output":{"a":1},"signals":[{"name":"bright","value":0.25}],
            "points":[],"widgets":[{"id":"w","label":"W","value":1.0,"unit":"","min":null,"max":null}],
            "notifications":[{"level":"success","title":"t","message":"m"}],
            "error":null,"process_us":123});
        let m: WorkerMessage = serde_json::from_value(result.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), result);
        for text in [
            json!({"type":"ok"}),
            json!({"type":"pong","protocol":2,"stage":"s","runtime":"rust","pid":1234,
                "features":["spin"]}),
            json!({"type":"error","kind":"unknown_command","message":"m"}),
            json!({"type":"description","info":{"id":"py","version":"0.1.0","description":"d",
                "namespace":null,"commands":[{"name":"calibrate","description":"c",
                "args_schema":{},"locked_while_recording":false}]},"params_schema":{},"params":{}}),
        ] {
            let m: WorkerMessage = serde_json::from_value(text.clone()).unwrap();
            assert_eq!(serde_json::to_value(&m).unwrap(), text);
        }
        // A pong without `features` (a worker with none) reads as an empty list.
        let bare: WorkerMessage = serde_json::from_value(
            json!({"type":"pong","protocol":2,"stage":"s","runtime":"python","pid":1}),
        )
        .unwrap();
        assert!(matches!(bare, WorkerMessage::Pong { features, .. } if features.is_empty()));
        let spin = json!({"type":"spin","spin_us":200});
        let m: HostMessage = serde_json::from_value(spin.clone()).unwrap();
        assert_eq!(
            m,
            HostMessage::Spin {
                spin_us: 200,
                slot_bytes: 0
            }
        );
        assert_eq!(serde_json::to_value(&m).unwrap(), spin);
        let slots = json!({"type":"spin","spin_us":200,"slot_bytes":65536});
        let m: HostMessage = serde_json::from_value(slots.clone()).unwrap();
        assert_eq!(
            m,
            HostMessage::Spin {
                spin_us: 200,
                slot_bytes: 65536
            }
        );
        assert_eq!(serde_json::to_value(&m).unwrap(), slots);
        // Unknown fields and types are refused, not ignored.
        assert!(
            serde_json::from_value::<WorkerMessage>(json!({"type":"heartbeat","n":1,"x":1}))
                .is_err()
        );
        assert!(serde_json::from_value::<WorkerMessage>(json!({"type":"hello"})).is_err());
    }

    /// The per-frame structs read and write exactly the JSON of the enum variants they stand
    /// for, and refuse what those refuse.
    #[test]
    fn per_frame_structs_match_the_enum_messages() {
        let result = json!({"type":"result","seq":42,"frame_id":100,"flow":"skip",
            "output":{"a":[1,2]},"signals":[{"name":"bright","value":0.25}],
            "points":[{"name":"p","x":1.0,"y":2.0,"score":0.5}],"widgets":[],
            "notifications":[{"level":"info","title":"t","message":"m"}],
            "error":null,"process_us":7});
        let fast: ResultMessage = serde_json::from_value(result.clone()).unwrap();
        let WorkerMessage::Result(slow) = serde_json::from_value(result.clone()).unwrap() else {
            panic!("a result");
        };
        let fast = FrameResult::from(fast);
        assert_eq!(fast, slow);
        let out = ResultRef {
            kind: ResultTag::Result,
            result: &fast,
        };
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            serde_json::to_string(&WorkerMessage::Result(slow)).unwrap()
        );
        let mut extra = result.clone();
        extra["x"] = json!(1);
        assert!(serde_json::from_value::<ResultMessage>(extra).is_err());
        assert!(serde_json::from_value::<ResultMessage>(json!({"type":"ok"})).is_err());
        let frame = HostMessage::Frame {
            seq: 1,
            buffer: 2,
            offset: 0,
            frame: FrameMeta {
                frame_id: 3,
                source: "camera_0".into(),
                source_index: 0,
                t_ns: 4,
                width: 8,
                height: 1,
                stride: 8,
                format: WireFormat::Gray8,
            },
            state: RunState::Running,
            points: vec![],
        };
        let text = serde_json::to_string(&frame).unwrap();
        let fast: FrameMessage = serde_json::from_str(&text).unwrap();
        let HostMessage::Frame { frame: meta, .. } = frame else {
            unreachable!()
        };
        assert_eq!((fast.seq, fast.buffer, fast.frame), (1, 2, meta));
        assert!(serde_json::from_str::<FrameMessage>(r#"{"type":"reset"}"#).is_err());
    }

    /// The Python SDK validates against `python/framebus/wire_schema.json`; this test
    /// rewrites it and fails when the committed file was stale (commit the new file).
    #[test]
    fn python_wire_schema_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../python/framebus/wire_schema.json"
        );
        let want = serde_json::to_string_pretty(&schema()).unwrap() + "\n";
        let have = std::fs::read_to_string(path).unwrap_or_default();
        if have != want {
            std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
            std::fs::write(path, &want).unwrap();
            panic!("{path} was stale and has been regenerated: commit it");
        }
    }
}
