//! The OpenAPI document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations and served at `/api/v1/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "framebus",
        description = "REST API of a running framebus runtime. Live data and commands also flow \
            over WebSocket: `/ws/stream` (snapshots, events, video, commands) and \
            `/ws/ingest/{source_id}` (browser camera frames); Prometheus metrics at `/metrics`. \
            When the server has a token, every request needs `Authorization: Bearer <token>`."
    ),
    components(schemas(crate::error::ApiError, crate::rest::CommandBody, crate::rest::AckBody,
        crate::rest::StateBody, crate::rest::HealthBody, crate::rest::DiagnosticsBody)),
    tags(
        (name = "status", description = "Read-only views of the runtime"),
        (name = "control", description = "Commands and run state"),
        (name = "plugins", description = "Stage plugins and their instances"),
        (name = "recordings", description = "Recording sessions and clips, listed and downloaded"),
        (name = "billiards", description = "Seed 002's vision, calibration and game views of a billiards pipeline"),
    ),
)]
struct ApiDoc;

/// The `/api/v1` router (paths relative to it) and its OpenAPI document, with the
/// document's own route added.
pub(crate) fn api(state: AppState) -> Router {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", crate::rest::api(state))
        .split_for_parts();
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
    let doc = Arc::new(doc);
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
}
