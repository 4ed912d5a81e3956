//! `/ws/stream` over real sockets: snapshot shape, commands and their effect, subscriptions,
//! fps caps, video preview, compression, events.

mod common;

use std::io::Read;

use common::*;
use framebus_protocol::VideoHeader;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_has_the_seed_000_fields() {
    let server = start(RIDER).await;
    let mut ws = connect(&server).await;
    let snap = next_of(&mut ws, "snapshot").await;
    for key in [
        "frame_id",
        "camera_id",
        "fps",
        "results",
        "widgets",
        "notifications",
        "active_plugins",
        "errors",
        "sequence",
        "t_ns",
        "state",
        "source",
        "signals",
        "dropped",
    ] {
        assert!(snap.get(key).is_some(), "snapshot lacks `{key}`: {snap}");
    }
    assert!(snap["frame_id"].as_u64().unwrap() >= 1);
    assert_eq!(snap["camera_id"], 0);
    assert_eq!(snap["source"], "camera_0");
    assert!(snap["fps"].is_number());
    assert!(snap["results"]["blob_detection"].is_object(), "{snap}");
    let plugin = &snap["active_plugins"][0];
    assert_eq!(plugin["id"], "blob_detection");
    assert!(plugin["performance_ms"].is_number());
    assert!(
        snap["widgets"].is_array() && snap["notifications"].is_array() && snap["errors"].is_array()
    );
    // Frame ids and sequences only grow.
    let next = next_of(&mut ws, "snapshot").await;
    assert!(next["sequence"].as_u64() > snap["sequence"].as_u64());
    assert!(next["frame_id"].as_u64() > snap["frame_id"].as_u64());
    server.stop().await;
}

fn threshold(snap: &Value) -> u64 {
    snap["results"]["blob_detection"]["params"]["threshold"]
        .as_u64()
        .expect("threshold in results")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_command_is_acked_and_takes_effect() {
    let server = start(RIDER).await;
    let mut ws = connect(&server).await;
    assert_eq!(threshold(&next_of(&mut ws, "snapshot").await), 200);
    send(
        &mut ws,
        &json!({"id": 7, "target": "blob_detection", "payload": {"cmd": "set_params", "args": {"threshold": 120}}}),
    )
    .await;
    let ack = reply(&mut ws, &json!(7)).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["target"], "blob_detection");
    assert_eq!(ack["cmd"], "set_params");
    assert_eq!(ack["result"]["threshold"], 120);
    // Replies overtake snapshots already built: at most one stale snapshot may still come.
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(threshold(&next_of(&mut ws, "snapshot").await));
    }
    assert!(seen[1..].iter().all(|t| *t == 120), "{seen:?}");

    // The seed-001 alias does the same.
    send(&mut ws, &json!({"id": "u1", "stage_id": "blob_detection", "cmd": "UpdateParam", "key": "threshold", "value": 90})).await;
    let ack = reply(&mut ws, &json!("u1")).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["result"]["threshold"], 90);
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(threshold(&next_of(&mut ws, "snapshot").await));
    }
    assert!(seen[1..].iter().all(|t| *t == 90), "{seen:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_state_events_and_config() {
    let server = start(RIDER).await;
    let mut ws = connect(&server).await;
    send(&mut ws, &json!({"type": "ping", "id": 3})).await;
    assert_eq!(next_of(&mut ws, "pong").await["id"], 3);

    send(
        &mut ws,
        &json!({"id": 1, "target": "pipeline", "payload": {"cmd": "pause"}}),
    )
    .await;
    // The ack and the event may come in either order.
    let (mut changed, mut acked) = (None, false);
    while changed.is_none() || !acked {
        let m = until(&mut ws, |v| v["type"] == "state_changed" || v["id"] == 1).await;
        if m["type"] == "state_changed" {
            changed = Some(m);
        } else {
            assert_eq!(m["type"], "ack", "{m}");
            assert_eq!(m["result"]["state"], "paused");
            acked = true;
        }
    }
    let changed = changed.unwrap();
    assert_eq!(
        (changed["from"].as_str(), changed["to"].as_str()),
        (Some("running"), Some("paused"))
    );
    send(
        &mut ws,
        &json!({"id": 2, "target": "pipeline", "payload": {"cmd": "run"}}),
    )
    .await;
    assert_eq!(reply(&mut ws, &json!(2)).await["type"], "ack");
    let snap = next_of(&mut ws, "snapshot").await;
    assert!(snap["state"] == "running" || snap["state"] == "paused");

    send(
        &mut ws,
        &json!({"type": "subscribe", "streams": ["config", "events"]}),
    )
    .await;
    let config = next_of(&mut ws, "config").await;
    assert_eq!(config["config"]["sources"][0]["id"], "camera_0");
    assert!(config["config"]["server"]["bind"].is_string());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fps_cap_holds_back_snapshots() {
    let server = start(RIDER).await;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &json!({"type": "subscribe", "streams": ["state"], "max_fps": 10}),
    )
    .await;
    let ack = until(&mut ws, |v| v["type"] == "ack" && v["cmd"] == "subscribe").await;
    assert_eq!(ack["result"]["max_fps"], 10.0);
    let published_before = server.state.hub().snapshots_published();
    let mut got = 0;
    while got < 15 {
        next_of(&mut ws, "snapshot").await;
        got += 1;
    }
    let published = server.state.hub().snapshots_published() - published_before;
    // 15 snapshots at 10 fps from a 60 fps source: far more were published than sent.
    assert!(
        published >= 2 * got,
        "published {published}, received {got}"
    );
    let me = server.state.clients().into_iter().next().unwrap();
    assert!(me.stats.capped > 0, "{:?}", me.stats);
    // A capped client is still written to by the publishing thread when a snapshot is due.
    assert!(me.stats.snapshots_direct > 0, "{:?}", me.stats);
    assert_eq!(me.max_fps, Some(10.0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_is_encoded_once_for_all_watchers() {
    let server = start(RIDER).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut ws = connect(&server).await;
        send(&mut ws, &json!({"type": "subscribe", "streams": ["video"]})).await;
        clients.push(ws);
    }
    let mut last_ids = vec![0u64; clients.len()];
    for _ in 0..10 {
        for (i, ws) in clients.iter_mut().enumerate() {
            let bin = tokio::time::timeout(WAIT, async {
                loop {
                    if let Message::Binary(b) = ws.next().await.unwrap().unwrap() {
                        return b;
                    }
                }
            })
            .await
            .unwrap();
            let (header, jpeg) = VideoHeader::parse(&bin).expect("video header");
            assert_eq!(header.camera_id, 0);
            assert_eq!((header.width, header.height), (320, 240));
            assert!(header.frame_id > last_ids[i], "frame ids grow");
            last_ids[i] = header.frame_id;
            let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
                .expect("a JPEG");
            assert_eq!((img.width(), img.height()), (320, 240));
        }
    }
    // One encode per frame whatever the number of watchers.
    let encoded = server.state.hub().video_encoded();
    let published = server.state.hub().snapshots_published();
    assert!(
        encoded <= published,
        "encoded {encoded} > frames {published}"
    );
    let sent: u64 = server
        .state
        .clients()
        .iter()
        .map(|c| c.stats.video_sent)
        .sum();
    // (The counter of the last send may trail the client's receipt by a moment.)
    assert!(
        sent + 3 >= 30 && sent > 2 * encoded.min(10),
        "sent {sent}, encoded {encoded}"
    );
    drop(clients);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_is_opt_in_over_1_kib() {
    let toml = format!(
        "{RIDER}\n[[stages]]\nplugin = \"camera_control\"\n[[stages]]\nplugin = \"marker_manager\"\n[[stages]]\nplugin = \"geometry_manager\"\n"
    );
    let server = start(&toml).await;
    let mut ws = connect(&server).await;
    let plain = next_of(&mut ws, "snapshot").await;
    let size = plain.to_string().len();
    assert!(
        size > 1024,
        "the BikeFit snapshot should be over 1 KiB, is {size}"
    );
    send(
        &mut ws,
        &json!({"type": "subscribe", "streams": ["state"], "compress": true}),
    )
    .await;
    let bin = tokio::time::timeout(WAIT, async {
        loop {
            if let Message::Binary(b) = ws.next().await.unwrap().unwrap() {
                return b;
            }
        }
    })
    .await
    .unwrap();
    let z = framebus_protocol::compressed::payload(&bin).expect("FBZ1 magic");
    let mut text = String::new();
    flate2_read(z, &mut text);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "snapshot");
    assert!(bin.len() < text.len() * 9 / 10);
    // Small messages stay text even when compression is on.
    send(&mut ws, &json!({"type": "ping", "id": "small"})).await;
    assert_eq!(next_of(&mut ws, "pong").await["id"], "small");
    let me = server.state.clients().into_iter().next().unwrap();
    assert!(me.compress && me.stats.compressed > 0);
    server.stop().await;
}

fn flate2_read(z: &[u8], out: &mut String) {
    flate2::read::ZlibDecoder::new(z)
        .read_to_string(out)
        .expect("zlib stream");
}
