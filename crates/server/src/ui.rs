//! The embedded web UI: `web/dist` (built by `build.rs`) compiled into the binary and served
//! at `/`, with `index.html` as the fallback for client-side routes.
//!
//! Mount [`router`] as the app's fallback; it answers 404 for unknown `/api`, `/ws` and
//! `/metrics` paths instead of the SPA page.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

/// The built UI; the folder comes from `build.rs` (`web/dist` or a placeholder page).
#[derive(RustEmbed)]
#[folder = "$FRAMEBUS_UI_DIR"]
struct Assets;

/// Hashed build output: never changes under the same name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (`index.html`): revalidate every time.
const REVALIDATE: &str = "no-cache";

/// The UI router: static files, and `index.html` for `/` and unknown non-API paths.
pub fn router() -> Router {
    Router::new().fallback(serve)
}

/// True when the embedded UI is the real one rather than the "not built" placeholder.
pub fn is_built() -> bool {
    Assets::get("index.html").is_some_and(|f| {
        std::str::from_utf8(&f.data).is_ok_and(|s| !s.contains("web UI was not built"))
    })
}

async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if is_api_path(path) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(resp) = file(path, &headers) {
        return resp;
    }
    // A missing file with an extension is a real 404; anything else is a client-side route.
    let last = path.rsplit('/').next().unwrap_or(path);
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    file("index.html", &headers)
        .unwrap_or_else(|| (StatusCode::NOT_FOUND, "not found\n").into_response())
}

fn is_api_path(path: &str) -> bool {
    ["api", "ws", "metrics"].iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn file(path: &str, headers: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let cache = if path.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mime = file.metadata.mimetype().to_owned();
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(resp)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, HeaderMap, String) {
        let resp = router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn root_serves_the_app_page() {
        let (status, headers, body) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(body.contains("id=\"root\""), "no app root in {body}");
        assert_eq!(headers[header::CACHE_CONTROL], REVALIDATE);
    }

    #[tokio::test]
    async fn unknown_routes_fall_back_to_the_app_but_api_paths_do_not() {
        let (status, _, body) = get("/some/client/route").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("id=\"root\""));
        assert_eq!(get("/api/v1/nope").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get("/ws/nope").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get("/missing.js").await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn hashed_assets_have_types_and_long_cache() {
        let Some(js) = Assets::iter().find(|p| p.starts_with("assets/") && p.ends_with(".js"))
        else {
            // The placeholder page has no assets (FRAMEBUS_SKIP_WEB_BUILD without a dist).
            assert!(!is_built());
            return;
        };
        let (status, headers, _) = get(&format!("/{js}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
        assert_eq!(headers[header::CACHE_CONTROL], IMMUTABLE);
    }

    #[tokio::test]
    async fn etag_revalidation_answers_304() {
        let (_, headers, _) = get("/").await;
        let etag = headers[header::ETAG].clone();
        let resp = router()
            .oneshot(
                Request::get("/")
                    .header(header::IF_NONE_MATCH, etag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    }
}
