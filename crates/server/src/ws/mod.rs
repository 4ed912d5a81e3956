//! WebSocket endpoints: `/ws/stream` (snapshots, events, video, commands) and
//! `/ws/ingest/{source_id}` (browser camera frames).
//!
//! - `stream`: one client's reader and writer, generic over `Sink`/`Stream`.
//! - `direct`: the publishing thread's own writes of a new snapshot to the first clients.
//! - `pace`: a client's fps cap on snapshots and video.
//! - `ingest`: browser frames into a `browser` source.
//! - [`client`]: per-client subscription, send metrics and the client registry.

pub(crate) mod client;
pub(crate) mod direct;
pub(crate) mod ingest;
pub(crate) mod pace;
pub(crate) mod stream;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use framebus_protocol::ErrorCode;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::security;

/// The peer address, when the server was started with connect info (tests with `oneshot`
/// have none).
pub(crate) struct Remote(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".into(), |c| c.0.to_string()),
        ))
    }
}

/// `?token=` on WebSocket URLs.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

/// The WebSocket routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws/stream", get(stream_upgrade))
        .route("/ws/ingest/{source_id}", get(ingest_upgrade))
        .with_state(state)
}

/// Read chunk of `/ws/stream` connections (tungstenite's default is 128 KiB).
const STREAM_READ_BUFFER: usize = 8 * 1024;

/// The largest message the WebSocket layer reads at all; larger ones close the connection
/// (1009). Messages between `max_message_bytes` and this are read and answered `too_large`.
pub(crate) fn hard_cap(soft: usize) -> usize {
    soft.saturating_mul(16).max(1 << 20)
}

/// The checks every WebSocket upgrade passes first (token, Origin); a refusal is counted.
fn admit(state: &AppState, headers: &HeaderMap, token: Option<&str>) -> Result<(), Response> {
    let s = &state.inner;
    security::check_ws(&s.settings, headers, token).map_err(|e| {
        s.clients
            .refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        e.into_response()
    })
}

async fn stream_upgrade(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let s = &state.inner;
    if let Err(refused) = admit(&state, &headers, q.token.as_deref()) {
        return refused;
    }
    if s.shutdown.is_cancelled() {
        return ApiError::new(ErrorCode::Unavailable, "shutting down").into_response();
    }
    let Some(guard) = s.clients.register("stream", remote, s.settings.max_clients) else {
        return ApiError::new(ErrorCode::Unavailable, "too many clients").into_response();
    };
    let cap = hard_cap(s.settings.max_message_bytes);
    let tasks = s.tasks.clone();
    // Commands are small: read in small chunks (each read attempt fills its buffer).
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .read_buffer_size(STREAM_READ_BUFFER)
        .on_upgrade(move |socket| {
            tasks.track_future(async move {
                use futures_util::StreamExt;
                let (sink, stream) = socket.split();
                stream::serve_client(sink, stream, state, guard).await;
            })
        })
}

async fn ingest_upgrade(
    State(state): State<AppState>,
    Remote(remote): Remote,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let s = &state.inner;
    if let Err(refused) = admit(&state, &headers, q.token.as_deref()) {
        return refused;
    }
    let Some(ingest) = s.runtime.ingest(&source_id) else {
        return ApiError::not_found(format!(
            "no source `{source_id}` that accepts pushed frames (kind `browser`)"
        ))
        .into_response();
    };
    let Some(guard) = s.clients.register("ingest", remote, s.settings.max_clients) else {
        return ApiError::new(ErrorCode::Unavailable, "too many clients").into_response();
    };
    // Base64 JSON is 4/3 of the frame plus a little.
    let cap = s.settings.max_ingest_bytes.saturating_mul(2).max(1 << 20);
    let tasks = s.tasks.clone();
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .on_upgrade(move |socket| {
            tasks.track_future(async move {
                use futures_util::StreamExt;
                let (sink, stream) = socket.split();
                ingest::serve_ingest(sink, stream, state, source_id, ingest, guard).await;
            })
        })
}
