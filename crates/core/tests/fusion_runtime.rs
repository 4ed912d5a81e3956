//! Rules in a running pipeline: triggers on `/ws/stream`'s event path at the right frames,
//! the same on a second run, notifications with placeholders, traces, failing trace sinks,
//! and bad rule configs refused with located errors.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use framebus_core::clock::ManualClock;
use framebus_core::config::{Config, Format};
use framebus_core::observer::Observer;
use framebus_core::protocol::{ServerMessage, TriggerEdge};
use framebus_core::runtime::{Runtime, RuntimeOptions};

#[derive(Default)]
struct Events(Mutex<Vec<ServerMessage>>);

impl Observer for Events {
    fn event(&self, msg: &ServerMessage) {
        self.0.lock().unwrap().push(msg.clone());
    }
}

fn run(text: &str, base: &std::path::Path) -> (Vec<ServerMessage>, Vec<serde_json::Value>) {
    let config = Config::parse(text, Format::Toml, "t.toml").unwrap();
    let events = Arc::new(Events::default());
    let snaps = Collect::new();
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            observers: vec![events.clone(), snaps.clone()],
            base_dir: base.to_owned(),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(wait_until(|| rt.finished()));
    rt.shutdown();
    let ev = std::mem::take(&mut *events.0.lock().unwrap());
    (ev, snaps.take())
}

const SOURCE: &str = r#"
[[sources]]
id = "camera_0"
kind = "test_counter"
edge = { policy = "block", capacity = 4 }
params = { frames = 100 }
[[stages]]
plugin = "test_probe"
"#;

fn triggers(ev: &[ServerMessage]) -> Vec<(String, u64, TriggerEdge)> {
    ev.iter()
        .filter_map(|m| match m {
            ServerMessage::Trigger(r) => {
                Some((r.trigger.rule.clone(), r.trigger.frame_id, r.trigger.edge))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn rules_fire_at_the_same_frames_on_every_run() {
    // Frames are 1 ms apart (frame n at n ms). `frame_id` in [10, 20] from frame 10;
    // for = 3 ms → fires at frame 13. The window rule fires on its fall at frame 21 too.
    let text = format!(
        r#"{SOURCE}
        [[rules]]
        id = "window"
        source = "camera_0"
        when = {{ field = "test_probe.frame_id", between = [10, 20] }}
        for = "3ms"
        edge = "while_active"
        update_every = "5ms"
        actions = [ {{ notify = {{ level = "warning", title = "w", message = "level {{nope}} ok" }} }} ]

        [[rules]]
        id = "every_30"
        when = {{ any = [ {{ field = "test_probe.frame_id", equals = 30 }}, {{ field = "test_probe.frame_id", equals = 60 }} ] }}
        cooldown = "40ms"
        "#
    );
    let dir = tempfile::tempdir().unwrap();
    let (ev1, snaps) = run(&text, dir.path());
    let t1 = triggers(&ev1);
    assert_eq!(
        t1,
        vec![
            ("window".into(), 13, TriggerEdge::Begin),
            ("window".into(), 18, TriggerEdge::Update),
            ("window".into(), 21, TriggerEdge::End),
            ("every_30".into(), 30, TriggerEdge::Rise),
        ]
    );
    let (ev2, _) = run(&text, dir.path());
    assert_eq!(triggers(&ev2), t1);
    // The notification is in frame 13's snapshot, the unknown placeholder kept as written.
    let s13 = snaps.iter().find(|s| s["frame_id"] == 13).unwrap();
    let n = &s13["notifications"][0];
    assert_eq!(n["message"], "level {nope} ok");
    assert_eq!(n["source"], "rule:window");
    let ServerMessage::Trigger(r) = ev1
        .iter()
        .find(|m| matches!(m, ServerMessage::Trigger(_)))
        .unwrap()
    else {
        unreachable!()
    };
    assert!(r.should_trigger);
    assert_eq!(r.score, 1.0);
    assert_eq!(r.reason, "window: test_probe.frame_id=13 in [10, 20]");

    // Every snapshot says where each rule stands (the UI's highlights panel).
    let rules = |f: u64| snaps.iter().find(|s| s["frame_id"] == f).unwrap()["rules"].clone();
    let status = |f: u64, i: usize| {
        let r = &rules(f)[i];
        (
            r["id"].as_str().unwrap().to_owned(),
            r["phase"].as_str().unwrap().to_owned(),
            r["fired"].as_u64().unwrap(),
            r["last_frame_id"].as_u64(),
        )
    };
    let st = |id: &str, phase: &str, fired, last| (id.to_owned(), phase.to_owned(), fired, last);
    assert_eq!(status(5, 0), st("window", "armed", 0, None));
    assert_eq!(status(11, 0), st("window", "pending", 0, None));
    assert_eq!(status(15, 0), st("window", "active", 1, Some(13)));
    assert_eq!(status(25, 0), st("window", "armed", 1, Some(13)));
    assert_eq!(status(29, 1), st("every_30", "armed", 0, None));
    assert_eq!(status(30, 1), st("every_30", "active", 1, Some(30)));
    // Held back by its 40 ms cooldown, also at frame 60 where its condition holds again.
    assert_eq!(status(31, 1), st("every_30", "cooling_down", 1, Some(30)));
    assert_eq!(status(60, 1), st("every_30", "cooling_down", 1, Some(30)));
    assert_eq!(status(70, 1), st("every_30", "armed", 1, Some(30)));
}

#[test]
fn snapshots_without_rules_list_none() {
    let dir = tempfile::tempdir().unwrap();
    let (_, snaps) = run(SOURCE, dir.path());
    assert!(!snaps.is_empty());
    assert!(snaps.iter().all(|s| s["rules"] == serde_json::json!([])));
}

#[test]
fn traces_write_triggers_states_and_frames_by_level() {
    let dir = tempfile::tempdir().unwrap();
    for (level, frames, states) in [("minimal", 0, 0), ("normal", 100, 3), ("verbose", 100, 3)] {
        let path = dir.path().join(format!("{level}.jsonl"));
        let text = format!(
            r#"{SOURCE}
            [trace]
            level = "{level}"
            sinks = [ {{ jsonl = {{ path = "{level}.jsonl" }} }} ]
            [[rules]]
            id = "r"
            when = {{ field = "test_probe.frame_id", between = [10, 20] }}
            for = "2ms"
            "#
        );
        run(&text, dir.path());
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let kind = |k: &str| lines.iter().filter(|l| l["kind"] == k).count();
        assert_eq!(kind("trigger"), 1, "{level}");
        assert_eq!(kind("frame"), frames, "{level}");
        // armed → pending (10) → active (12) → armed (21).
        assert_eq!(kind("rule_state"), states, "{level}");
        let t = lines.iter().find(|l| l["kind"] == "trigger").unwrap();
        assert_eq!(t["trigger"]["frame_id"], 12);
        if level == "verbose" {
            assert!(
                lines
                    .iter()
                    .any(|l| l["timing_ms"]["test_probe"].is_number())
            );
        }
    }
}

#[test]
fn a_failing_trace_sink_is_reported_once_and_processing_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    std::fs::write(&file, b"x").unwrap();
    for path in [
        "/dev/full".to_owned(),
        file.join("under_a_file.jsonl").display().to_string(),
    ] {
        let text = format!(
            r#"{SOURCE}
            [trace]
            level = "verbose"
            sinks = [ {{ jsonl = {{ path = "{path}" }} }} ]
            [[rules]]
            id = "r"
            when = {{ field = "test_probe.frame_id", above = 50 }}
            "#
        );
        let (ev, snaps) = run(&text, dir.path());
        assert_eq!(snaps.len(), 100, "{path}");
        let alerts: Vec<_> = ev
            .iter()
            .filter(|m| matches!(m, ServerMessage::Alert(n) if n.title == "trace sink failed"))
            .collect();
        assert_eq!(alerts.len(), 1, "{path}: {alerts:?}");
        assert_eq!(triggers(&ev).len(), 1, "{path}");
    }
}

fn err(text: &str) -> String {
    Config::parse(text, Format::Toml, "rig.toml")
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_rules_are_refused_with_located_errors() {
    let rule = |body: &str| format!("{SOURCE}\n[[rules]]\nid = \"r\"\n{body}\n");
    let cases = [
        (
            rule("when = { signal = \"k\", below = 80.0 }\nfor = \"half a second\""),
            "rig.toml:13:",
            "rules[0].for",
            "not a duration",
        ),
        (
            rule("when = { all = [] }"),
            "rig.toml:12:",
            "rules[0].when.all",
            "`all` is empty",
        ),
        (
            rule("when = { signal = \"k\", below = 80.0 }\nactions = [ { explode = {} } ]"),
            "rig.toml:13:",
            "",
            "unknown variant `explode`",
        ),
        (
            rule("when = { signal = \"k\" }"),
            "rig.toml:12:",
            "rules[0].when",
            "give a test",
        ),
        (
            rule("source = \"camera_9\"\nwhen = { signal = \"k\", below = 1.0 }"),
            "rig.toml:12:",
            "rules[0].source",
            "no source `camera_9`",
        ),
        (
            rule(
                "when = { signal = \"k\", below = 1.0 }\nactions = [ { save_clip = { pre_s = 1.0 } } ]",
            ),
            "rig.toml:",
            "rules[0].actions[0].save_clip",
            "keeps no clip ring",
        ),
        (
            rule(
                "when = { signal = \"k\", below = 1.0 }\nactions = [ { webhook = { url = \"ftp://x\" } } ]",
            ),
            "rig.toml:",
            "rules[0].actions[0].webhook.url",
            "not an http:// URL",
        ),
        (
            rule("when = { signal = \"k\", below = 1.0, typo = 2 }"),
            "rig.toml:12:",
            "",
            "unknown field `typo`",
        ),
    ];
    for (text, at, field, msg) in cases {
        let e = err(&text);
        assert!(e.starts_with(at), "{e}");
        assert!(e.contains(field), "{e}");
        assert!(e.contains(msg), "{e}");
    }
}

#[test]
fn the_issue_example_parses_as_written() {
    let text = r#"
[runtime]
clip_pre_s = 5.0

[[sources]]
id = "camera_0"
kind = "test_counter"
clips = true

[[rules]]
id = "deep_knee"
source = "camera_0"
when = { signal = "knee_angle", below = 80.0 }
for = "0.1s"
cooldown = "3s"
actions = [
  { save_clip = { pre_s = 1.0, post_s = 1.0 } },
  { notify = { level = "info", title = "Deep knee", message = "knee {knee_angle}°" } },
]
"#;
    let c = Config::parse(text, Format::Toml, "rig.toml").unwrap();
    assert_eq!(c.rules.len(), 1);
    assert_eq!(c.rules[0].actions.len(), 2);
    // And survives a JSON round trip.
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(Config::parse(&json, Format::Json, "rig.json").unwrap(), c);
}
