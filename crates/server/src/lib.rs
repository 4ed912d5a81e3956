//! framebus-server: the live face of a running [`Runtime`]. It streams every snapshot,
//! event and video preview frame to WebSocket clients (`/ws/stream`), takes their commands,
//! accepts browser webcam frames (`/ws/ingest/{source}`), serves the REST API (`/api/v1`),
//! Prometheus metrics (`/metrics`), the OpenAPI document and the embedded web UI.
//!
//! Build the [`Hub`] first and give its observer to the runtime; then
//! [`AppState::new`] → [`app`] (a plain `Router`, for tests) or [`run`] (serve a bound
//! listener until a `CancellationToken` fires). [`serve`] does it all for the CLI.
//!
//! # Layout
//! - [`hub`]: the runtime observer; latest snapshot per source, the event ring.
//! - `latest`: latest-wins slots with a generation counter (lock-free for writers).
//! - `payload`: JSON serialized once, compressed at most once (seed 002's 1 KiB rule).
//! - [`video`]: the preview encoder thread (once per frame, only while someone watches).
//! - `ws`: `/ws/stream` (per-client writer/reader, fps caps, slow-client policy),
//!   `/ws/ingest/{source}` (browser frames), per-client state and send metrics.
//! - `rest`: `/api/v1` handlers; `openapi`: the OpenAPI document built from them.
//! - `metrics`: Prometheus text exposition.
//! - `security`: token, Origin and loopback checks.
//! - `commands`: commands into the bus and replies back, shared by WS and REST.
//! - [`error`]: `ApiError` (JSON `{code, message}` with the right status) and [`Error`].
//! - [`serve`]: bind, print, serve, shut down on SIGINT/SIGTERM (used by `framebus`).
//! - [`trace`]: per-send timestamps for latency benchmarks (off unless enabled).
//! - [`ui`]: the embedded web UI (mounted as the fallback).

mod commands;
pub mod error;
pub mod hub;
mod latest;
mod metrics;
mod openapi;
mod payload;
mod rest;
mod security;
pub mod serve;
mod table;
pub mod trace;
pub mod ui;
pub mod video;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use framebus_core::clock::Clock;
use framebus_core::config::ServerConfig;
use framebus_core::runtime::Runtime;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use error::{ApiError, Error, Result};
pub use hub::Hub;
pub use serve::{ServeOptions, serve};
pub use video::PreviewSettings;
pub use ws::client::{ClientTotals, ClientView, SendCounts};
pub use ws::direct::set_direct_sends;

/// How long [`run`] waits for WebSocket connections to close after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) hub: Hub,
    pub(crate) settings: ServerConfig,
    pub(crate) clients: Arc<ws::client::Clients>,
    pub(crate) ingest: ws::ingest::IngestStats,
    /// Cancelled when the server shuts down: WebSocket tasks send close frames and end.
    pub(crate) shutdown: CancellationToken,
    /// WebSocket tasks, awaited by [`run`] before it returns.
    pub(crate) tasks: TaskTracker,
    pub(crate) started: Instant,
    plugin_routes: Vec<(String, Router)>,
    /// The recorder, when recordings and clips are written (see [`AppState::with_recorder`]).
    pub(crate) recorder: Option<Arc<framebus_media::Recorder>>,
    /// The runtime's clock, when known (see [`AppState::with_clock`]): ingest replies then
    /// say between which times the frame was stamped.
    pub(crate) clock: Option<Arc<dyn Clock>>,
}

impl AppState {
    /// State for serving `runtime`, whose observers include `hub.observer()`.
    pub fn new(runtime: Arc<Runtime>, hub: Hub, settings: ServerConfig) -> Self {
        Self {
            inner: Arc::new(Shared {
                runtime,
                hub,
                settings,
                clients: Default::default(),
                ingest: Default::default(),
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
                started: Instant::now(),
                plugin_routes: Vec::new(),
                recorder: None,
                clock: None,
            }),
        }
    }

    /// Adds routes of plugin instance `id` under `/api/v1/plugins/{id}/` (seed 000's
    /// per-plugin router). Call before [`app`]. They take precedence over the generic
    /// per-plugin routes and sit behind the same token check.
    pub fn with_plugin_routes(mut self, id: impl Into<String>, routes: Router) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.plugin_routes.push((id.into(), routes)),
            None => tracing::warn!("with_plugin_routes called after the state was shared; ignored"),
        }
        self
    }

    /// Serves the recorder's status with `/api/v1/recordings` (the files are listed from the
    /// runtime config's `recordings_dir` either way). Call before [`app`].
    pub fn with_recorder(mut self, recorder: Arc<framebus_media::Recorder>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.recorder = Some(recorder),
            None => tracing::warn!("with_recorder called after the state was shared; ignored"),
        }
        self
    }

    /// The clock the runtime was started with (`RuntimeOptions::clock`). With it, each
    /// `/ws/ingest` ack carries `t_ns: [lo, hi]`, the range of that clock within which the
    /// frame was stamped, so a client can find the snapshot of a frame it sent by its `t_ns`
    /// (the browser's frame age at result). Call before [`app`].
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.clock = Some(clock),
            None => tracing::warn!("with_clock called after the state was shared; ignored"),
        }
        self
    }

    /// The runtime being served.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.inner.runtime
    }

    /// The hub.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The server settings.
    pub fn settings(&self) -> &ServerConfig {
        &self.inner.settings
    }

    /// Totals over every WebSocket client since start.
    pub fn client_totals(&self) -> ClientTotals {
        self.inner.clients.totals()
    }

    /// Every connected WebSocket client.
    pub fn clients(&self) -> Vec<ClientView> {
        self.inner.clients.views()
    }

    /// Begins shutdown: WebSocket clients get a close frame. [`run`] also does this when its
    /// token fires.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.cancel();
    }
}

/// The whole HTTP app: WebSocket endpoints, REST API, metrics, OpenAPI and the UI fallback.
pub fn app(state: AppState) -> Router {
    let mut api = openapi::api(state.clone());
    for (id, routes) in state.inner.plugin_routes.clone() {
        api = api.nest(&format!("/api/v1/plugins/{id}"), routes);
    }
    let api = api
        .route("/api/v1/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::require_token,
        ));
    Router::new()
        .merge(api)
        .merge(metrics::router(state.clone()))
        .merge(ws::router(state.clone()))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.inner.settings.max_message_bytes,
        ))
        .fallback_service(ui::router())
}

async fn api_method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = ApiError::bad_message(format!("{method} is not allowed on `{}`", uri.path()));
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no API route `{}`", uri.path()))
}

/// Serves `app(state)` on `listener` until `shutdown` is cancelled, then sends close frames
/// to WebSocket clients and waits (up to 3 s) for their connections to end.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = app(state.clone());
    let inner = state.inner.clone();
    let linked = shutdown.clone();
    let link = tokio::spawn(async move {
        linked.cancelled().await;
        inner.shutdown.cancel();
    });
    // Snapshots are small and latency matters: no Nagle delay behind delayed ACKs.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let result = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await;
    state.inner.shutdown.cancel();
    link.abort();
    state.inner.tasks.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, state.inner.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some WebSocket connections did not close in time");
    }
    result
}
