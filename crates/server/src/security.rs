//! Security defaults: the bearer token, the Origin check on WebSocket upgrades (and on
//! state-changing REST calls), and the loopback rule for binding.
//!
//! - A token, when configured, is required on every `/api/v1` request
//!   (`Authorization: Bearer T`), on `/metrics`, and on WebSocket upgrades (the same header,
//!   or `?token=T` since browsers cannot set headers on a WebSocket).
//! - A non-loopback bind without a token is refused at start ([`check_bind`]).
//! - A request with an `Origin` header is accepted only from the server's own origin, a
//!   loopback origin on the same port when the server is on loopback, or `allowed_origins`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use framebus_core::config::ServerConfig;
use framebus_protocol::ErrorCode;

use crate::AppState;
use crate::error::ApiError;

/// Refuses to serve a non-loopback address without a token.
pub(crate) fn check_bind(addr: &SocketAddr, token: Option<&str>) -> Result<(), String> {
    if addr.ip().is_loopback() || token.is_some_and(|t| !t.is_empty()) {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {addr} without a token: binding anything but loopback \
             requires `--token` or `[server] token`"
        ))
    }
}

/// Compares without an early exit, so timing does not reveal a matching prefix.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the token from the `Authorization` header or a `token` query parameter.
pub(crate) fn check_token(
    settings: &ServerConfig,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), ApiError> {
    let Some(expected) = settings.token.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    let given = bearer(headers).or(query_token);
    match given {
        Some(t) if same(t.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(ErrorCode::Unauthorized, "wrong token")),
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "a token is required: `Authorization: Bearer <token>` (or `?token=` on WebSockets)",
        )),
    }
}

/// Host and port of an origin or `Host` value (`http://a:1` → (`a`, Some(1))).
fn host_port(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.trim();
    let rest = s.split_once("://").map_or(s, |(_, r)| r);
    let rest = rest.split('/').next()?;
    if rest.is_empty() {
        return None;
    }
    // [v6]:port or host:port
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (
            h.to_owned(),
            after.strip_prefix(':').and_then(|p| p.parse().ok()),
        )
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p.parse().ok()?)),
            None => (rest.to_owned(), None),
        }
    };
    Some((host.to_ascii_lowercase(), port))
}

fn is_loopback_host(h: &str) -> bool {
    h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn default_port(origin: &str) -> Option<u16> {
    if origin.starts_with("https://") || origin.starts_with("wss://") {
        Some(443)
    } else {
        Some(80)
    }
}

/// Whether a request's `Origin` (if any) may talk to this server.
pub(crate) fn origin_allowed(settings: &ServerConfig, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        // Not a browser (or a same-origin GET): nothing to check.
        return true;
    };
    let origin = origin.trim_end_matches('/');
    if settings
        .allowed_origins
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some((ohost, oport)) = host_port(origin) else {
        return false;
    };
    let oport = oport.or_else(|| default_port(origin));
    let Some((hhost, hport)) = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_port)
    else {
        return false;
    };
    let hport = hport.or(Some(80));
    if oport != hport {
        return false;
    }
    ohost == hhost || (is_loopback_host(&ohost) && is_loopback_host(&hhost))
}

/// The Origin check for WebSocket upgrades, then the token check.
pub(crate) fn check_ws(
    settings: &ServerConfig,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), ApiError> {
    if !origin_allowed(settings, headers) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "WebSocket from a foreign Origin refused (add it to `[server] allowed_origins`)",
        ));
    }
    check_token(settings, headers, query_token)
}

/// `?token=` of a GET/HEAD of a recording or clip download: a `<video src>` cannot send a
/// header. Every other REST request needs the `Authorization` header.
fn download_query_token(req: &Request) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Q {
        token: Option<String>,
    }
    let path = req.uri().path();
    let download = path.starts_with("/api/v1/recordings/") || path.starts_with("/api/v1/clips/");
    if !download || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    axum::extract::Query::<Q>::try_from_uri(req.uri())
        .ok()
        .and_then(|q| q.0.token)
}

/// Middleware for `/api/v1` and `/metrics`: token, and Origin on state-changing methods.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let settings = &state.inner.settings;
    let query_token = download_query_token(&req);
    if let Err(e) = check_token(settings, req.headers(), query_token.as_deref()) {
        return e.into_response();
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !origin_allowed(settings, req.headers()) {
        return ApiError::new(
            ErrorCode::Forbidden,
            "request from a foreign Origin refused",
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn binds_off_loopback_only_with_a_token() {
        assert!(check_bind(&"127.0.0.1:0".parse().unwrap(), None).is_ok());
        assert!(check_bind(&"[::1]:0".parse().unwrap(), None).is_ok());
        assert!(check_bind(&"0.0.0.0:8000".parse().unwrap(), None).is_err());
        assert!(check_bind(&"0.0.0.0:8000".parse().unwrap(), Some("")).is_err());
        assert!(check_bind(&"0.0.0.0:8000".parse().unwrap(), Some("s3cret")).is_ok());
    }

    #[test]
    fn origins() {
        let s = ServerConfig {
            allowed_origins: vec!["http://dev.example:5173".into()],
            ..Default::default()
        };
        let ok = |o: &str, h: &str| {
            origin_allowed(&s, &headers(&[(header::ORIGIN, o), (header::HOST, h)]))
        };
        assert!(origin_allowed(
            &s,
            &headers(&[(header::HOST, "127.0.0.1:8000")])
        ));
        assert!(ok("http://127.0.0.1:8000", "127.0.0.1:8000"));
        assert!(ok("http://localhost:8000", "127.0.0.1:8000"));
        assert!(ok("http://box.lan:8000", "box.lan:8000"));
        assert!(ok("http://dev.example:5173", "127.0.0.1:8000"));
        assert!(!ok("http://evil.example", "127.0.0.1:8000"));
        assert!(!ok("http://127.0.0.1:9999", "127.0.0.1:8000"));
        assert!(!ok("null", "127.0.0.1:8000"));
        assert!(!ok("http://evil.example:8000", "box.lan:8000"));
    }

    #[test]
    fn tokens() {
        let s = ServerConfig {
            token: Some("t0k".into()),
            ..Default::default()
        };
        assert!(check_token(&s, &headers(&[(header::AUTHORIZATION, "Bearer t0k")]), None).is_ok());
        assert!(check_token(&s, &headers(&[(header::AUTHORIZATION, "bearer t0k")]), None).is_ok());
        assert!(check_token(&s, &HeaderMap::new(), Some("t0k")).is_ok());
        assert!(check_token(&s, &HeaderMap::new(), Some("nope")).is_err());
        assert!(check_token(&s, &HeaderMap::new(), None).is_err());
        assert!(check_token(&ServerConfig::default(), &HeaderMap::new(), None).is_ok());
    }
}
