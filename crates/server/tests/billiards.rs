//! Seed 002's billiards messages on `/ws/stream` over real sockets: the billiards pipeline on
//! the synthetic table at a small resolution; `state` and `trajectory` reach the clients that
//! subscribed to them and no one else.

mod common;

use common::*;
use serde_json::{Value, json};

const TABLE: &str = r#"
[[sources]]
id = "camera_0"
kind = "synthetic_table"
edge = { policy = "latest" }
params = { width = 640, height = 360, fps = 30, seed = 3, noise = 1.0, blur_subframes = 1 }

[[stages]]
plugin = "table_detection"

[[stages]]
plugin = "ball_detection"

[[stages]]
plugin = "cue_detection"

[[stages]]
plugin = "ball_tracking"

[[stages]]
plugin = "trajectory"

[[stages]]
plugin = "game_state"
"#;

async fn subscribe(ws: &mut Ws, streams: Value) {
    send(ws, &json!({"type": "subscribe", "streams": streams})).await;
    until(ws, |v| v["type"] == "ack" && v["cmd"] == "subscribe").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribed_clients_get_state_and_trajectory() {
    let server = start(TABLE).await;
    let mut ws = connect(&server).await;
    subscribe(&mut ws, json!(["state", "trajectory", "alert", "config"])).await;
    // The rack: sixteen balls at rest, with positions in metres and the camera's scale.
    let state = until(&mut ws, |v| {
        v["type"] == "state" && v["balls"].as_array().is_some_and(|b| b.len() == 16)
    })
    .await;
    assert_eq!(state["source"], "camera_0");
    assert!(state["sequence"].as_u64().unwrap() >= 1);
    let ts = state["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && &ts[10..11] == "T",
        "{ts}"
    );
    assert_eq!(state["table"]["found"], true, "{state}");
    let mut ids: Vec<&str> = Vec::new();
    for b in state["balls"].as_array().unwrap() {
        let p = &b["position"];
        let (x, y) = (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
        assert!(
            (0.0..=1.9812).contains(&x) && (0.0..=0.9906).contains(&y),
            "{b}"
        );
        assert!(p["scale"].as_f64().unwrap() > 100.0, "{b}");
        assert!(b["velocity"]["x"].is_number());
        ids.push(b["id"].as_str().unwrap());
    }
    assert!(ids.contains(&"cue") && ids.contains(&"8"), "{ids:?}");
    // The cue aims at the resting cue ball: a predicted shot with lines.
    let tr = until(&mut ws, |v| {
        v["type"] == "trajectory" && v["active"] == true
    })
    .await;
    let lines = tr["lines"].as_array().unwrap();
    assert!(!lines.is_empty(), "{tr}");
    assert!(lines.iter().any(|l| l["id"] == "cue"), "{tr}");
    assert!(tr["collisions"].is_array() && tr["pockets"].is_array());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_get_only_the_streams_they_subscribed_to() {
    let server = start(TABLE).await;
    // Snapshots only: they carry the trajectory result, but no `trajectory` message comes.
    let mut snaps = connect(&server).await;
    subscribe(&mut snaps, json!(["state"])).await;
    let mut seen = 0;
    let mut with_result = 0;
    until(&mut snaps, |v| {
        assert_ne!(v["type"], "trajectory", "not subscribed: {v}");
        if v["type"] == "snapshot" {
            seen += 1;
            with_result += usize::from(v["results"]["trajectory"].is_object());
        }
        seen == 20
    })
    .await;
    assert!(with_result > 0);
    // Trajectory only: no snapshots, no state.
    let mut lines = connect(&server).await;
    subscribe(&mut lines, json!(["trajectory"])).await;
    let mut got = 0;
    until(&mut lines, |v| {
        assert!(
            v["type"] != "snapshot" && v["type"] != "state",
            "not subscribed: {}",
            v["type"]
        );
        got += usize::from(v["type"] == "trajectory");
        got == 10
    })
    .await;
    server.stop().await;
}

async fn rest(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new().request(method, server.url(path));
    if let Some(b) = body {
        r = r.body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vision_calibration_and_game_over_rest() {
    use reqwest::Method;
    let server = start(TABLE).await;
    let mut ws = connect(&server).await;
    subscribe(&mut ws, json!(["state"])).await;
    until(&mut ws, |v| {
        v["type"] == "state" && v["table"]["found"] == true
    })
    .await;
    let (s, v) = rest(&server, Method::GET, "/api/v1/vision", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["table_detection"]["found"], true, "{v}");
    assert!(v["ball_tracking"]["balls"].is_array(), "{v}");
    let (s, cal) = rest(&server, Method::GET, "/api/v1/calibration", None).await;
    assert_eq!(s, 200);
    assert_eq!(cal["source"], "detected", "{cal}");
    // Pin corners a little inside the detected ones: the stage reports them as calibrated.
    let corners = json!([[60.0, 40.0], [580.0, 40.0], [580.0, 300.0], [60.0, 300.0]]);
    let (s, ack) = rest(
        &server,
        Method::PUT,
        "/api/v1/calibration",
        Some(json!({"corners": corners})),
    )
    .await;
    assert_eq!(s, 200, "{ack}");
    until(&mut ws, |v| {
        v["type"] == "state" && v["table"]["source"] == "calibrated"
    })
    .await;
    let (_, cal) = rest(&server, Method::GET, "/api/v1/calibration", None).await;
    assert_eq!(cal["source"], "calibrated");
    assert_eq!(cal["corners"], corners);
    // A bow tie is refused, naming the problem; the calibration stays.
    let bowtie = json!([[60.0, 40.0], [580.0, 300.0], [580.0, 40.0], [60.0, 300.0]]);
    let (s, err) = rest(
        &server,
        Method::PUT,
        "/api/v1/calibration",
        Some(json!({"corners": bowtie})),
    )
    .await;
    assert_eq!(s, 400, "{err}");
    assert_eq!(err["code"], "bad_args");
    assert!(err["message"].as_str().unwrap().contains("convex"), "{err}");
    let (_, cal) = rest(&server, Method::GET, "/api/v1/calibration", None).await;
    assert_eq!(cal["corners"], corners);
    let (s, game) = rest(&server, Method::GET, "/api/v1/game", None).await;
    assert_eq!(s, 200);
    assert!(game.is_object(), "{game}");
    server.stop().await;
}

/// The largest frame id among `game_state`'s recent events.
fn last_event_frame(game: &Value) -> u64 {
    game["recent"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["frame_id"].as_u64())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn game_reset_over_rest_starts_a_new_game() {
    use reqwest::Method;
    let server = start(TABLE).await;
    let mut ws = connect(&server).await;
    subscribe(&mut ws, json!(["state"])).await;
    // Play until the first shot has started and produced events.
    let before = until(&mut ws, |v| {
        v["type"] == "snapshot" && v["results"]["game_state"]["shots"].as_u64() >= Some(1)
    })
    .await;
    let before = &before["results"]["game_state"];
    assert!(
        before["recent"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "shot_started"),
        "{before}"
    );
    let last_before = last_event_frame(before);
    let (s, ack) = rest(&server, Method::POST, "/api/v1/game/reset", None).await;
    assert_eq!(s, 200, "{ack}");
    assert_eq!(ack["type"], "ack", "{ack}");
    // Shots only grow between resets: a snapshot with none shows the new game, with none of
    // the old game's events and nothing pocketed.
    let after = until(&mut ws, |v| {
        v["type"] == "snapshot" && v["results"]["game_state"]["shots"] == 0
    })
    .await;
    let after = &after["results"]["game_state"];
    assert!(
        after["recent"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["frame_id"].as_u64().unwrap() > last_before && e["kind"] != "shot_started"),
        "{after}"
    );
    assert_eq!(after["pocketed"], json!([]), "{after}");
    assert!(
        after["sequence"].as_u64().unwrap() > before["sequence"].as_u64().unwrap(),
        "the sequence keeps increasing: {after}"
    );
    // REST shows the same new game.
    let (s, game) = rest(&server, Method::GET, "/api/v1/game", None).await;
    assert_eq!(s, 200);
    assert!(game["shots"].as_u64().unwrap() <= 1, "{game}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn game_reset_without_a_game_state_stage_is_refused() {
    use reqwest::Method;
    let server = start(
        r#"
[[sources]]
id = "camera_0"
kind = "synthetic_table"
params = { width = 320, height = 180, fps = 30, seed = 3 }

[[stages]]
plugin = "table_detection"
"#,
    )
    .await;
    let (s, err) = rest(&server, Method::POST, "/api/v1/game/reset", None).await;
    assert_eq!(s, 404, "{err}");
    assert_eq!(err["code"], "unknown_target", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("game_state"),
        "{err}"
    );
    // The pipeline goes on: the table is still detected.
    let (s, cal) = rest(&server, Method::GET, "/api/v1/calibration", None).await;
    assert_eq!(s, 200, "{cal}");
    server.stop().await;
}
