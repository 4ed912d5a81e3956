//! `framebus-test-worker worker --stage ID`: a worker executable for process-isolation
//! tests. `fault` is served by the real worker loop (it crashes, aborts or hangs when armed);
//! `fault_garbage`, `fault_wrong_seq` and `fault_wrong_version` answer the handshake but break
//! the protocol on purpose, so tests see the host refuse them.

use std::process::ExitCode;

use framebus_core::isolation::process::wire::{Channel, WireError, worker_socket};
use framebus_core::isolation::process::worker::serve;
use framebus_core::protocol::worker::{
    FrameResult, HostMessage, PROTOCOL_VERSION, WireFlow, WorkerMessage, WorkerRuntime,
    WorkerStageInfo,
};
use framebus_testkit::process::FAULT_IDS;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let stage = match args.as_slice() {
        [_, w, s, id] if w == "worker" && s == "--stage" => id.clone(),
        _ => {
            eprintln!("usage: framebus-test-worker worker --stage ID");
            return ExitCode::from(2);
        }
    };
    // Keep the fault stages linked.
    let _ = FAULT_IDS;
    let code = if stage == "fault" || !stage.starts_with("fault_") {
        serve(&stage)
    } else {
        misbehave(&stage)
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// Answers the handshake like a worker, then breaks the protocol the way `stage` says.
fn misbehave(stage: &str) -> i32 {
    let Ok(fd) = worker_socket() else {
        return 2;
    };
    let mut chan = Channel::new(fd);
    loop {
        let msg = match chan.recv::<HostMessage>(None) {
            Ok((m, _)) => m,
            Err(WireError::Eof) => return 0,
            Err(_) => return 2,
        };
        let answer = match msg {
            HostMessage::Ping { stage: s, .. } => WorkerMessage::Pong {
                protocol: if stage == "fault_wrong_version" {
                    PROTOCOL_VERSION + 98
                } else {
                    PROTOCOL_VERSION
                },
                stage: s,
                runtime: WorkerRuntime::Rust,
                pid: std::process::id(),
                // No doorbell: these faults travel on the socket alone.
                features: Vec::new(),
            },
            HostMessage::Describe => WorkerMessage::Description {
                info: WorkerStageInfo {
                    id: stage.into(),
                    version: "0.1.0".into(),
                    description: "breaks the protocol".into(),
                    namespace: None,
                    commands: Vec::new(),
                },
                params_schema: serde_json::json!({"type": "object"}),
                params: serde_json::json!({}),
            },
            HostMessage::Init { .. } => WorkerMessage::Ready {
                params: serde_json::json!({}),
            },
            HostMessage::Buffer { .. } | HostMessage::DropBuffer { .. } => continue,
            HostMessage::Frame { seq, frame, .. } => {
                if stage == "fault_garbage" {
                    if chan.send_raw(b"\x00\xffnot json at all{").is_err() {
                        return 0;
                    }
                    continue;
                }
                WorkerMessage::Result(FrameResult {
                    seq: seq + 7,
                    frame_id: frame.frame_id,
                    flow: WireFlow::Continue,
                    output: serde_json::Value::Null,
                    signals: Vec::new(),
                    points: Vec::new(),
                    widgets: Vec::new(),
                    notifications: Vec::new(),
                    error: None,
                    process_us: 0,
                })
            }
            HostMessage::Heartbeat { n } => WorkerMessage::Heartbeat { n },
            HostMessage::Shutdown => {
                let _ = chan.send(&WorkerMessage::Ok, None);
                return 0;
            }
            HostMessage::SetParams { params } => WorkerMessage::Params { params },
            HostMessage::Command { .. } | HostMessage::Reset => WorkerMessage::Ok,
            HostMessage::Spin { .. } => WorkerMessage::Error {
                kind: framebus_core::protocol::worker::WorkerErrorKind::Failed,
                message: "no doorbell in this worker".into(),
            },
        };
        if chan.send(&answer, None).is_err() {
            return 0;
        }
    }
}
