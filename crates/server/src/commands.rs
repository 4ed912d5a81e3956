//! Commands from clients (WebSocket or REST) into the runtime's command bus, and their
//! replies as server messages. The bus calls back on a pipeline thread; a oneshot brings the
//! reply back to the async side.

use std::time::Duration;

use bytes::Bytes;
use framebus_core::command::{CommandBus, Reply};
use framebus_protocol::{Command, ErrorCode, ErrorReply, ServerMessage};
use serde_json::Value;

/// How long a command may wait for its pipeline (a stalled stage, a paused source).
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `cmd` to the bus and waits (asynchronously) for its reply.
pub(crate) async fn execute(bus: &CommandBus, cmd: Command) -> Reply {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let id = cmd.id.clone();
    bus.send(cmd, move |r| {
        let _ = tx.send(r);
    });
    match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(_)) => Err(error(
            id,
            ErrorCode::Unavailable,
            "the pipeline dropped the command",
        )),
        Err(_) => Err(error(
            id,
            ErrorCode::Unavailable,
            format!("no reply within {} s", COMMAND_TIMEOUT.as_secs()),
        )),
    }
}

/// An error reply.
pub(crate) fn error(id: Option<Value>, code: ErrorCode, message: impl Into<String>) -> ErrorReply {
    ErrorReply {
        id,
        code,
        message: message.into(),
    }
}

/// A reply as the server message a client receives.
pub(crate) fn reply_message(reply: Reply) -> ServerMessage {
    match reply {
        Ok(ack) => ServerMessage::Ack(ack),
        Err(e) => ServerMessage::Error(e),
    }
}

/// Serializes a server message.
pub(crate) fn to_json(msg: &ServerMessage) -> Bytes {
    match serde_json::to_vec(msg) {
        Ok(v) => Bytes::from(v),
        Err(e) => Bytes::from(format!(
            r#"{{"type":"error","id":null,"code":"internal","message":"cannot serialize a reply: {e}"}}"#
        )),
    }
}
