//! `/ws/ingest/{source}` over real sockets: real JPEG files (binary and seed-003 JSON)
//! reach the pipeline; garbage, oversized and malformed frames are counted and refused
//! without closing the connection.

mod common;

use base64::Engine;
use common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const BROWSER: &str = r#"
[[sources]]
id = "webcam"
kind = "browser"

[[stages]]
plugin = "blob_detection"

[server]
max_ingest_bytes = 65536
"#;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jpeg_frames_reach_the_pipeline_and_garbage_is_refused() {
    let server = start(BROWSER).await;
    let mut stream = connect(&server).await;
    let (mut cam, _) = tokio_tungstenite::connect_async(server.ws_url("/ws/ingest/webcam"))
        .await
        .unwrap();

    // A real JPEG file as a binary message.
    cam.send(Message::binary(fixture("rider_1.jpg")))
        .await
        .unwrap();
    let ack = next_json(&mut cam).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["target"], "webcam");
    let snap = next_of(&mut stream, "snapshot").await;
    assert_eq!(snap["source"], "webcam");
    assert_eq!(snap["frame_id"], 1);
    assert_eq!(
        snap["results"]["blob_detection"]["count"], 6,
        "the six markers: {snap}"
    );
    let t1 = snap["t_ns"].as_u64().unwrap();
    // The ack brackets the frame's stamp: the sender can find the snapshot of its frame.
    let window = &ack["result"]["t_ns"];
    let (lo, hi) = (window[0].as_u64().unwrap(), window[1].as_u64().unwrap());
    assert!(lo <= t1 && t1 <= hi, "t_ns {t1} outside the ack's {window}");

    // The seed-003 JSON form, with a sequence echoed as the reply id.
    let b64 = base64::engine::general_purpose::STANDARD.encode(fixture("rider_40.jpg"));
    let msg = json!({"image": format!("data:image/jpeg;base64,{b64}"), "sequence": 41, "timestamp": 1234.5});
    cam.send(Message::text(msg.to_string())).await.unwrap();
    let ack = next_json(&mut cam).await;
    assert_eq!(
        (ack["type"].as_str(), ack["id"].as_u64()),
        (Some("ack"), Some(41)),
        "{ack}"
    );
    let snap = until(&mut stream, |v| {
        v["type"] == "snapshot" && v["frame_id"] == 2
    })
    .await;
    assert!(
        snap["t_ns"].as_u64().unwrap() > t1,
        "monotonic arrival timestamps"
    );
    assert_eq!(snap["results"]["blob_detection"]["count"], 6);

    // Garbage: (message, expected code, expected id).
    let cases: Vec<(Message, &str, Value)> = vec![
        (Message::binary(b"definitely not a jpeg".to_vec()), "bad_args", Value::Null),
        (Message::binary([&[0xff, 0xd8, 0xff][..], &[0x42; 500]].concat()), "bad_args", Value::Null),
        (Message::binary(Vec::new()), "bad_args", Value::Null),
        (Message::binary(vec![0xffu8; 70_000]), "too_large", Value::Null),
        (Message::text("not json"), "bad_message", Value::Null),
        (Message::text(json!({"sequence": 7}).to_string()), "bad_message", json!(7)),
        (Message::text(json!({"image": "data:image/jpeg;base64,@@@@", "sequence": 8}).to_string()), "bad_message", json!(8)),
        (Message::text(json!({"image": "data:text/plain,hello", "sequence": 9}).to_string()), "bad_message", json!(9)),
        (
            Message::text(json!({"image": format!("data:image/jpeg;base64,{}", "A".repeat(120_000)), "sequence": 10}).to_string()),
            "too_large",
            json!(10),
        ),
        (
            Message::text(json!({"image": format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(b"GIF89a")), "sequence": 11}).to_string()),
            "bad_args",
            json!(11),
        ),
    ];
    let refused = cases.len() as u64;
    for (i, (msg, code, id)) in cases.into_iter().enumerate() {
        cam.send(msg).await.unwrap();
        let e = next_json(&mut cam).await;
        assert_eq!(e["type"], "error", "case {i}: {e}");
        assert_eq!(e["code"], code, "case {i}: {e}");
        assert_eq!(e["id"], id, "case {i}: {e}");
    }

    // Still working: another real frame gets through.
    cam.send(Message::binary(fixture("rider_40.jpg")))
        .await
        .unwrap();
    assert_eq!(next_json(&mut cam).await["type"], "ack");
    until(&mut stream, |v| {
        v["type"] == "snapshot" && v["frame_id"] == 3
    })
    .await;

    // Counted: the server's refusals and the source's own rejects.
    let diag: Value = reqwest::get(server.url("/api/v1/diagnostics"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ingest = &diag["ingest"];
    assert_eq!(ingest["received"], 3 + refused, "{ingest}");
    assert_eq!(ingest["accepted"], 3, "{ingest}");
    assert_eq!(ingest["refused"], refused, "{ingest}");
    assert_eq!(ingest["sources"][0]["source"], "webcam");
    assert_eq!(
        ingest["sources"][0]["rejected"], 4,
        "undecodable frames seen by the source: {ingest}"
    );
    let metrics = server.get_text("/metrics").await;
    assert!(
        metrics.contains(&format!("framebus_ingest_frames_refused_total {refused}")),
        "{metrics}"
    );
    let health: Value = reqwest::get(server.url("/api/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["sources"][0]["status"], "ok");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_non_browser_sources_are_refused_before_upgrade() {
    let server = start(&format!(
        "{BROWSER}\n[[sources]]\nid = \"camera_1\"\nkind = \"synthetic_rider\"\n"
    ))
    .await;
    for path in ["/ws/ingest/nope", "/ws/ingest/camera_1"] {
        let err = tokio_tungstenite::connect_async(server.ws_url(path))
            .await
            .unwrap_err();
        match err {
            tokio_tungstenite::tungstenite::Error::Http(resp) => {
                assert_eq!(resp.status(), 404, "{path}")
            }
            other => panic!("{path}: {other}"),
        }
    }
    server.stop().await;
}
