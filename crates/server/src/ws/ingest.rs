//! `/ws/ingest/{source_id}`: browser camera frames (seed 003) into a `browser` source.
//!
//! Each message is one image: a binary message holding JPEG (or PNG) bytes, or the seed-003
//! JSON `{"image": "data:image/jpeg;base64,…", "sequence": n, "timestamp": t}`. The source's
//! [`Ingest`] decodes it (on a blocking thread), stamps it with a monotonic time of arrival
//! and puts it in its latest-wins slot. Every frame is answered: an `ack` whose `id` is the
//! sequence (when given) and whose `result` holds the source's counters (and, when the
//! server knows the runtime's clock, `t_ns: [lo, hi]`: the frame's `t_ns` in its snapshot
//! lies in that range, so the sender can match results to the frames it sent), or an `error`
//! (`too_large`, `bad_message`, `bad_args` for an undecodable image). A bad frame never
//! closes the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use base64::Engine;
use bytes::Bytes;
use framebus_core::source::Ingest;
use framebus_protocol::{Ack, ErrorCode, ServerMessage};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::timeout;

use crate::AppState;
use crate::commands::{error, to_json};
use crate::ws::client::{ClientGuard, CloseCause, SendStats};

/// Ingest counters over all connections (the sources count their own drops and rejects).
#[derive(Debug, Default)]
pub(crate) struct IngestStats {
    /// Frames received.
    pub(crate) received: AtomicU64,
    /// Frames the source accepted.
    pub(crate) accepted: AtomicU64,
    /// Frames refused (too large, malformed, undecodable).
    pub(crate) refused: AtomicU64,
    /// Bytes of image data received.
    pub(crate) bytes: AtomicU64,
}

/// The seed-003 JSON frame.
#[derive(Debug, Deserialize)]
struct JsonFrame {
    image: String,
    #[serde(default)]
    sequence: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    timestamp: Option<Value>,
}

/// Why a frame was refused: (sequence, code, message).
type Refusal = (Option<Value>, ErrorCode, String);

fn decode_json(text: &str, max: usize) -> Result<(Option<Value>, Vec<u8>), Refusal> {
    let frame: JsonFrame = serde_json::from_str(text).map_err(|e| {
        let id = serde_json::from_str::<Value>(text).ok().and_then(|v| v.get("sequence").cloned());
        (id, ErrorCode::BadMessage, format!("expected {{\"image\": \"data:image/jpeg;base64,...\", \"sequence\", \"timestamp\"}}: {e}"))
    })?;
    let id = frame.sequence;
    let b64 = match frame.image.split_once(',') {
        Some((head, data)) if head.starts_with("data:") && head.ends_with(";base64") => data,
        Some(_) => {
            return Err((
                id,
                ErrorCode::BadMessage,
                "`image` must be a base64 data URL".into(),
            ));
        }
        None => frame.image.as_str(),
    };
    // Refuse before decoding what would be too large anyway.
    if b64.len() / 4 * 3 > max + 3 {
        return Err((
            id,
            ErrorCode::TooLarge,
            format!("image exceeds the limit of {max} bytes"),
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| {
            (
                id.clone(),
                ErrorCode::BadMessage,
                format!("`image` is not valid base64: {e}"),
            )
        })?;
    Ok((id, bytes))
}

/// Serves one ingest connection until it closes, idles out or the server shuts down.
pub(crate) async fn serve_ingest<S, R>(
    mut sink: S,
    mut stream: R,
    state: AppState,
    source_id: String,
    ingest: Arc<dyn Ingest>,
    guard: ClientGuard,
) where
    S: Sink<Message, Error = axum::Error> + Unpin + Send,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin + Send,
{
    let shared = state.inner.clone();
    let max = shared.settings.max_ingest_bytes;
    let idle = Duration::from_secs(shared.settings.idle_timeout_s.max(1));
    let slow = Duration::from_secs(shared.settings.slow_client_timeout_s.max(1));
    let stats = &shared.ingest;
    let client = &guard.info.stats;
    let cause = loop {
        let next = tokio::select! {
            _ = shared.shutdown.cancelled() => break CloseCause::Shutdown,
            n = timeout(idle, stream.next()) => n,
        };
        let msg = match next {
            Err(_) => break CloseCause::Idle,
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => {
                break CloseCause::Peer;
            }
            Ok(Some(Ok(m))) => m,
        };
        SendStats::add(&client.messages_received, 1);
        let frame = match msg {
            Message::Binary(b) if b.len() > max => Err((
                None,
                ErrorCode::TooLarge,
                format!(
                    "frame of {} bytes exceeds the limit of {max} bytes",
                    b.len()
                ),
            )),
            Message::Binary(b) => Ok((None, b)),
            Message::Text(t) => decode_json(&t, max).map(|(id, v)| (id, Bytes::from(v))),
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => continue,
        };
        stats.received.fetch_add(1, Ordering::Relaxed);
        let reply = match frame {
            Err((id, code, message)) => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                SendStats::add(&client.bad_messages, 1);
                ServerMessage::Error(error(id, code, message))
            }
            Ok((id, bytes)) if bytes.len() > max => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                SendStats::add(&client.bad_messages, 1);
                let m = format!(
                    "frame of {} bytes exceeds the limit of {max} bytes",
                    bytes.len()
                );
                ServerMessage::Error(error(id, ErrorCode::TooLarge, m))
            }
            Ok((id, bytes)) => {
                stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                let ing = ingest.clone();
                let clock = shared.clock.clone();
                // The source stamps the frame inside `push`, on the runtime's clock: the
                // clock read just before and just after brackets that stamp.
                let pushed = tokio::task::spawn_blocking(move || {
                    let lo = clock.as_ref().map(|c| c.now_ns());
                    let r = ing.push(&bytes);
                    let window = lo.zip(clock.as_ref().map(|c| c.now_ns()));
                    (r, window)
                })
                .await;
                match pushed {
                    Ok((Ok(()), window)) => {
                        stats.accepted.fetch_add(1, Ordering::Relaxed);
                        let mut result = json!({
                            "received": stats.received.load(Ordering::Relaxed),
                            "dropped": ingest.dropped(),
                            "rejected": ingest.rejected(),
                        });
                        if let Some((lo, hi)) = window {
                            result["t_ns"] = json!([lo, hi]);
                        }
                        ServerMessage::Ack(Ack {
                            id,
                            target: source_id.clone(),
                            cmd: "frame".into(),
                            result,
                        })
                    }
                    Ok((Err(e), _)) => {
                        stats.refused.fetch_add(1, Ordering::Relaxed);
                        SendStats::add(&client.bad_messages, 1);
                        ServerMessage::Error(error(id, e.code, e.message))
                    }
                    Err(e) => {
                        stats.refused.fetch_add(1, Ordering::Relaxed);
                        ServerMessage::Error(error(
                            id,
                            ErrorCode::Internal,
                            format!("decoder failed: {e}"),
                        ))
                    }
                }
            }
        };
        let json = to_json(&reply);
        let len = json.len();
        let text = Utf8Bytes::try_from(json).unwrap_or_else(|_| Utf8Bytes::from_static("{}"));
        match timeout(slow, sink.send(Message::Text(text))).await {
            Ok(Ok(())) => client.sent(len),
            Ok(Err(_)) => break CloseCause::Peer,
            Err(_) => break CloseCause::Slow,
        }
    };
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    let msg = match cause {
        CloseCause::Shutdown => Some(close(1001, "server shutting down")),
        CloseCause::Idle => Some(close(1001, "idle timeout")),
        CloseCause::Slow => Some(close(1008, "too slow: the client stopped reading")),
        CloseCause::Peer => None,
    };
    if let Some(m) = msg {
        let _ = timeout(Duration::from_millis(500), sink.send(m)).await;
    } else {
        let _ = timeout(Duration::from_millis(200), sink.close()).await;
    }
    guard.closed(cause);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_frames() {
        let (id, bytes) = decode_json(
            r#"{"image":"data:image/jpeg;base64,/9j/","sequence":4,"timestamp":1.5}"#,
            100,
        )
        .unwrap();
        assert_eq!(id, Some(json!(4)));
        assert_eq!(bytes, vec![0xff, 0xd8, 0xff]);
        let e = decode_json(
            r#"{"image":"data:image/jpeg;base64,@@@","sequence":5}"#,
            100,
        )
        .unwrap_err();
        assert_eq!((e.0, e.1), (Some(json!(5)), ErrorCode::BadMessage));
        let e = decode_json(r#"{"sequence":6}"#, 100).unwrap_err();
        assert_eq!((e.0, e.1), (Some(json!(6)), ErrorCode::BadMessage));
        let big = format!(
            r#"{{"image":"data:image/jpeg;base64,{}"}}"#,
            "A".repeat(400)
        );
        assert_eq!(decode_json(&big, 100).unwrap_err().1, ErrorCode::TooLarge);
        assert_eq!(
            decode_json("nope", 100).unwrap_err().1,
            ErrorCode::BadMessage
        );
    }
}
