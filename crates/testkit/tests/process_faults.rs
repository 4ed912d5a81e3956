//! Process isolation under faults, with real worker processes (`framebus-test-worker`): a
//! worker that segfaults, aborts, exits or hangs is reported with its exit status or
//! deadline, restarted, and its results resume; repeated failures open the circuit breaker
//! until the stage is re-enabled; a worker that sends garbage, a result for another frame, or
//! speaks another protocol version is refused with a clear error. No worker outlives its
//! runtime.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use framebus_core::config::{Config, Format};
use framebus_core::protocol::Command;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_testkit::process::{Tap, alive, next_where, notifications};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);
const EXE: &str = env!("CARGO_BIN_EXE_framebus-test-worker");

fn start(stage: &str, worker: &str) -> Result<(Runtime, Receiver<Value>), String> {
    let text = format!(
        r#"
        [runtime]
        max_consecutive_failures = 1000
        [[sources]]
        id = "camera_0"
        kind = "test_ticks"
        params = {{ fps = 200 }}
        [[stages]]
        id = "f"
        plugin = "{stage}"
        isolation = "process"
        deadline_ms = 300
        worker = {{ exe = "{EXE}", backoff_ms = 1, max_backoff_ms = 2, {worker} }}
        "#
    );
    let config = Config::parse(&text, Format::Toml, "test.toml").map_err(|e| e.to_string())?;
    let (tap, rx) = Tap::new();
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            observers: vec![tap as Arc<_>],
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((rt, rx))
}

fn worker_status(rt: &Runtime) -> Value {
    let reply = rt
        .bus()
        .request_blocking(Command::new("f", "worker_status", json!({})), T);
    reply.expect("worker_status answers").result
}

/// Waits for a result from a worker other than `not_pid`; returns its pid.
fn result_from_new_worker(rx: &Receiver<Value>, not_pid: u64) -> u64 {
    let snap = next_where(rx, T, |s| {
        s["results"]["f"]["pid"]
            .as_u64()
            .is_some_and(|p| p != not_pid)
    })
    .expect("results resume from a new worker");
    snap["results"]["f"]["pid"].as_u64().unwrap()
}

fn error_where(rx: &Receiver<Value>, want: &str) -> String {
    let snap = next_where(rx, T, |s| {
        s["errors"].as_array().is_some_and(|e| {
            e.iter()
                .any(|e| e["message"].as_str().unwrap_or("").contains(want))
        })
    })
    .unwrap_or_else(|| panic!("no error containing {want:?}"));
    snap["errors"][0]["message"].as_str().unwrap().to_owned()
}

fn crash_and_recover(action: &str, want: &str) {
    let (rt, rx) = start("fault", "").unwrap();
    let first = result_from_new_worker(&rx, 0);
    let reply = rt
        .bus()
        .request_blocking(Command::new("f", "arm", json!({ "action": action })), T);
    assert!(reply.is_ok(), "{reply:?}");
    let message = error_where(&rx, want);
    assert!(message.contains("worker for f"), "{message}");
    next_where(&rx, T, |s| {
        notifications(s)
            .iter()
            .any(|(t, _)| t == "worker restarted")
    })
    .expect("the restart is reported");
    let second = result_from_new_worker(&rx, first);
    assert!(!alive(first as u32), "the failed worker is gone");
    let st = worker_status(&rt);
    assert_eq!(st["restarts"], 1, "{st}");
    assert_eq!(st["failures"], 1, "{st}");
    assert!(st["lost_frames"].as_u64().unwrap() >= 1, "{st}");
    assert_eq!(
        st["copied_frames"], 0,
        "frames went through shared memory: {st}"
    );
    rt.shutdown();
    assert!(!alive(second as u32), "no worker outlives the runtime");
}

#[test]
fn a_segfault_is_reported_and_the_worker_restarted() {
    crash_and_recover("segfault", "died: signal 11 (SIGSEGV)");
}

#[test]
fn an_abort_is_reported_and_the_worker_restarted() {
    crash_and_recover("abort", "died: signal 6 (SIGABRT)");
}

#[test]
fn an_exit_is_reported_with_its_code() {
    crash_and_recover("exit", "died: exit code 3");
}

#[test]
fn a_hung_worker_hits_its_deadline_and_is_killed() {
    crash_and_recover("hang", "hung: no answer to frame");
}

/// Waits (up to `t`) for process `pid` to exit, on a pidfd; true if it did.
fn exits_within(pid: u32, t: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return false;
    };
    let Ok(fd) = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) else {
        return !alive(pid);
    };
    let ts = Timespec {
        tv_sec: t.as_secs() as _,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
}

#[test]
fn a_worker_hung_while_no_frames_flow_is_caught_by_the_heartbeat() {
    let (rt, rx) = start("fault", "heartbeat_timeout_ms = 200").unwrap();
    let first = result_from_new_worker(&rx, 0);
    let pause = |cmd: &str| {
        let r = rt
            .bus()
            .request_blocking(Command::new("pipeline", cmd, json!({})), T);
        assert!(r.is_ok(), "{r:?}");
    };
    pause("pause");
    // Frames stop; the worker stops answering (SIGSTOP: alive, but hung).
    let pid = rustix::process::Pid::from_raw(first as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    // With no frame to time out, only the idle heartbeat can find it: it is killed.
    assert!(
        exits_within(first as u32, T),
        "the hung idle worker was not killed"
    );
    pause("run");
    let message = error_where(
        &rx,
        "hung: no answer to a heartbeat within 200 ms while idle",
    );
    assert!(message.contains("worker for f"), "{message}");
    let second = result_from_new_worker(&rx, first);
    let st = worker_status(&rt);
    assert_eq!(st["failures"], 1, "{st}");
    assert_eq!(st["restarts"], 1, "{st}");
    rt.shutdown();
    assert!(!alive(second as u32), "no worker outlives the runtime");
}

#[test]
fn repeated_failures_open_the_breaker_until_re_enabled() {
    let (rt, rx) = start("fault", "breaker_failures = 3").unwrap();
    let mut pid = result_from_new_worker(&rx, 0);
    let mut pids = vec![pid];
    for _ in 0..3 {
        let reply = rt
            .bus()
            .request_blocking(Command::new("f", "arm", json!({ "action": "exit" })), T);
        assert!(reply.is_ok(), "{reply:?}");
        if pids.len() < 3 {
            pid = result_from_new_worker(&rx, pid);
            pids.push(pid);
        }
    }
    let message = error_where(&rx, "circuit breaker open after 3 failures");
    assert!(message.contains("exit code 3"), "{message}");
    let st = worker_status(&rt);
    assert_eq!(st["state"], "failed", "{st}");
    assert_eq!(st["restarts"], 2, "{st}");
    assert_eq!(st["broken"], true, "{st}");
    // Commands other than the status are refused while failed, with the reason.
    let reply = rt
        .bus()
        .request_blocking(Command::new("f", "arm", json!({ "action": "exit" })), T);
    let err = reply.expect_err("refused while the breaker is open");
    assert!(err.message.contains("circuit breaker"), "{}", err.message);
    // Re-enabling closes the breaker and starts a worker.
    let reply = rt.bus().request_blocking(
        Command::new("pipeline", "enable_stage", json!({ "stage": "f" })),
        T,
    );
    assert!(reply.is_ok(), "{reply:?}");
    let back = result_from_new_worker(&rx, pid);
    assert_eq!(worker_status(&rt)["state"], "running");
    rt.shutdown();
    for p in pids.into_iter().chain([back]) {
        assert!(!alive(p as u32), "worker {p} left running");
    }
}

#[test]
fn garbage_from_a_worker_is_a_protocol_error() {
    let (rt, rx) = start("fault_garbage", "breaker_failures = 2").unwrap();
    let message = error_where(&rx, "protocol error: unparsable message");
    assert!(message.contains("killed"), "{message}");
    error_where(&rx, "circuit breaker open after 2 failures");
    let st = worker_status(&rt);
    assert_eq!(
        (st["failures"].as_u64(), st["restarts"].as_u64()),
        (Some(2), Some(1)),
        "{st}"
    );
    assert_eq!(st["frames"], 0, "no garbage was taken for a result: {st}");
    rt.shutdown();
}

#[test]
fn a_result_for_another_frame_is_refused() {
    let (rt, rx) = start("fault_wrong_seq", "breaker_failures = 2").unwrap();
    let message = error_where(&rx, "protocol error: a result for seq 8");
    assert!(message.contains("(seq 1) was sent"), "{message}");
    assert_eq!(worker_status(&rt)["frames"], 0);
    rt.shutdown();
}

#[test]
fn a_worker_of_another_protocol_version_is_refused_at_start() {
    let e = start("fault_wrong_version", "").err().expect("refused");
    // The test worker answers with a version 98 past ours.
    let other = framebus_core::protocol::worker::PROTOCOL_VERSION + 98;
    assert!(e.contains(&format!("speaks protocol {other}")), "{e}");
    assert!(e.contains("stages[0]"), "located: {e}");
}

#[test]
fn bad_commands_to_a_worker_change_nothing() {
    let (rt, rx) = start("fault", "").unwrap();
    let pid = result_from_new_worker(&rx, 0);
    let bad = rt
        .bus()
        .request_blocking(Command::new("f", "arm", json!({ "action": "explode" })), T)
        .expect_err("bad args");
    assert!(
        bad.message.contains("no action `explode`"),
        "{}",
        bad.message
    );
    let unknown = rt
        .bus()
        .request_blocking(Command::new("f", "fly", json!({})), T)
        .expect_err("unknown");
    assert!(unknown.message.contains("fly"), "{}", unknown.message);
    let bad_params = rt
        .bus()
        .request_blocking(Command::new("f", "set_params", json!({ "nope": 1 })), T)
        .expect_err("unknown param");
    assert!(
        bad_params.message.contains("nope"),
        "{}",
        bad_params.message
    );
    // The same worker goes on.
    let snap = next_where(&rx, T, |s| s["results"]["f"]["frames"].as_u64() > Some(5)).unwrap();
    assert_eq!(snap["results"]["f"]["pid"].as_u64(), Some(pid));
    assert_eq!(worker_status(&rt)["failures"], 0);
    rt.shutdown();
    assert!(!alive(pid as u32));
}
