//! Every malformed input we could think of gets an error reply on `/ws/stream`, and the
//! connection and the pipeline keep working afterwards.

mod common;

use common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The next error reply (any id).
async fn next_error(ws: &mut Ws) -> Value {
    next_of(ws, "error").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_inputs_get_error_replies_and_nothing_breaks() {
    let server = start(&format!("{RIDER}\n[server]\nmax_message_bytes = 8192\n")).await;
    let mut ws = connect(&server).await;
    next_of(&mut ws, "snapshot").await;

    // (raw text, expected code, expected id)
    let nested = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let cases: Vec<(String, &str, Value)> = vec![
        ("not json".into(), "bad_message", Value::Null),
        ("".into(), "bad_message", Value::Null),
        ("{\"target\": ".into(), "bad_message", Value::Null),
        ("null".into(), "bad_message", Value::Null),
        ("42".into(), "bad_message", Value::Null),
        ("\"set_params\"".into(), "bad_message", Value::Null),
        ("[1,2,3]".into(), "bad_message", Value::Null),
        ("{}".into(), "bad_message", Value::Null),
        (nested, "bad_message", Value::Null),
        (json!({"id": 1, "hello": "world"}).to_string(), "bad_message", json!(1)),
        (json!({"id": 2, "target": 5, "payload": {"cmd": "set_params"}}).to_string(), "bad_message", json!(2)),
        (json!({"id": 3, "target": "blob_detection"}).to_string(), "bad_message", json!(3)),
        (json!({"id": 4, "target": "blob_detection", "payload": {"cmd": 9}}).to_string(), "bad_message", json!(4)),
        (json!({"id": 5, "target": "blob_detection", "payload": {"cmd": "set_params"}, "extra": 1}).to_string(), "bad_message", json!(5)),
        (json!({"id": 6, "target": "nope", "payload": {"cmd": "set_params", "args": {}}}).to_string(), "unknown_target", json!(6)),
        (json!({"id": 7, "target": "blob_detecton", "payload": {"cmd": "set_params"}}).to_string(), "unknown_target", json!(7)),
        (json!({"id": 8, "target": "blob_detection", "payload": {"cmd": "explode"}}).to_string(), "unknown_command", json!(8)),
        (json!({"id": 9, "target": "blob_detection", "payload": {"cmd": "set_params", "args": {"threshold": "high"}}}).to_string(), "bad_args", json!(9)),
        (json!({"id": 10, "target": "blob_detection", "payload": {"cmd": "set_params", "args": {"threshold": 999}}}).to_string(), "bad_args", json!(10)),
        (json!({"id": 11, "target": "blob_detection", "payload": {"cmd": "set_params", "args": {"no_such": 1}}}).to_string(), "bad_args", json!(11)),
        (json!({"id": 12, "target": "blob_detection", "payload": {"cmd": "set_params", "args": [1]}}).to_string(), "bad_args", json!(12)),
        (json!({"id": 13, "target": "pipeline", "payload": {"cmd": "set_state", "args": {"state": "flying"}}}).to_string(), "bad_args", json!(13)),
        (json!({"id": 14, "target": "pipeline", "payload": {"cmd": "self_destruct"}}).to_string(), "unknown_command", json!(14)),
        (json!({"id": 15, "stage_id": "blob_detection", "cmd": "Delete", "key": "threshold", "value": 1}).to_string(), "bad_message", json!(15)),
        (json!({"id": 16, "stage_id": "blob_detection", "cmd": "UpdateParam", "key": "threshold", "value": -4}).to_string(), "bad_args", json!(16)),
        (json!({"id": 17, "type": "teleport"}).to_string(), "bad_message", json!(17)),
        (json!({"type": "subscribe", "streams": ["nope"]}).to_string(), "bad_message", Value::Null),
        (json!({"type": "subscribe", "streams": "state"}).to_string(), "bad_message", Value::Null),
        (json!({"type": "subscribe", "streams": ["state"], "max_fps": -1}).to_string(), "bad_args", Value::Null),
        (json!({"type": "subscribe", "streams": ["state"], "max_fps": 0}).to_string(), "bad_args", Value::Null),
        ("x".repeat(9000), "too_large", Value::Null),
        (format!("{{\"id\": 18, \"target\": \"blob_detection\", \"pad\": \"{}\"}}", "x".repeat(100_000)), "too_large", Value::Null),
    ];
    for (i, (raw, code, id)) in cases.iter().enumerate() {
        ws.send(Message::text(raw.clone())).await.unwrap();
        let e = next_error(&mut ws).await;
        let shown: String = raw.chars().take(80).collect();
        assert_eq!(e["code"], *code, "case {i} `{shown}`: {e}");
        assert_eq!(e["id"], *id, "case {i} `{shown}`: {e}");
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "case {i}: {e}"
        );
    }
    // Binary on the command channel.
    ws.send(Message::binary(vec![0xff, 0xd8, 0x00, 0x01]))
        .await
        .unwrap();
    let e = next_error(&mut ws).await;
    assert_eq!(e["code"], "bad_message", "{e}");

    // The connection still works: a good command is acked, snapshots keep coming and show
    // the threshold unchanged by the refused commands.
    send(
        &mut ws,
        &json!({"id": "ok", "target": "blob_detection", "payload": {"cmd": "get_params"}}),
    )
    .await;
    let ack = reply(&mut ws, &json!("ok")).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["result"]["threshold"], 200);
    let before = next_of(&mut ws, "snapshot").await["sequence"]
        .as_u64()
        .unwrap();
    let after = until(&mut ws, |v| {
        v["type"] == "snapshot" && v["sequence"].as_u64() > Some(before + 5)
    })
    .await;
    assert_eq!(
        after["results"]["blob_detection"]["params"]["threshold"],
        200
    );
    assert!(after["errors"].as_array().unwrap().is_empty(), "{after}");

    // And so does the rest of the server.
    let me = server.state.clients().into_iter().next().unwrap();
    assert!(
        me.stats.bad_messages as usize >= cases.len() - 14,
        "{:?}",
        me.stats
    );
    let health: Value = reqwest::get(server.url("/api/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_past_the_hard_cap_closes_only_that_connection() {
    let server = start(&format!("{RIDER}\n[server]\nmax_message_bytes = 1024\n")).await;
    let mut bad = connect(&server).await;
    let mut good = connect(&server).await;
    // The hard cap is max(16 × 1 KiB, 1 MiB): 2 MiB is refused by the WebSocket layer.
    let _ = bad.send(Message::text("y".repeat(2 << 20))).await;
    let closed = tokio::time::timeout(WAIT, async {
        use futures_util::StreamExt;
        loop {
            match bad.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the oversized connection should be closed");
    send(
        &mut good,
        &json!({"id": 1, "target": "blob_detection", "payload": {"cmd": "get_params"}}),
    )
    .await;
    assert_eq!(reply(&mut good, &json!(1)).await["type"], "ack");
    next_of(&mut good, "snapshot").await;
    server.stop().await;
}
