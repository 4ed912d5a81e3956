//! REST control: commands (same format and replies as on the WebSocket), the run state, and
//! generic per-plugin routes built on commands (`/plugins/{id}/params`, `/plugins/{id}/commands/{cmd}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use framebus_core::command::Reply;
use framebus_core::registry;
use framebus_protocol::{ClientMessage, Command, ErrorCode, ServerMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::commands::execute;
use crate::error::{ApiError, status_of};

/// A command: `{"id"?, "target", "payload": {"cmd", "args"}}`, or the seed-001 alias
/// `{"stage_id", "cmd": "UpdateParam", "key", "value"}`. (Schema for the document only.)
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub(crate) struct CommandBody {
    /// Correlation id echoed in the reply.
    #[schema(value_type = Option<Object>)]
    id: Option<Value>,
    /// A stage id, a source id (`camera_0`), `all_cameras` or `pipeline`.
    target: String,
    /// `{"cmd": "set_params", "args": {...}}`.
    #[schema(value_type = Object)]
    payload: Value,
}

/// A successful reply: `{"type": "ack", "id", "target", "cmd", "result"}`. (Schema only.)
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AckBody {
    /// Always `ack`.
    r#type: String,
    /// The command's id.
    #[schema(value_type = Option<Object>)]
    id: Option<Value>,
    /// The command's target.
    target: String,
    /// The command's name.
    cmd: String,
    /// What the target returned.
    #[schema(value_type = Object)]
    result: Value,
}

/// `{"state": "paused" | "running" | "recording"}` (also `run`, `pause`, `record`).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub(crate) struct StateBody {
    /// The run state wanted.
    state: String,
}

/// A command reply as an HTTP response: 200 with the ack, or the error's status with
/// `{"type": "error", "id", "code", "message"}`.
pub(super) fn reply_response(reply: Reply) -> Response {
    match reply {
        Ok(ack) => (StatusCode::OK, Json(ServerMessage::Ack(ack))).into_response(),
        Err(e) => (status_of(e.code), Json(ServerMessage::Error(e))).into_response(),
    }
}

pub(super) fn body_json(body: Result<Bytes, BytesRejection>) -> Result<Option<Value>, ApiError> {
    let body = body.map_err(|r| {
        let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::TooLarge
        } else {
            ErrorCode::BadMessage
        };
        ApiError::new(code, r.body_text())
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::bad_message(format!("not valid JSON: {e}")))
}

/// Sends a command to a stage, a source, `all_cameras` or `pipeline`.
#[utoipa::path(post, path = "/commands", tag = "control",
    request_body(content = CommandBody, description = "Seed-000 command or seed-001 UpdateParam"),
    responses(
        (status = 200, description = "Acknowledged", body = AckBody),
        (status = 400, description = "Malformed command or bad args", body = ApiError),
        (status = 404, description = "Unknown target or command", body = ApiError),
        (status = 409, description = "Refused while recording", body = ApiError),
    ))]
pub(crate) async fn command(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let value = match body_json(body) {
        Ok(Some(v)) => v,
        Ok(None) => return ApiError::bad_message("empty body: expected a command").into_response(),
        Err(e) => return e.into_response(),
    };
    match ClientMessage::from_value(value) {
        Ok(ClientMessage::Command(cmd)) => {
            reply_response(execute(state.runtime().bus(), cmd).await)
        }
        Ok(_) => ApiError::bad_message("only commands are accepted here").into_response(),
        Err(e) => {
            let err = crate::commands::error(e.id, ErrorCode::BadMessage, e.message);
            (StatusCode::BAD_REQUEST, Json(ServerMessage::Error(err))).into_response()
        }
    }
}

/// The run state.
#[utoipa::path(get, path = "/state", tag = "control",
    responses((status = 200, description = "Run state", body = StateBody)))]
pub(crate) async fn get_state(State(state): State<AppState>) -> Json<StateBody> {
    Json(StateBody {
        state: state.runtime().state().as_str().into(),
    })
}

/// Changes the run state: `paused`, `running` or `recording` (the recording lock).
#[utoipa::path(post, path = "/state", tag = "control",
    request_body = StateBody,
    responses(
        (status = 200, description = "Changed", body = AckBody),
        (status = 400, description = "Unknown state", body = ApiError),
    ))]
pub(crate) async fn set_state(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let value = match body_json(body) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return ApiError::bad_message("expected {\"state\": \"running\"}").into_response();
        }
        Err(e) => return e.into_response(),
    };
    let wanted = value
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let to = match wanted {
        "run" | "running" => "running",
        "pause" | "paused" => "paused",
        "record" | "recording" => "recording",
        other => {
            return ApiError::new(
                ErrorCode::BadArgs,
                format!("unknown state `{other}`: expected paused, running or recording"),
            )
            .into_response();
        }
    };
    let cmd = Command::new("pipeline", "set_state", json!({ "state": to }));
    reply_response(execute(state.runtime().bus(), cmd).await)
}

fn instance(state: &AppState, id: &str) -> Result<(String, String, bool), ApiError> {
    let config = state.runtime().config();
    (0..config.stages.len())
        .find(|&i| config.stage_id(i) == id)
        .map(|i| {
            let st = &config.stages[i];
            (
                st.plugin.clone(),
                config.stage_source(i).to_owned(),
                st.enabled,
            )
        })
        .ok_or_else(|| ApiError::not_found(format!("no stage instance `{id}`")))
}

/// One stage instance: its plugin manifest, params in force and status.
#[utoipa::path(get, path = "/plugins/{id}", tag = "plugins",
    params(("id" = String, Path, description = "Stage instance id")),
    responses(
        (status = 200, description = "The instance", body = Object),
        (status = 404, description = "No such instance", body = ApiError),
    ))]
pub(crate) async fn plugin_instance(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (plugin, source, configured) = instance(&state, &id)?;
    let manifest = registry::stage(&plugin).map(|r| r.manifest()).or_else(|| {
        state
            .runtime()
            .worker_manifests()
            .into_iter()
            .find(|m| m.id == plugin)
    });
    let params = execute(
        state.runtime().bus(),
        Command::new(id.clone(), "get_params", json!({})),
    )
    .await
    .map(|a| a.result)
    .unwrap_or(Value::Null);
    let status = state
        .runtime()
        .status()
        .sources
        .into_iter()
        .flat_map(|s| s.stages)
        .find(|s| s.id == id);
    Ok(Json(json!({
        "id": id, "plugin": plugin, "source": source, "configured_enabled": configured,
        "params": params, "status": status, "manifest": manifest,
    })))
}

/// The params in force of a stage instance (`get_params`).
#[utoipa::path(get, path = "/plugins/{id}/params", tag = "plugins",
    params(("id" = String, Path, description = "Stage instance id")),
    responses(
        (status = 200, description = "Ack whose result holds the params", body = AckBody),
        (status = 404, description = "No such instance", body = ApiError),
    ))]
pub(crate) async fn get_params(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let cmd = Command::new(id, "get_params", json!({}));
    reply_response(execute(state.runtime().bus(), cmd).await)
}

/// Changes params of a stage instance (`set_params`; body: the fields to change).
#[utoipa::path(put, path = "/plugins/{id}/params", tag = "plugins",
    params(("id" = String, Path, description = "Stage instance id")),
    request_body(content = Object, description = "Params to change, e.g. {\"threshold\": 120}"),
    responses(
        (status = 200, description = "Ack whose result holds the params now in force", body = AckBody),
        (status = 400, description = "Bad args", body = ApiError),
        (status = 409, description = "Refused while recording", body = ApiError),
    ))]
pub(crate) async fn set_params(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let args = match body_json(body) {
        Ok(v) => v.unwrap_or_else(|| json!({})),
        Err(e) => return e.into_response(),
    };
    let cmd = Command::new(id, "set_params", args);
    reply_response(execute(state.runtime().bus(), cmd).await)
}

/// Runs a command of a stage instance (body: its args).
#[utoipa::path(post, path = "/plugins/{id}/commands/{cmd}", tag = "plugins",
    params(
        ("id" = String, Path, description = "Stage instance id"),
        ("cmd" = String, Path, description = "Command name (see the manifest)"),
    ),
    request_body(content = Object, description = "The command's args"),
    responses(
        (status = 200, description = "Acknowledged", body = AckBody),
        (status = 404, description = "Unknown instance or command", body = ApiError),
    ))]
pub(crate) async fn plugin_command(
    State(state): State<AppState>,
    Path((id, cmd)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let args = match body_json(body) {
        Ok(v) => v.unwrap_or_else(|| json!({})),
        Err(e) => return e.into_response(),
    };
    reply_response(execute(state.runtime().bus(), Command::new(id, cmd, args)).await)
}
