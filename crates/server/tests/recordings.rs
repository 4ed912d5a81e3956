//! Recordings and clips over a real socket: record from the WebSocket, cut a clip, list both
//! over REST, download them whole and by range with the right content types, and refuse
//! paths that try to leave the recordings folder.

mod common;

use std::sync::Arc;

use common::{WAIT, next_of, reply, send};
use framebus_core::config::{Config, Format};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_server::{AppState, Hub, PreviewSettings};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

struct Served {
    addr: std::net::SocketAddr,
    recorder: Arc<framebus_media::Recorder>,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn serve() -> Served {
    common::link();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[runtime]
recordings_dir = "{}"
clip_pre_s = 2
record_queue_frames = 64

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
clips = true
params = {{ width = 320, height = 240, fps = 30 }}
"#,
        dir.path().display()
    );
    let config = Config::parse(&text, Format::Toml, "test.toml").unwrap();
    let hub = Hub::new(1, PreviewSettings::default());
    let recorder = Arc::new(framebus_media::Recorder::new(&config, vec![hub.observer()]).unwrap());
    let runtime = Runtime::start(
        &config,
        RuntimeOptions {
            observers: vec![hub.observer(), recorder.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    let state =
        AppState::new(Arc::new(runtime), hub, Default::default()).with_recorder(recorder.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(framebus_server::run(listener, state, shutdown.clone()));
    Served {
        addr,
        recorder,
        shutdown,
        handle,
        _dir: dir,
    }
}

/// Sends `raw` request bytes as they are (no client-side path normalisation); returns the
/// status line.
async fn raw_status(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains("root:"), "leaked a system file for {path}");
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_clip_list_download_and_refuse_traversal() {
    let s = serve().await;
    let base = format!("http://{}", s.addr);
    let http = reqwest::Client::new();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws/stream", s.addr))
        .await
        .unwrap();
    send(
        &mut ws,
        &json!({"id": 1, "target": "pipeline", "payload": {"cmd": "record"}}),
    )
    .await;
    assert_eq!(reply(&mut ws, &json!(1)).await["type"], "ack");
    // Recording: elapsed time and size are visible while it runs.
    let mut active = Value::Null;
    for _ in 0..200 {
        let body: Value = http
            .get(format!("{base}/api/v1/recordings"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["active"]["frames"].as_u64().unwrap_or(0) >= 45 {
            active = body["active"].clone();
            break;
        }
        next_of(&mut ws, "snapshot").await;
    }
    assert!(active["bytes"].as_u64().unwrap() > 0, "{active}");
    assert!(active["elapsed_s"].as_f64().unwrap() > 0.0);
    send(
        &mut ws,
        &json!({"id": 2, "target": "camera_0", "payload": {"cmd": "save_clip",
                "args": {"pre_s": 1, "post_s": 0.5, "label": "test"}}}),
    )
    .await;
    let ack = reply(&mut ws, &json!(2)).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let clip_id = ack["result"]["clip_id"].as_str().unwrap().to_owned();
    let saved = common::until(&mut ws, |v| v["type"] == "clip_saved").await;
    assert_eq!(saved["id"], clip_id.as_str());
    assert!(saved["frames"].as_u64().unwrap() >= 30, "{saved}");
    send(
        &mut ws,
        &json!({"id": 3, "target": "pipeline", "payload": {"cmd": "stop_recording"}}),
    )
    .await;
    assert_eq!(reply(&mut ws, &json!(3)).await["type"], "ack");
    let rec = next_of(&mut ws, "recording_saved").await;
    assert!(rec["frames"].as_u64().unwrap() >= 45);

    let list: Value = http
        .get(format!("{base}/api/v1/recordings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["active"].is_null());
    let session = &list["sessions"][0];
    assert_eq!(session["name"], rec["session"]);
    let names: Vec<&str> = session["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for want in [
        "camera_0.mp4",
        "snapshots.jsonl",
        "commands.jsonl",
        "config.json",
        "session.json",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    let video = session["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "camera_0.mp4")
        .unwrap();
    assert_eq!(video["frames"], rec["frames"]);
    assert_eq!(video["content_type"], "video/mp4");
    let url = format!("{base}{}", video["url"].as_str().unwrap());
    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    let bytes = whole.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, video["bytes"].as_u64().unwrap());
    assert!(framebus_testkit::mp4::is_faststart(&bytes));
    let part = http
        .get(&url)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(&part.bytes().await.unwrap()[..], &bytes[100..200]);
    let snaps = http
        .get(format!(
            "{base}/api/v1/recordings/{}/snapshots.jsonl",
            rec["session"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(snaps.headers()["content-type"], "application/x-ndjson");
    let text = snaps.text().await.unwrap();
    assert_eq!(text.lines().count() as u64, rec["frames"].as_u64().unwrap());

    let clips: Value = http
        .get(format!("{base}/api/v1/clips"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let clip = &clips["clips"][0];
    assert_eq!(clip["id"], clip_id.as_str());
    assert_eq!(clip["meta"]["label"], "test");
    assert_eq!(clip["file"]["frames"], saved["frames"]);
    let c = http
        .get(format!("{base}{}", clip["file"]["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), 200);
    assert_eq!(c.headers()["content-type"], "video/mp4");

    // Paths that try to leave the folder are refused, whichever way they are written.
    for path in [
        "/api/v1/clips/..",
        "/api/v1/clips/%2e%2e",
        "/api/v1/clips/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/v1/clips/%2Fetc%2Fpasswd",
        "/api/v1/recordings/../../etc/passwd",
        "/api/v1/recordings/%2e%2e/%2e%2e",
        "/api/v1/recordings/%2Fetc/passwd",
        "/api/v1/recordings/.hidden/x",
        "/api/v1/recordings/x/..%5C..%5Cetc",
        "/api/v1/recordings/nothing/here.mp4",
    ] {
        let status = raw_status(s.addr, path).await;
        assert!(
            status.contains(" 400 ") || status.contains(" 404 "),
            "{path}: {status}"
        );
    }
    drop(ws);
    s.shutdown.cancel();
    s.handle.await.unwrap().unwrap();
    s.recorder.close();
}
