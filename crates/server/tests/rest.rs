//! REST `/api/v1`, `/metrics` and the OpenAPI document over real sockets.

mod common;

use axum::routing::get;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn get_json(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let r = reqwest::get(server.url(path)).await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn post(server: &TestServer, path: &str, body: String) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(server.url(path))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_endpoints() {
    let server = start(RIDER).await;
    let mut ws = connect(&server).await;
    next_of(&mut ws, "snapshot").await;

    let (s, health) = get_json(&server, "/api/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["state"], "running");
    let src = &health["sources"][0];
    assert_eq!(
        (src["id"].as_str(), src["status"].as_str()),
        (Some("camera_0"), Some("ok"))
    );
    assert!(src["fps"].is_number() && src.get("last_error").is_some());
    assert_eq!(src["stages"][0]["id"], "blob_detection");
    assert_eq!(src["stages"][0]["status"], "ok");

    let (_, plugins) = get_json(&server, "/api/v1/plugins").await;
    let blob = plugins["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "blob_detection")
        .expect("manifest");
    assert!(
        blob["params_schema"]["properties"]["threshold"].is_object(),
        "{blob}"
    );
    assert!(
        blob["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "set_params")
    );
    assert!(
        plugins["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "synthetic_rider")
    );
    assert_eq!(plugins["instances"][0]["id"], "blob_detection");

    let (_, pipeline) = get_json(&server, "/api/v1/pipeline").await;
    assert_eq!(pipeline["state"], "running");
    assert_eq!(pipeline["edges"][0]["from"], "camera_0");
    for k in ["sent", "dropped", "queue_depth", "policy"] {
        assert!(pipeline["edges"][0].get(k).is_some(), "edge lacks {k}");
    }
    assert_eq!(pipeline["stages"][0]["id"], "blob_detection");
    assert!(pipeline["stages"][0]["mean_ms"].is_number());

    let (_, config) = get_json(&server, "/api/v1/config").await;
    assert_eq!(config["sources"][0]["kind"], "synthetic_rider");
    assert_eq!(config["server"]["bind"], "127.0.0.1:8000");

    let (_, diag) = get_json(&server, "/api/v1/diagnostics").await;
    assert_eq!(
        diag["runtime"]["sources"][0]["stages"][0]["histogram_us_log2"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
    assert_eq!(diag["client_totals"]["connected"], 1);
    let me = &diag["clients"][0];
    assert_eq!(me["kind"], "stream");
    assert!(
        me["remote"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{me}"
    );
    assert!(me["stats"]["snapshots_sent"].as_u64().unwrap() >= 1, "{me}");
    for k in [
        "bytes_sent",
        "messages_sent",
        "dropped",
        "lag_p99_ms",
        "events_dropped",
    ] {
        assert!(me["stats"].get(k).is_some(), "client stats lack {k}");
    }

    let metrics = reqwest::get(server.url("/metrics")).await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    for needle in [
        "framebus_ws_clients 1",
        "framebus_source_fps{source=\"camera_0\"}",
        "framebus_stage_duration_seconds_bucket{source=\"camera_0\",stage=\"blob_detection\",le=\"+Inf\"}",
        "framebus_ws_bytes_sent_total",
        "framebus_run_state{state=\"running\"} 1",
    ] {
        assert!(text.contains(needle), "metrics lack `{needle}`");
    }

    let (_, doc) = get_json(&server, "/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/health",
        "/api/v1/commands",
        "/api/v1/state",
        "/api/v1/plugins/{id}/params",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["schemas"]["ApiError"].is_object());

    let (s, e) = get_json(&server, "/api/v1/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["code"], "not_found");
    let r = reqwest::Client::new()
        .delete(server.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad_message");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_state() {
    let server = start(RIDER).await;
    let cmd = json!({"id": 5, "target": "blob_detection", "payload": {"cmd": "set_params", "args": {"threshold": 140}}});
    let (s, ack) = post(&server, "/api/v1/commands", cmd.to_string()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (ack["type"].as_str(), ack["id"].as_u64()),
        (Some("ack"), Some(5))
    );
    assert_eq!(ack["result"]["threshold"], 140);
    let alias = json!({"stage_id": "blob_detection", "cmd": "UpdateParam", "key": "threshold", "value": 150});
    let (s, ack) = post(&server, "/api/v1/commands", alias.to_string()).await;
    assert_eq!(
        (s, ack["result"]["threshold"].as_u64()),
        (StatusCode::OK, Some(150))
    );

    let bad = [
        (json!({"id": 1, "target": "nope", "payload": {"cmd": "x"}}).to_string(), StatusCode::NOT_FOUND, "unknown_target"),
        (json!({"id": 2, "target": "blob_detection", "payload": {"cmd": "x"}}).to_string(), StatusCode::NOT_FOUND, "unknown_command"),
        (json!({"id": 3, "target": "blob_detection", "payload": {"cmd": "set_params", "args": {"threshold": -1}}}).to_string(), StatusCode::BAD_REQUEST, "bad_args"),
        ("{not json".to_string(), StatusCode::BAD_REQUEST, "bad_message"),
        (String::new(), StatusCode::BAD_REQUEST, "bad_message"),
        (json!({"type": "ping"}).to_string(), StatusCode::BAD_REQUEST, "bad_message"),
        ("x".repeat(100_000), StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
    ];
    for (body, status, code) in bad {
        let (s, e) = post(&server, "/api/v1/commands", body.clone()).await;
        let shown: String = body.chars().take(60).collect();
        assert_eq!(
            (s, e["code"].as_str()),
            (status, Some(code)),
            "`{shown}`: {e}"
        );
        assert!(e["message"].is_string());
    }

    // Run states, and the recording lock.
    let (s, ack) = post(
        &server,
        "/api/v1/state",
        json!({"state": "record"}).to_string(),
    )
    .await;
    assert_eq!(
        (s, ack["result"]["state"].as_str()),
        (StatusCode::OK, Some("recording")),
        "{ack}"
    );
    assert_eq!(
        get_json(&server, "/api/v1/state").await.1["state"],
        "recording"
    );
    let (s, e) = post(&server, "/api/v1/commands", cmd.to_string()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("busy")),
        "{e}"
    );
    let (s, e) = post(
        &server,
        "/api/v1/state",
        json!({"state": "flying"}).to_string(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_args"))
    );
    let (s, _) = post(
        &server,
        "/api/v1/state",
        json!({"state": "paused"}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, health) = get_json(&server, "/api/v1/health").await;
    assert_eq!(health["state"], "paused");
    let (s, _) = post(
        &server,
        "/api/v1/state",
        json!({"state": "running"}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_plugin_routes() {
    let custom = axum::Router::new().route("/hello", get(|| async { "hello from blob_detection" }));
    let server = start_with(RIDER, |s| s.with_plugin_routes("blob_detection", custom)).await;

    let (s, inst) = get_json(&server, "/api/v1/plugins/blob_detection").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inst["plugin"], "blob_detection");
    assert_eq!(inst["params"]["threshold"], 200);
    assert!(inst["manifest"]["params_schema"].is_object());

    let (s, got) = get_json(&server, "/api/v1/plugins/blob_detection/params").await;
    assert_eq!(
        (s, got["result"]["threshold"].as_u64()),
        (StatusCode::OK, Some(200))
    );
    let r = reqwest::Client::new()
        .put(server.url("/api/v1/plugins/blob_detection/params"))
        .body(json!({"threshold": 99}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["result"]["threshold"], 99);
    let (s, ack) = post(
        &server,
        "/api/v1/plugins/blob_detection/commands/reset",
        String::new(),
    )
    .await;
    assert_eq!(
        (s, ack["type"].as_str()),
        (StatusCode::OK, Some("ack")),
        "{ack}"
    );
    let (s, e) = post(
        &server,
        "/api/v1/plugins/blob_detection/commands/explode",
        "{}".into(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_command"))
    );
    let (s, e) = get_json(&server, "/api/v1/plugins/nope").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let text = server
        .get_text("/api/v1/plugins/blob_detection/hello")
        .await;
    assert_eq!(text, "hello from blob_detection");
    server.stop().await;
}
