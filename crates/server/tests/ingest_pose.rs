//! `examples/pose.toml` (browser source → pose → hands → geometry) over real sockets with the
//! real models: photos of people pushed to `/ws/ingest` come back as snapshots with body
//! keypoints; garbage frames in between are refused with a clear error each, reach no stage,
//! and the stream goes on (needs ONNX Runtime, as every pose test: `ORT_DYLIB_PATH`).

mod common;

use std::path::PathBuf;

use common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A photo from the pose fixtures (`crates/stages/tests/fixtures/`), as its PNG bytes.
fn photo(name: &str) -> Vec<u8> {
    let dir = repo().join("crates/stages/tests/fixtures");
    let path = [dir.join("people").join(name), dir.join(name)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no fixture {name}"));
    std::fs::read(path).unwrap()
}

/// The snapshot of frame `id`, which must carry no stage error.
async fn snapshot(stream: &mut Ws, id: u64) -> Value {
    let snap = until(stream, |v| v["type"] == "snapshot" && v["frame_id"] == id).await;
    assert_eq!(snap["errors"], json!([]), "frame {id}: {}", snap["errors"]);
    snap
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_are_refused_and_pose_goes_on() {
    let toml = std::fs::read_to_string(repo().join("examples/pose.toml")).unwrap();
    let server = start(&toml).await;
    let mut stream = connect(&server).await;
    let (mut cam, _) = tokio_tungstenite::connect_async(server.ws_url("/ws/ingest/camera_0"))
        .await
        .unwrap();

    // A real photo of people: a body with 33 keypoints, world points and angles.
    let person = photo("basketball1.png");
    cam.send(Message::binary(person.clone())).await.unwrap();
    assert_eq!(next_json(&mut cam).await["type"], "ack");
    let snap = snapshot(&mut stream, 1).await;
    let vision = &snap["results"]["vision"];
    assert_eq!(vision["valid"], true, "{vision}");
    assert_eq!(vision["keypoints"].as_array().unwrap().len(), 33);
    assert!(vision["angles"]["left_knee"].is_number(), "{vision}");
    assert!(snap["results"]["hands"]["hands"].is_array(), "{snap}");

    // Garbage: each refused with its own clear message, nothing closes.
    let half = person[..person.len() / 2].to_vec();
    let cases: Vec<(Message, &str, &str)> = vec![
        (
            Message::binary(b"not an image at all".to_vec()),
            "bad_args",
            "corrupt",
        ),
        (Message::binary(half), "bad_args", "corrupt"),
        (
            Message::binary([&[0xff, 0xd8, 0xff][..], &[0x17; 900]].concat()),
            "bad_args",
            "corrupt",
        ),
        (Message::binary(vec![0u8; 4096]), "bad_args", "corrupt"),
        (Message::binary(Vec::new()), "bad_args", "empty"),
        (Message::text("{\"image\": 42}"), "bad_message", "expected"),
        (Message::text("pose please"), "bad_message", "expected"),
    ];
    for (i, (msg, code, says)) in cases.into_iter().enumerate() {
        cam.send(msg).await.unwrap();
        let e = next_json(&mut cam).await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some(code)),
            "case {i}: {e}"
        );
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains(says),
            "case {i}: message `{message}` does not say `{says}`"
        );
    }

    // The stream goes on: nobody in a flat gray frame (not an error), then people again.
    cam.send(Message::binary(photo("empty_gray.png")))
        .await
        .unwrap();
    assert_eq!(next_json(&mut cam).await["type"], "ack");
    let snap = snapshot(&mut stream, 2).await;
    let vision = &snap["results"]["vision"];
    assert_eq!(vision["valid"], false, "{vision}");
    assert_eq!(vision["keypoints"], json!([]));
    cam.send(Message::binary(photo("basketball2.png")))
        .await
        .unwrap();
    assert_eq!(next_json(&mut cam).await["type"], "ack");
    let snap = snapshot(&mut stream, 3).await;
    assert_eq!(snap["results"]["vision"]["valid"], true);

    // Counted by the source, not by any stage; the source is healthy.
    let diag: Value = reqwest::get(server.url("/api/v1/diagnostics"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ingest = &diag["ingest"];
    assert_eq!(
        (ingest["accepted"].as_u64(), ingest["refused"].as_u64()),
        (Some(3), Some(7)),
        "{ingest}"
    );
    assert_eq!(
        ingest["sources"][0]["rejected"], 5,
        "undecodable frames seen by the source: {ingest}"
    );
    let health: Value = reqwest::get(server.url("/api/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["sources"][0]["status"], "ok", "{health}");
    server.stop().await;
}
