//! Token and Origin refusals, the public-bind rule, and clean shutdown with close frames.

mod common;

use common::*;
use framebus_core::config::{Config, Format};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const TOKEN: &str = "s3cret-token";

async fn ws_status(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Result<(), u16> {
    let mut req = server.ws_url(path).into_client_request().unwrap();
    for (k, v) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut().insert(name, v.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_required_everywhere_when_set() {
    let server = start(&format!("{RIDER}\n[server]\ntoken = \"{TOKEN}\"\n")).await;
    let client = reqwest::Client::new();
    for path in [
        "/api/v1/health",
        "/api/v1/config",
        "/api/v1/openapi.json",
        "/metrics",
        "/api/v1/nope",
    ] {
        let r = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "unauthorized");
        let r = client
            .get(server.url(path))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = client
        .get(server.url("/api/v1/health"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .post(server.url("/api/v1/commands"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // `?token=` opens recording and clip downloads (a `<video src>` sends no header) only.
    let r = client
        .get(server.url(&format!("/api/v1/clips/none.mp4?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client
        .get(server.url("/api/v1/clips/none.mp4?token=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client
        .get(server.url(&format!("/api/v1/config?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The config never shows the token.
    let config: Value = client
        .get(server.url("/api/v1/config"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["server"]["token"], "<redacted>");
    assert!(!config.to_string().contains(TOKEN));
    // The UI itself is public (it asks for the token).
    let r = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // WebSockets: refused without the token, accepted with the header or `?token=`.
    assert_eq!(ws_status(&server, "/ws/stream", &[]).await, Err(401));
    assert_eq!(
        ws_status(&server, "/ws/stream?token=nope", &[]).await,
        Err(401)
    );
    assert_eq!(
        ws_status(&server, &format!("/ws/stream?token={TOKEN}"), &[]).await,
        Ok(())
    );
    let auth = format!("Bearer {TOKEN}");
    assert_eq!(
        ws_status(&server, "/ws/stream", &[("authorization", &auth)]).await,
        Ok(())
    );
    assert!(server.state.client_totals().refused >= 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_are_refused() {
    let server = start(&format!(
        "{RIDER}\n[server]\nallowed_origins = [\"http://dev.example:5173\"]\n"
    ))
    .await;
    let port = server.addr.port();
    let own = format!("http://127.0.0.1:{port}");
    let localhost = format!("http://localhost:{port}");
    assert_eq!(
        ws_status(&server, "/ws/stream", &[("origin", "http://evil.example")]).await,
        Err(403)
    );
    assert_eq!(
        ws_status(&server, "/ws/stream", &[("origin", "http://127.0.0.1:1")]).await,
        Err(403)
    );
    assert_eq!(
        ws_status(&server, "/ws/stream", &[("origin", "null")]).await,
        Err(403)
    );
    assert_eq!(
        ws_status(
            &server,
            "/ws/ingest/camera_0",
            &[("origin", "http://evil.example")]
        )
        .await,
        Err(403)
    );
    assert_eq!(
        ws_status(&server, "/ws/stream", &[("origin", &own)]).await,
        Ok(())
    );
    assert_eq!(
        ws_status(&server, "/ws/stream", &[("origin", &localhost)]).await,
        Ok(())
    );
    assert_eq!(
        ws_status(
            &server,
            "/ws/stream",
            &[("origin", "http://dev.example:5173")]
        )
        .await,
        Ok(())
    );
    assert_eq!(ws_status(&server, "/ws/stream", &[]).await, Ok(()));

    // A foreign page cannot change state through REST either.
    let client = reqwest::Client::new();
    let cmd = json!({"target": "pipeline", "payload": {"cmd": "pause"}}).to_string();
    let r = client
        .post(server.url("/api/v1/commands"))
        .header("origin", "http://evil.example")
        .body(cmd.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "forbidden");
    assert_eq!(server.state.runtime().state().as_str(), "running");
    let r = client
        .post(server.url("/api/v1/commands"))
        .header("origin", &own)
        .body(cmd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    server.stop().await;
}

#[test]
fn a_public_bind_without_a_token_starts_nothing() {
    link();
    let config = Config::parse(RIDER, Format::Toml, "t.toml").unwrap();
    let options = framebus_server::ServeOptions {
        bind: Some("0.0.0.0:0".into()),
        ..Default::default()
    };
    let mut listened = false;
    let err = framebus_server::serve(&config, options, |_| listened = true).unwrap_err();
    assert!(err.to_string().contains("token"), "{err}");
    assert!(!listened);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_close_frames_and_returns() {
    let server = start(RIDER).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut ws = connect(&server).await;
        next_of(&mut ws, "snapshot").await;
        clients.push(ws);
    }
    server.shutdown.cancel();
    for ws in clients.iter_mut() {
        let frame = tokio::time::timeout(WAIT, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(f))) => return f,
                    Some(Ok(_)) => {}
                    other => panic!("connection ended without a close frame: {other:?}"),
                }
            }
        })
        .await
        .expect("a close frame in time")
        .expect("with a code");
        assert_eq!(frame.code, CloseCode::Away);
        assert_eq!(frame.reason.as_str(), "server shutting down");
    }
    tokio::time::timeout(WAIT, server.handle)
        .await
        .expect("run returns")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_are_closed_after_the_idle_timeout() {
    let server = start(&format!("{RIDER}\n[server]\nidle_timeout_s = 1\n")).await;
    // A client that answers pings (tungstenite pongs while reading) and one that never reads.
    let mut alive = connect(&server).await;
    let mut silent = connect(&server).await;
    send(&mut alive, &json!({"type": "subscribe", "streams": []})).await;
    send(&mut silent, &json!({"type": "subscribe", "streams": []})).await;
    // The answering client reads (and so pongs) all along, for six pings (2 s at 1 s / 3).
    let reader = tokio::spawn(async move {
        let mut pings = 0;
        while pings < 6 {
            match tokio::time::timeout(WAIT, alive.next())
                .await
                .expect("in time")
            {
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Close(f))) => panic!("the answering client was closed: {f:?}"),
                Some(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
        alive
    });
    let state = server.state.clone();
    eventually(|| state.client_totals().closed_idle >= 1).await;
    let mut alive = reader.await.unwrap();
    assert_eq!(server.state.client_totals().closed_idle, 1);
    send(&mut alive, &json!({"type": "ping", "id": "still here"})).await;
    assert_eq!(next_of(&mut alive, "pong").await["id"], "still here");
    // The silent one's connection is over: a close frame with the reason follows the pings
    // it never read (unless answering those pings hits the already closed socket first).
    let frame = close_frame(&mut silent).await;
    if let Some(f) = frame {
        assert_eq!(f.code, CloseCode::Away);
        assert_eq!(f.reason.as_str(), "idle timeout");
    }
    server.stop().await;
}
