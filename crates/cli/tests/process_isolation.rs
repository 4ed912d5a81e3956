//! `isolation = "process"` with the real `framebus` binary as the worker: a Rust stage in a
//! worker gives the same results as inline on the same frames, with zero copied frames; 100
//! `kill -9`s of the worker are each reported and followed by a restart, frames lost are
//! counted and results resume; SIGTERM to `framebus run` stops its worker, and SIGKILL of
//! framebus takes the worker down too.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{framebus, spawn_listening, term};
use crossbeam_channel::Receiver;
use framebus_core::clock::ManualClock;
use framebus_core::config::{Config, Format};
use framebus_core::protocol::Command;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_testkit::process::{
    Tap, alive, children, children_of, kill9, next_where, notifications,
};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);
const EXE: &str = env!("CARGO_BIN_EXE_framebus");

fn link() {
    framebus_stages::link();
    framebus_media::link();
}

fn start(text: &str, manual_clock: bool, max_frames: Option<u64>) -> (Runtime, Receiver<Value>) {
    link();
    let config = Config::parse(text, Format::Toml, "test.toml").unwrap();
    let (tap, rx) = Tap::new();
    let mut options = RuntimeOptions {
        observers: vec![tap as Arc<_>],
        max_frames,
        ..Default::default()
    };
    if manual_clock {
        options.clock = Arc::new(ManualClock::new());
    }
    (Runtime::start(&config, options).unwrap(), rx)
}

fn worker_status(rt: &Runtime, stage: &str) -> Value {
    rt.bus()
        .request_blocking(Command::new(stage, "worker_status", json!({})), T)
        .expect("worker_status answers")
        .result
}

#[test]
fn a_rust_stage_in_a_worker_gives_the_same_results_as_inline() {
    let blob = "params = { threshold = 200, min_area = 10, max_area = 5000 }";
    let (rt, rx) = start(
        &format!(
            r#"
            [[sources]]
            id = "camera_0"
            kind = "synthetic_rider"
            edge = {{ policy = "block", capacity = 4 }}
            params = {{ width = 320, height = 240, fps = 30 }}
            [[stages]]
            id = "inline"
            plugin = "blob_detection"
            {blob}
            [[stages]]
            id = "proc"
            plugin = "blob_detection"
            isolation = "process"
            worker = {{ exe = "{EXE}" }}
            {blob}
            [[stages]]
            id = "proc_small"
            plugin = "blob_detection"
            isolation = "process"
            # Slots of 256 bytes: a frame message fits, a result with blobs does not (it
            # goes on the socket and must still arrive, in order).
            worker = {{ exe = "{EXE}", slot_bytes = 256 }}
            {blob}
            "#
        ),
        true,
        Some(100_000),
    );
    // The pid `worker_status` reports is one of our child processes. Asked a few times: on a
    // heavily loaded machine the idle watchdog may restart the worker between the answer and
    // the look at /proc (whose `children` lists are only a snapshot).
    let pid = (0..20).find_map(|_| {
        let pid = worker_status(&rt, "proc")["pid"].as_u64()? as u32;
        children().contains(&pid).then_some(pid)
    });
    let pid = pid.expect("the worker is our child");
    let mut frames = 0;
    let mut blobs = 0;
    let mut big_results = 0;
    while frames < 60 {
        let s = rx.recv_timeout(T).expect("60 snapshots");
        frames += 1;
        assert_eq!(s["errors"], json!([]), "{}", s["errors"]);
        let (a, b) = (&s["results"]["inline"], &s["results"]["proc"]);
        assert!(!a.is_null(), "inline result on frame {}", s["frame_id"]);
        assert_eq!(a, b, "frame {}", s["frame_id"]);
        assert_eq!(a, &s["results"]["proc_small"], "frame {}", s["frame_id"]);
        big_results += usize::from(a.to_string().len() > 256);
        blobs += a["blobs"].as_array().map_or(0, Vec::len);
    }
    assert!(blobs > 0, "the frames had blobs to find");
    assert!(
        big_results > 0,
        "some results were larger than proc_small's slots"
    );
    let st = worker_status(&rt, "proc");
    assert!(st["frames"].as_u64() >= Some(60), "{st}");
    assert_eq!(st["copied_frames"], 0, "zero-copy: {st}");
    assert_eq!(st["lost_frames"], 0, "{st}");
    // Params and commands go through the worker.
    let reply = rt.bus().request_blocking(
        Command::new("proc", "set_params", json!({ "threshold": 300 })),
        T,
    );
    let err = reply.expect_err("out of range");
    assert_eq!(err.code, framebus_core::protocol::ErrorCode::BadArgs);
    let reply = rt
        .bus()
        .request_blocking(
            Command::new("proc", "set_params", json!({ "threshold": 180 })),
            T,
        )
        .expect("applied");
    assert_eq!(reply.result["threshold"], 180);
    let got = rt
        .bus()
        .request_blocking(Command::new("proc", "get_params", json!({})), T)
        .expect("params");
    assert_eq!(got.result["threshold"], 180);
    rt.shutdown();
    assert!(!alive(pid), "the worker stopped with the runtime");
}

#[test]
fn kill_9_of_the_worker_100_times() {
    let (rt, rx) = start(
        &format!(
            r#"
            [[sources]]
            id = "camera_0"
            kind = "synthetic_rider"
            params = {{ width = 160, height = 120, fps = 100 }}
            [[stages]]
            id = "proc"
            plugin = "blob_detection"
            isolation = "process"
            worker = {{ exe = "{EXE}", backoff_ms = 1, max_backoff_ms = 1, breaker_failures = 1000 }}
            "#
        ),
        false,
        None,
    );
    let mut killed = Vec::new();
    let (mut crashes, mut restarts) = (0, 0);
    let mut pid = worker_status(&rt, "proc")["pid"].as_u64().unwrap();
    for round in 0..100 {
        kill9(pid as u32);
        killed.push(pid);
        // Wait for the restart event (not a sleep): the notification names the new pid.
        let restarted = next_where(&rx, T, |s| {
            for (title, message) in notifications(s) {
                if title == "stage failed" && message.contains("died: signal 9 (SIGKILL)") {
                    crashes += 1;
                }
                if title == "worker restarted" {
                    restarts += 1;
                    return true;
                }
            }
            false
        });
        assert!(restarted.is_some(), "round {round}: no restart reported");
        let now = worker_status(&rt, "proc");
        pid = now["pid"]
            .as_u64()
            .expect("a live worker after the restart");
        assert_ne!(Some(pid), killed.last().copied());
    }
    // Results resume from the last worker.
    let snap = next_where(&rx, T, |s| !s["results"]["proc"].is_null()).expect("results resume");
    assert!(
        snap["errors"].as_array().unwrap().is_empty(),
        "{}",
        snap["errors"]
    );
    assert_eq!(
        (crashes, restarts),
        (100, 100),
        "every crash and restart reported"
    );
    let st = worker_status(&rt, "proc");
    assert_eq!(st["restarts"], 100, "{st}");
    assert_eq!(st["failures"], 100, "{st}");
    assert!(st["lost_frames"].as_u64().unwrap() >= 100, "{st}");
    let status = rt.status();
    let stage = &status.sources[0].stages[0];
    assert!(
        stage.enabled,
        "100 crashes, each recovered: the stage stays enabled"
    );
    assert_eq!(stage.worker.as_ref().unwrap().restarts, 100);
    rt.shutdown();
    for p in killed.into_iter().chain([pid]) {
        assert!(!alive(p as u32), "worker {p} left running");
    }
}

fn run_config(dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("proc.toml");
    std::fs::write(
        &config,
        r#"
[server]
bind = "127.0.0.1:0"

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
params = { width = 160, height = 120, fps = 30 }

[[stages]]
plugin = "blob_detection"
isolation = "process"
"#,
    )
    .unwrap();
    config
}

/// Waits (up to a deadline) until `cond` holds; false if it never did.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn sigterm_to_framebus_stops_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(dir.path());
    let (mut child, _addr) = spawn_listening(framebus().args(["run", config.to_str().unwrap()]));
    let workers = children_of(&child.id().to_string());
    assert_eq!(workers.len(), 1, "one worker: {workers:?}");
    term(child.id());
    assert!(child.wait().unwrap().success(), "clean exit on SIGTERM");
    assert!(!alive(workers[0]), "the worker stopped with framebus");
}

#[test]
fn no_worker_outlives_a_killed_framebus() {
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(dir.path());
    let (mut child, _addr) = spawn_listening(framebus().args(["run", config.to_str().unwrap()]));
    let workers = children_of(&child.id().to_string());
    assert_eq!(workers.len(), 1, "one worker: {workers:?}");
    kill9(child.id());
    let _ = child.wait();
    // The worker gets SIGKILL from the kernel (PR_SET_PDEATHSIG) and EOF on its socket.
    assert!(
        eventually(|| !alive(workers[0])),
        "worker {} outlived framebus",
        workers[0]
    );
}
