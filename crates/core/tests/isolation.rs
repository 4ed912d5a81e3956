//! Stage isolation, thread side: thread groups run in parallel and merge like inline runs,
//! deadlines, `latest` stages, commands to busy stages, config errors. No test sleeps to
//! synchronise or asserts on time: stages are held and released by the test, parallelism
//! is shown by recorded intervals.

mod common;

use std::sync::atomic::Ordering;

use common::iso::{counters, intervals};
use common::*;
use framebus_core::config::{Config, Format};
use framebus_core::protocol::{Command, ErrorCode};
use serde_json::{Value, json};

/// The snapshot of stage `id` in `active_plugins`.
fn active<'a>(snap: &'a Value, id: &str) -> &'a Value {
    snap["active_plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap()
}

#[test]
fn three_thread_stages_run_in_parallel_on_each_frame() {
    let c = Collect::new();
    let stage = |id: &str| {
        format!(
            r#"
            [[stages]]
            id = "{id}"
            plugin = "test_work"
            isolation = "thread"
            params = {{ key = "join3", peers = 3, work_ms = 20 }}
            "#
        )
    };
    let text = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = {{ policy = "block", capacity = 2 }}
        params = {{ frames = 5 }}
        {}{}{}
        [[stages]]
        plugin = "test_probe"
        "#,
        stage("w1"),
        stage("w2"),
        stage("w3")
    );
    let rt = start(&text, &c);
    assert!(wait_until(|| rt.finished()));
    let snaps = c.take();
    assert_eq!(snaps.len(), 5);
    for s in &snaps {
        let id = s["frame_id"].as_u64().unwrap();
        for w in ["w1", "w2", "w3"] {
            assert_eq!(s["results"][w]["frame_id"], id, "{s}");
            assert_eq!(s["results"][w]["peers_seen"], 3, "{w} met both peers: {s}");
        }
        assert_eq!(s["results"]["test_probe"]["frame_id"], id);
        assert_eq!(s["errors"], json!([]));
    }
    // Every frame: the three intervals overlap (each started before any ended).
    let log = intervals().lock().unwrap()["join3"].clone();
    assert_eq!(log.len(), 15);
    for frame in 1..=5u64 {
        let runs: Vec<_> = log.iter().filter(|r| r.1 == frame).collect();
        assert_eq!(runs.len(), 3);
        let last_start = runs.iter().map(|r| r.2).max().unwrap();
        let first_end = runs.iter().map(|r| r.3).min().unwrap();
        assert!(
            last_start < first_end,
            "frame {frame}: stages did not overlap"
        );
        assert!(runs.iter().all(|r| r.4 == 3), "frame {frame}: {runs:?}");
    }
    rt.shutdown();
}

#[test]
fn after_puts_a_thread_stage_behind_its_group() {
    // w2 names w1 in `after`: two groups of one, so neither ever meets the other.
    let c = Collect::new();
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = { policy = "block", capacity = 2 }
        params = { frames = 3 }
        [[stages]]
        id = "w1"
        plugin = "test_work"
        isolation = "thread"
        params = { key = "after" }
        [[stages]]
        id = "w2"
        plugin = "test_work"
        isolation = "thread"
        after = ["w1"]
        params = { key = "after" }
        "#,
        &c,
    );
    assert!(wait_until(|| rt.finished()));
    let log = intervals().lock().unwrap()["after"].clone();
    for frame in 1..=3u64 {
        let w1 = log.iter().find(|r| r.1 == frame && r.0 == "w1").unwrap();
        let w2 = log.iter().find(|r| r.1 == frame && r.0 == "w2").unwrap();
        assert!(w1.3 <= w2.2, "frame {frame}: w2 started before w1 ended");
        assert_eq!(w2.4, 2, "w2 arrives second");
    }
    rt.shutdown();
}

/// Removes what differs between two runs of the same frames: wall-clock timings.
fn comparable(mut s: Value) -> Value {
    for a in s["active_plugins"].as_array_mut().unwrap() {
        a.as_object_mut().unwrap().remove("performance_ms");
    }
    for o in s["observations"].as_array_mut().unwrap() {
        o.as_object_mut().unwrap().remove("timing");
    }
    s.as_object_mut().unwrap().remove("sequence");
    s
}

#[test]
fn thread_stages_give_the_same_snapshots_as_inline() {
    let run = |isolation: &str| {
        let c = Collect::new();
        let text = format!(
            r#"
            [[sources]]
            id = "camera_0"
            kind = "test_counter"
            edge = {{ policy = "block", capacity = 2 }}
            params = {{ frames = 30 }}
            [[stages]]
            id = "e1"
            plugin = "test_emit"
            isolation = "{isolation}"
            params = {{ notify_every = 4 }}
            [[stages]]
            id = "e2"
            plugin = "test_emit"
            isolation = "{isolation}"
            [[stages]]
            id = "e3"
            plugin = "test_emit"
            isolation = "{isolation}"
            params = {{ notify_every = 3 }}
            [[stages]]
            plugin = "test_probe"
            [[stages]]
            id = "e4"
            plugin = "test_emit"
            isolation = "{isolation}"
            "#
        );
        let rt = start(&text, &c);
        assert!(wait_until(|| rt.finished()));
        rt.shutdown();
        c.take().into_iter().map(comparable).collect::<Vec<_>>()
    };
    let inline = run("inline");
    let thread = run("thread");
    assert_eq!(inline.len(), 30);
    assert!(inline[11]["notifications"].as_array().unwrap().len() == 2);
    assert!(inline[5]["signals"]["e3_mean"].is_number());
    // Observations book each signal to the stage that published it (thread stages' too,
    // since the two runs are equal).
    let obs = inline[5]["observations"].as_array().unwrap();
    let e3 = obs.iter().find(|o| o["source"] == "e3").unwrap();
    assert!(e3["signals"]["e3_mean"].is_number(), "{e3}");
    assert_eq!(e3["frame_id"], inline[5]["frame_id"]);
    assert!(
        obs.iter()
            .filter(|o| o["source"] != "e3")
            .all(|o| o["signals"].get("e3_mean").is_none()),
        "{obs:?}"
    );
    assert_eq!(inline, thread);
}

#[test]
fn a_stage_past_its_deadline_is_reported_absent_and_skipped_while_busy() {
    let c = Collect::new();
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_manual"
        edge = { policy = "block", capacity = 4 }
        params = { key = "deadline-src", period_ns = 33333333 }
        [[stages]]
        id = "slow"
        plugin = "test_held"
        isolation = "thread"
        deadline_ms = 5
        params = { key = "deadline" }
        [[stages]]
        plugin = "test_probe"
        "#,
        &c,
    );
    // Four frames while `slow` holds frame 1 (the test has released no permit).
    counters().add("deadline-src", 4);
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) == 4));
    let snaps = c.take();
    for (i, s) in snaps.iter().enumerate() {
        assert!(s["results"].get("slow").is_none(), "absent: {s}");
        assert_eq!(s["results"]["test_probe"]["frame_id"], i as u64 + 1);
        let err = &s["errors"][0];
        assert_eq!(err["stage"], "slow");
        let msg = err["message"].as_str().unwrap();
        if i == 0 {
            assert!(
                msg.contains("missed its deadline of 5 ms on frame 1"),
                "{msg}"
            );
            assert_eq!(s["notifications"][0]["title"], "deadline missed");
        } else {
            assert!(msg.contains("still running frame 1"), "{msg}");
            assert_eq!(s["notifications"], json!([]));
        }
    }
    let st = rt.status().sources[0].stages[0].clone();
    assert_eq!((st.deadline_misses, st.skipped), (1, 3));
    // Let it go: the late result of frame 1 is dropped, and it works on new frames again.
    counters().add("deadline", 1_000);
    let mut pushed = 4;
    let fresh = loop {
        counters().add("deadline-src", 1);
        pushed += 1;
        assert!(wait_until(|| c.count.load(Ordering::SeqCst) == pushed));
        let s = c.take().pop().unwrap();
        if let Some(r) = s["results"].get("slow") {
            break (s["frame_id"].clone(), r.clone(), s);
        }
        assert!(pushed < 500, "the stage never came back");
    };
    assert_eq!(
        fresh.1["frame_id"], fresh.0,
        "never a stale result: {}",
        fresh.2
    );
    assert_eq!(fresh.2["errors"], json!([]));
    rt.shutdown();
}

#[test]
fn a_latest_stage_never_delays_snapshots_and_carries_its_frame_and_age() {
    const PERIOD: u64 = 33_333_333;
    let c = Collect::new();
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_manual"
        edge = { policy = "block", capacity = 4 }
        params = { key = "latest-src", period_ns = 33333333 }
        [[stages]]
        plugin = "test_probe"
        [[stages]]
        id = "slow"
        plugin = "test_held"
        isolation = "thread"
        mode = "latest"
        params = { key = "latest" }
        "#,
        &c,
    );
    // The slow stage holds frame 1 (as a 200 ms stage would for six frames at 30 fps):
    // every frame still gets its snapshot.
    counters().add("latest-src", 10);
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) == 10));
    for s in c.take() {
        assert!(s["results"].get("slow").is_none(), "{s}");
        assert!(active(&s, "slow").get("frame_id").is_none());
        assert_eq!(s["errors"], json!([]));
    }
    let mut pushed = 10u64;
    // Push frames one by one until the result of frame `want` shows up.
    fn push_until(want: u64, c: &Collect, pushed: &mut u64) -> (u64, Vec<Value>) {
        let mut seen = Vec::new();
        loop {
            counters().add("latest-src", 1);
            *pushed += 1;
            let n = *pushed;
            assert!(wait_until(|| c.count.load(Ordering::SeqCst) == n));
            let s = c.take().pop().unwrap();
            let got = s["results"]["slow"]["frame_id"].as_u64();
            seen.push(s);
            if got == Some(want) {
                return (n, seen);
            }
            assert!(n < 1000, "no result for frame {want}");
        }
    }
    counters().add("latest", 1);
    let (k, _) = push_until(1, &c, &mut pushed);
    // Three more frames while the stage holds frame k: the result of frame 1 is carried.
    counters().add("latest-src", 3);
    pushed += 3;
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) == pushed));
    for s in c.take() {
        let id = s["frame_id"].as_u64().unwrap();
        assert_eq!(s["results"]["slow"]["frame_id"], 1);
        assert_eq!(s["signals"]["held_frame"], 1.0, "signals are carried too");
        let a = active(&s, "slow");
        assert_eq!(a["frame_id"], 1);
        let age = a["age_ms"].as_f64().unwrap();
        assert!(
            (age - (id - 1) as f64 * PERIOD as f64 / 1e6).abs() < 1e-6,
            "{age}"
        );
    }
    // Release frame k: its result replaces frame 1's.
    counters().add("latest", 1);
    let (_, seen) = push_until(k, &c, &mut pushed);
    let s = seen.last().unwrap();
    assert_eq!(active(s, "slow")["frame_id"], k);
    assert_eq!(
        rt.status().sources[0].processed,
        pushed,
        "one snapshot per frame"
    );
    counters().add("latest", 1_000);
    rt.shutdown();
}

#[test]
fn commands_reach_thread_stages_as_they_reach_inline_ones() {
    let c = Collect::new();
    let rt = start(
        r#"
        [runtime]
        initial_state = "paused"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = { policy = "block", capacity = 2 }
        params = { frames = 1000000 }
        [[stages]]
        plugin = "test_probe"
        isolation = "thread"
        deadline_ms = 1000
        "#,
        &c,
    );
    let ack = request(&rt, "test_probe", "set_params", json!({"level": 42})).unwrap();
    assert_eq!(ack.result["level"], 42);
    let e = request(&rt, "test_probe", "set_params", json!({"level": 999})).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    assert_eq!(
        request(&rt, "test_probe", "poke", json!({}))
            .unwrap()
            .result,
        json!(42)
    );
    request(&rt, "pipeline", "record", json!({})).unwrap();
    let e = request(&rt, "test_probe", "set_params", json!({"level": 1})).unwrap_err();
    assert_eq!(e.code, ErrorCode::Busy, "the recording lock holds");
    let e = request(&rt, "test_probe", "poke_locked", json!({})).unwrap_err();
    assert_eq!(e.code, ErrorCode::Busy);
    request(&rt, "pipeline", "stop_recording", json!({})).unwrap();
    request(&rt, "pipeline", "run", json!({})).unwrap();
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) >= 3));
    let r = request(
        &rt,
        "pipeline",
        "disable_stage",
        json!({"stage": "test_probe"}),
    )
    .unwrap();
    assert_eq!(r.result["enabled"], false);
    c.take();
    let n = c.count.load(Ordering::SeqCst);
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) >= n + 3));
    let snaps = c.take();
    let last = snaps.last().unwrap();
    assert!(last["results"].get("test_probe").is_none());
    assert_eq!(active(last, "test_probe")["enabled"], false);
    request(
        &rt,
        "pipeline",
        "enable_stage",
        json!({"stage": "test_probe"}),
    )
    .unwrap();
    let n = c.count.load(Ordering::SeqCst);
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) >= n + 3));
    let last = c.take().pop().unwrap();
    assert_eq!(last["results"]["test_probe"]["level"], 42);
    // Frames while disabled were not given to it.
    assert!(
        last["results"]["test_probe"]["frames"].as_u64().unwrap()
            < last["frame_id"].as_u64().unwrap()
    );
    rt.shutdown();
}

#[test]
fn commands_to_a_busy_latest_stage_wait_for_it_in_order() {
    let c = Collect::new();
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_manual"
        edge = { policy = "block", capacity = 4 }
        params = { key = "cmd-src", period_ns = 1000000 }
        [[stages]]
        plugin = "test_probe"
        [[stages]]
        id = "slow"
        plugin = "test_held"
        isolation = "thread"
        mode = "latest"
        params = { key = "cmd" }
        "#,
        &c,
    );
    counters().add("cmd-src", 1);
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) == 1));
    // `slow` holds frame 1: its commands wait, in order; other targets answer at once.
    let bus = rt.bus();
    let first = bus.request(Command::new("slow", "set_params", json!({"level": 5})));
    let second = bus.request(Command::new("slow", "get_params", json!({})));
    let third = bus.request(Command::new("slow", "poke", json!({})));
    let other = request(&rt, "test_probe", "get_params", json!({})).unwrap();
    assert_eq!(other.result["level"], 10);
    assert!(
        first.try_recv().is_err(),
        "applied only when the stage is idle"
    );
    counters().add("cmd", 1);
    assert_eq!(first.recv_timeout(T).unwrap().unwrap().result["level"], 5);
    assert_eq!(second.recv_timeout(T).unwrap().unwrap().result["level"], 5);
    assert_eq!(third.recv_timeout(T).unwrap().unwrap().result, json!(42));
    // Unknown commands and bad args to a thread stage are refused like any other.
    counters().add("cmd", 1_000);
    let e = request(&rt, "slow", "frobnicate", json!({})).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownCommand);
    let e = request(&rt, "slow", "set_params", json!({"level": "x"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    // The next results carry the new level.
    let mut pushed = 1;
    loop {
        counters().add("cmd-src", 1);
        pushed += 1;
        assert!(wait_until(|| c.count.load(Ordering::SeqCst) == pushed));
        let s = c.take().pop().unwrap();
        if s["results"]["slow"]["level"] == 5 {
            break;
        }
        assert!(pushed < 1000);
    }
    rt.shutdown();
}

fn config_err(text: &str) -> String {
    Config::parse(text, Format::Toml, "iso.toml")
        .unwrap_err()
        .to_string()
}

const BASE: &str = r#"
[[sources]]
id = "camera_0"
kind = "test_counter"

[[stages]]
plugin = "test_probe"
"#;

#[test]
fn isolation_settings_are_checked_with_located_errors() {
    let with = |extra: &str| format!("{BASE}{extra}\n");
    let e = config_err(&with("mode = \"latest\""));
    assert!(e.starts_with("iso.toml:8:"), "{e}");
    assert!(
        e.contains("stages[0].mode") && e.contains("needs isolation"),
        "{e}"
    );
    let e = config_err(&with("deadline_ms = 10"));
    assert!(
        e.contains("stages[0].deadline_ms") && e.contains("inline"),
        "{e}"
    );
    let e = config_err(&with("isolation = \"thread\"\ndeadline_ms = 0"));
    assert!(e.contains("must be at least 1"), "{e}");
    let e = config_err(&with(
        "isolation = \"thread\"\nmode = \"latest\"\ndeadline_ms = 5",
    ));
    assert!(e.contains("applies to mode = \"join\""), "{e}");
    let e = config_err(&with("isolation = \"fiber\""));
    assert!(e.starts_with("iso.toml:8:"), "{e}");
    assert!(e.contains("unknown variant `fiber`"), "{e}");
    let e = config_err(&with("after = [\"ghost\"]"));
    assert!(
        e.contains("stages[0].after[0]") && e.contains("`ghost`"),
        "{e}"
    );
    let e = config_err(&with("python = \"/usr/bin/python3\""));
    assert!(
        e.contains("stages[0].python") && e.contains("isolation = \"process\""),
        "{e}"
    );
    // Good settings parse and survive a round trip through JSON.
    let good = with("isolation = \"thread\"\nmode = \"latest\"");
    let c = config(&good);
    let back = Config::parse(&serde_json::to_string(&c).unwrap(), Format::Json, "x.json");
    assert_eq!(back.unwrap(), c);
}
