//! REST `/api/v1`: status (health, pipeline, config, diagnostics, plugins) and control
//! (state, commands, per-plugin routes). Every handler is annotated for the OpenAPI
//! document; every error is an [`ApiError`](crate::ApiError) `{code, message}`.
//!
//! - `status`: read-only views of the runtime, the hub and the clients.
//! - `control`: commands (same format and replies as the WebSocket), run state, plugins.
//! - `billiards`: seed 002's vision, calibration and game views of a billiards pipeline.
//! - `recordings`: recordings and clips listed and downloaded (ranges, no path traversal).

mod billiards;
mod control;
mod recordings;
mod status;

use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub(crate) use control::{AckBody, CommandBody, StateBody};
pub(crate) use status::{DiagnosticsBody, HealthBody};

/// The `/api/v1` routes (paths relative to `/api/v1`) with their OpenAPI descriptions.
pub(crate) fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(status::health))
        .routes(routes!(status::pipeline))
        .routes(routes!(status::config))
        .routes(routes!(status::diagnostics))
        .routes(routes!(status::plugins))
        .routes(routes!(control::get_state, control::set_state))
        .routes(routes!(control::command))
        .routes(routes!(control::plugin_instance))
        .routes(routes!(control::get_params, control::set_params))
        .routes(routes!(control::plugin_command))
        .routes(routes!(recordings::recordings))
        .routes(routes!(recordings::clips))
        .routes(routes!(recordings::recording_file))
        .routes(routes!(recordings::clip_file))
        .routes(routes!(billiards::vision))
        .routes(routes!(
            billiards::get_calibration,
            billiards::put_calibration
        ))
        .routes(routes!(billiards::game))
        .routes(routes!(billiards::reset_game))
        .with_state(state)
}

/// The effective config as JSON (with the server settings in force), token redacted.
pub(crate) fn effective_config(state: &AppState) -> Value {
    let mut config = state.runtime().config().clone();
    let server = config.server.insert(state.settings().clone());
    if server.token.is_some() {
        server.token = Some("<redacted>".into());
    }
    serde_json::to_value(&config).unwrap_or(Value::Null)
}
