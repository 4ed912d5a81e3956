//! REST views of a billiards pipeline (seed 002): `/vision` (latest detection results),
//! `/calibration` (GET the table calibration, PUT four corners → `table_detection`'s
//! `calibrate` command) and `/game` (`game_state`'s result). Results are read from the latest
//! snapshot of the first source under the stages' default namespaces; the server does not
//! depend on the stages. `POST /game/reset` sends the generic `reset` command to the
//! `game_state` stage through the command bus (a new game).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use framebus_protocol::{Command, CommandPayload};
use serde_json::{Map, Value, json};

use super::control::{body_json, reply_response};
use crate::AppState;
use crate::commands::execute;
use crate::error::ApiError;

/// The latest snapshot's `results` of the first source (empty before the first frame).
fn latest_results(state: &AppState) -> Map<String, Value> {
    let Some(snap) = state.inner.hub.inner.snapshots.get(0) else {
        return Map::new();
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(snap.payload.text().as_bytes()) else {
        return Map::new();
    };
    match v.get_mut("results").map(Value::take) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn pick(results: &mut Map<String, Value>, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        out.insert((*k).to_string(), results.remove(*k).unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// Latest detection results: table, balls, cue and tracks (null where a stage is absent).
#[utoipa::path(get, path = "/vision", tag = "billiards",
    responses((status = 200, description = "table_detection, ball_detection, cue_detection, ball_tracking results", body = Object)))]
pub(crate) async fn vision(State(state): State<AppState>) -> Json<Value> {
    let mut r = latest_results(&state);
    Json(pick(
        &mut r,
        &[
            "table_detection",
            "ball_detection",
            "cue_detection",
            "ball_tracking",
        ],
    ))
}

/// The table calibration: whether a table is known, `calibrated` or `detected`, the four
/// playing-area corners and pockets in pixels, the scale.
#[utoipa::path(get, path = "/calibration", tag = "billiards",
    responses((status = 200, description = "Table calibration (null fields before detection)", body = Object)))]
pub(crate) async fn get_calibration(State(state): State<AppState>) -> Json<Value> {
    let mut r = latest_results(&state);
    let t = r.remove("table_detection").unwrap_or(Value::Null);
    Json(json!({
        "found": t.get("found").cloned().unwrap_or(Value::Bool(false)),
        "source": t.get("source").cloned().unwrap_or(Value::Null),
        "corners": t.get("corners").cloned().unwrap_or(Value::Null),
        "pockets": t.get("pockets").cloned().unwrap_or(Value::Null),
        "px_per_m": t.get("px_per_m").cloned().unwrap_or(Value::Null),
        "size_m": t.get("size_m").cloned().unwrap_or(Value::Null),
    }))
}

/// Pins the playing-area corners: `{"corners": [[x, y], ×4]}` in pixels, from the origin
/// corner along the long side. Sent as `table_detection`'s `calibrate` command; a
/// non-convex quadrilateral is refused with 400 `bad_args`.
#[utoipa::path(put, path = "/calibration", tag = "billiards",
    request_body(content = Object, description = "{\"corners\": [[x, y], [x, y], [x, y], [x, y]]}"),
    responses(
        (status = 200, description = "Calibrated", body = super::AckBody),
        (status = 400, description = "Bad corners", body = ApiError),
        (status = 404, description = "No table_detection stage", body = ApiError),
    ))]
pub(crate) async fn put_calibration(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let args = match body_json(body) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return ApiError::bad_message("empty body: expected {\"corners\": [[x, y], ×4]}")
                .into_response();
        }
        Err(e) => return e.into_response(),
    };
    let cmd = Command {
        id: None,
        target: "table_detection".into(),
        payload: CommandPayload {
            cmd: "calibrate".into(),
            args,
        },
    };
    reply_response(execute(state.runtime().bus(), cmd).await)
}

/// The game: `game_state`'s latest result (phase, shots, balls on the table, this frame's
/// and recent events).
#[utoipa::path(get, path = "/game", tag = "billiards",
    responses((status = 200, description = "game_state's result, null without the stage", body = Object)))]
pub(crate) async fn game(State(state): State<AppState>) -> Json<Value> {
    let mut r = latest_results(&state);
    Json(r.remove("game_state").unwrap_or(Value::Null))
}

/// The instance id of the first stage of `plugin` in the config (the plugin id when none:
/// the command then fails with `unknown_target`).
fn stage_of(state: &AppState, plugin: &str) -> String {
    state
        .runtime()
        .config()
        .stages
        .iter()
        .find(|s| s.plugin == plugin)
        .map_or_else(
            || plugin.to_string(),
            |s| s.id.clone().unwrap_or_else(|| plugin.to_string()),
        )
}

/// Starts a new game: `game_state`'s shots, pocketed balls and events are cleared (the
/// generic `reset` command of the `game_state` stage). No body.
#[utoipa::path(post, path = "/game/reset", tag = "billiards",
    responses(
        (status = 200, description = "Reset; the next snapshot shows the new game", body = super::AckBody),
        (status = 404, description = "No game_state stage", body = ApiError),
    ))]
pub(crate) async fn reset_game(State(state): State<AppState>) -> Response {
    let cmd = Command {
        id: None,
        target: stage_of(&state, "game_state"),
        payload: CommandPayload {
            cmd: "reset".into(),
            args: json!({}),
        },
    };
    reply_response(execute(state.runtime().bus(), cmd).await)
}
