//! Read-only REST views: health, pipeline, config, diagnostics, plugins.

use axum::Json;
use axum::extract::State;
use framebus_core::registry;
use framebus_core::runtime::RuntimeStatus;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

use crate::AppState;
use crate::error::ApiError;
use crate::ws::client::{ClientTotals, ClientView};

/// `GET /api/v1/health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HealthBody {
    /// `ok`; `degraded` when a source has an error or a stage is failing or disabled;
    /// `stopped` when every source has ended.
    status: &'static str,
    /// Run state (`paused`, `running`, `recording`).
    state: String,
    /// Seconds since the server started.
    uptime_s: f64,
    /// Sources, each with its stages.
    sources: Vec<SourceHealth>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SourceHealth {
    id: String,
    kind: String,
    /// `ok`, `error` (last capture failed) or `ended`.
    status: &'static str,
    /// Processed frames per second.
    fps: f64,
    last_error: Option<String>,
    stages: Vec<StageHealth>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct StageHealth {
    id: String,
    /// `ok`, `failing` (last frame failed) or `disabled`.
    status: &'static str,
    /// Frames per second through this stage.
    fps: f64,
    /// Mean time per frame, milliseconds.
    mean_ms: f64,
    last_error: Option<String>,
}

fn health_of(status: &RuntimeStatus, uptime_s: f64) -> HealthBody {
    let mut degraded = false;
    let sources: Vec<SourceHealth> = status
        .sources
        .iter()
        .map(|s| {
            let src_status = match (&s.last_error, s.capturing) {
                (_, false) => "ended",
                (Some(_), true) => "error",
                (None, true) => "ok",
            };
            degraded |= src_status == "error";
            let stages = s
                .stages
                .iter()
                .map(|st| {
                    let st_status = if !st.enabled {
                        "disabled"
                    } else if st.last_error.is_some() && st.failures > 0 {
                        "failing"
                    } else {
                        "ok"
                    };
                    degraded |= st_status != "ok";
                    StageHealth {
                        id: st.id.clone(),
                        status: st_status,
                        fps: if st.enabled { s.fps } else { 0.0 },
                        mean_ms: st.mean_ms,
                        last_error: st.last_error.clone(),
                    }
                })
                .collect();
            SourceHealth {
                id: s.id.clone(),
                kind: s.kind.clone(),
                status: src_status,
                fps: s.fps,
                last_error: s.last_error.clone(),
                stages,
            }
        })
        .collect();
    let all_ended = !sources.is_empty() && sources.iter().all(|s| s.status == "ended");
    HealthBody {
        status: if all_ended {
            "stopped"
        } else if degraded {
            "degraded"
        } else {
            "ok"
        },
        state: status.state.as_str().into(),
        uptime_s,
        sources,
    }
}

/// Health of every source and stage.
#[utoipa::path(get, path = "/health", tag = "status",
    responses((status = 200, description = "Health per source and stage", body = HealthBody)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<HealthBody> {
    let status = state.runtime().status();
    Json(health_of(
        &status,
        state.inner.started.elapsed().as_secs_f64(),
    ))
}

/// Sources, stages, edges with queue depths and drops, timings and the run state.
#[utoipa::path(get, path = "/pipeline", tag = "status",
    responses((status = 200, description = "The running pipeline graph with counters", body = Object)))]
pub(crate) async fn pipeline(State(state): State<AppState>) -> Json<Value> {
    let status = state.runtime().status();
    let edges: Vec<Value> = status
        .sources
        .iter()
        .map(|s| {
            json!({
                "from": s.id,
                "to": format!("pipeline:{}", s.id),
                "policy": s.edge,
                "sent": s.sent,
                "dropped": s.dropped,
                "queue_depth": s.queue_depth,
            })
        })
        .collect();
    let stages: Vec<Value> = status
        .sources
        .iter()
        .flat_map(|s| {
            s.stages.iter().enumerate().map(move |(order, st)| {
                json!({
                    "id": st.id, "source": s.id, "order": order, "enabled": st.enabled,
                    "frames": st.frames, "failures": st.failures, "last_ms": st.last_ms,
                    "mean_ms": st.mean_ms, "last_error": st.last_error,
                })
            })
        })
        .collect();
    Json(json!({
        "state": status.state,
        "sequence": status.sequence,
        "sources": status.sources.iter().map(|s| json!({
            "id": s.id, "kind": s.kind, "capturing": s.capturing, "fps": s.fps,
            "processed": s.processed, "last_error": s.last_error,
        })).collect::<Vec<_>>(),
        "stages": stages,
        "edges": edges,
    }))
}

/// The effective configuration (token redacted).
#[utoipa::path(get, path = "/config", tag = "status",
    responses((status = 200, description = "The effective config, as the config file schema", body = Object)))]
pub(crate) async fn config(State(state): State<AppState>) -> Json<Value> {
    Json(super::effective_config(&state))
}

/// `GET /api/v1/diagnostics`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DiagnosticsBody {
    /// Seconds since the server started.
    uptime_s: f64,
    /// Runtime status with per-stage timing histograms (`histogram_us_log2[i]`: frames
    /// under 2^i µs).
    #[schema(value_type = Object)]
    runtime: RuntimeStatus,
    /// Hub counters (snapshots and events published, video preview).
    #[schema(value_type = Object)]
    hub: Value,
    /// Browser ingest counters.
    #[schema(value_type = Object)]
    ingest: Value,
    /// WebSocket client totals.
    client_totals: ClientTotals,
    /// Connected WebSocket clients with their send metrics.
    clients: Vec<ClientView>,
}

/// Timing histograms, hub, ingest and per-client send statistics.
#[utoipa::path(get, path = "/diagnostics", tag = "status",
    responses((status = 200, description = "Diagnostics", body = DiagnosticsBody)))]
pub(crate) async fn diagnostics(State(state): State<AppState>) -> Json<DiagnosticsBody> {
    let s = &state.inner;
    let runtime = s.runtime.status();
    let video = &s.hub.inner.video;
    let ingest_sources: Vec<Value> = runtime
        .sources
        .iter()
        .filter_map(|src| {
            s.runtime.ingest(&src.id).map(
                |i| json!({ "source": src.id, "dropped": i.dropped(), "rejected": i.rejected() }),
            )
        })
        .collect();
    let ing = &s.ingest;
    Json(DiagnosticsBody {
        uptime_s: s.started.elapsed().as_secs_f64(),
        hub: json!({
            "snapshots_published": s.hub.snapshots_published(),
            "events_published": s.hub.events_published(),
            "video": {
                "watchers": video.watchers(),
                "encoded": video.encoded(),
                "failed": video.failed(),
                "mean_encode_ms": video.mean_encode_ms(),
            },
        }),
        ingest: json!({
            "received": ing.received.load(Ordering::Relaxed),
            "accepted": ing.accepted.load(Ordering::Relaxed),
            "refused": ing.refused.load(Ordering::Relaxed),
            "bytes": ing.bytes.load(Ordering::Relaxed),
            "sources": ingest_sources,
        }),
        runtime,
        client_totals: s.clients.totals(),
        clients: s.clients.views(),
    })
}

/// Registered stage plugins (manifests with params JSON Schema and commands), plus the
/// process stages of the running config that are not registered here (Python stages, as
/// their workers describe themselves), source kinds, and the stage instances.
#[utoipa::path(get, path = "/plugins", tag = "plugins",
    responses((status = 200, description = "Manifests", body = Object)))]
pub(crate) async fn plugins(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let config = state.runtime().config();
    let instances: Vec<Value> = config
        .stages
        .iter()
        .enumerate()
        .map(|(i, st)| {
            json!({
                "id": config.stage_id(i),
                "plugin": st.plugin,
                "source": config.stage_source(i),
                "enabled": st.enabled,
            })
        })
        .collect();
    let mut stages: Vec<_> = registry::stages().iter().map(|r| r.manifest()).collect();
    // Stages this binary does not register (Python stages), as their workers describe them.
    for m in state.runtime().worker_manifests() {
        if !stages.iter().any(|s| s.id == m.id) {
            stages.push(m);
        }
    }
    let sources: Vec<Value> = registry::sources()
        .iter()
        .map(|r| json!({ "kind": r.kind, "description": r.description, "params_schema": (r.params_schema)() }))
        .collect();
    Ok(Json(
        json!({ "stages": stages, "sources": sources, "instances": instances }),
    ))
}
