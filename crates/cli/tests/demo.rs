//! `framebus demo` end to end: it prints the address it bound, streams snapshots over
//! WebSocket, and on SIGTERM sends close frames and exits 0.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_and_shuts_down_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_framebus"))
        .args(["demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        (line, stdout)
    });
    let (line, mut stdout) = tokio::time::timeout(WAIT, line)
        .await
        .expect("bound in time")
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_owned();
    assert!(!addr.ends_with(":0"), "the real port is printed: {addr}");

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/stream"))
        .await
        .unwrap();
    let snap = tokio::time::timeout(WAIT, async {
        loop {
            if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "snapshot" {
                    return v;
                }
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(snap["results"]["blob_detection"]["count"], 6);
    let health: serde_json::Value = reqwest::get(format!("http://{addr}/api/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let close = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f,
                Some(Ok(_)) => {}
                other => panic!("ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame in time")
    .expect("with a code");
    assert_eq!(close.code, CloseCode::Away);
    let status = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("exits in time")
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(
        rest.trim().is_empty(),
        "exactly one line on stdout, then: {rest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_a_config_with_a_server_table() {
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bikefit.toml");
    let text = std::fs::read_to_string(example).unwrap() + "\n[server]\nbind = \"127.0.0.1:0\"\n";
    let cfg = dir.path().join("served.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_framebus"))
        .args(["run", cfg.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(WAIT, line)
        .await
        .expect("bound in time")
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    let config: serde_json::Value = reqwest::get(format!("http://{addr}/api/v1/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["sources"][0]["kind"], "synthetic_rider");
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("exits in time")
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
