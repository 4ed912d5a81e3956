//! `framebus replay` end to end with real child processes: `framebus run` records a session
//! while a real HTTP client sends `disable_stage` mid-run; two replays of the session write
//! snapshots identical except the wall-clock field (`performance_ms`), and the command takes
//! effect at the recorded frame. A session recorded with highlight rules replays with the
//! same triggers at the same frames, as fast as possible and paced at another speed. Bad
//! input (missing folder, no `config.json`, a corrupt `commands.jsonl` line, a bad
//! `--speed`) gives a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{framebus, http, spawn_listening, term};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const FRAMES: u64 = 150;

fn processed(addr: &str) -> u64 {
    let (status, body) = http(addr, "GET", "/api/v1/pipeline", "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["sources"][0]["processed"].as_u64().unwrap()
}

fn wait_for(addr: &str, n: u64) {
    let start = Instant::now();
    while processed(addr) < n {
        assert!(start.elapsed() < WAIT, "fewer than {n} frames processed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Records a session and returns its folder.
fn record(dir: &Path) -> PathBuf {
    let rec = dir.join("recordings");
    let config = dir.join("record.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[runtime]
initial_state = "recording"
recordings_dir = "{}"

[server]
bind = "127.0.0.1:0"

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
params = {{ width = 320, height = 240, fps = 30 }}

[[stages]]
plugin = "blob_detection"
params = {{ threshold = 200, min_area = 10, max_area = 5000 }}
"#,
            rec.display()
        ),
    )
    .unwrap();
    let (mut child, addr) = spawn_listening(framebus().stderr(Stdio::inherit()).args([
        "run",
        config.to_str().unwrap(),
        "--frames",
        &FRAMES.to_string(),
    ]));
    wait_for(&addr, 10);
    let (status, body) = http(
        &addr,
        "POST",
        "/api/v1/commands",
        r#"{"target":"pipeline","payload":{"cmd":"disable_stage","args":{"stage":"blob_detection"}}}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_for(&addr, FRAMES);
    term(child.id());
    assert!(child.wait().unwrap().success());
    let sessions: Vec<PathBuf> = std::fs::read_dir(&rec)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.into_iter().next().unwrap()
}

fn replay(session: &Path, out: &Path) -> Output {
    replay_with(session, out, &[])
}

fn replay_with(session: &Path, out: &Path, extra: &[&str]) -> Output {
    framebus()
        .args([
            "replay",
            session.to_str().unwrap(),
            "--jsonl",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// Records `examples/highlights_rider.toml` (its rules fire on the rider's knee angle),
/// changed by `edit`, for `frames` frames with no server; returns the session folder.
fn record_highlights(dir: &Path, frames: u64, edit: impl Fn(&str) -> String) -> PathBuf {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/highlights_rider.toml"),
    )
    .unwrap();
    let rec = dir.join("recordings");
    let text = example.replace(
        r#"recordings_dir = "./recordings""#,
        &format!(
            "initial_state = \"recording\"\nrecordings_dir = \"{}\"",
            rec.display()
        ),
    );
    assert_ne!(text, example, "the example names its recordings_dir");
    let text = edit(&text);
    let config = dir.join("highlights_rider.toml");
    std::fs::write(&config, text).unwrap();
    let out = framebus()
        .current_dir(dir)
        .args(["run", config.to_str().unwrap(), "--frames"])
        .arg(frames.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sessions: Vec<PathBuf> = std::fs::read_dir(&rec)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().unwrap() != "clips")
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.into_iter().next().unwrap()
}

/// The `trigger …` lines a run printed on stderr.
fn triggers(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("trigger "))
        .map(str::to_owned)
        .collect()
}

/// Snapshot lines with the wall-clock fields (stage times) removed.
fn snapshots(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(a) = v["active_plugins"].as_array_mut() {
                for p in a {
                    p.as_object_mut().unwrap().remove("performance_ms");
                }
            }
            if let Some(a) = v["observations"].as_array_mut() {
                for o in a {
                    o.as_object_mut().unwrap().remove("timing");
                }
            }
            v
        })
        .collect()
}

fn disabled(snap: &Value) -> bool {
    snap["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["stage"] == "blob_detection" && e["disabled"] == true)
}

#[test]
fn replays_are_identical_and_apply_commands_at_the_recorded_frame() {
    let dir = tempfile::tempdir().unwrap();
    let session = record(dir.path());
    let commands = std::fs::read_to_string(session.join("commands.jsonl")).unwrap();
    let lines: Vec<Value> = commands
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{commands}");
    assert_eq!(lines[0]["ok"], true);
    let k = lines[0]["index"].as_u64().unwrap();
    assert!(k >= 1, "the command came after some frames: {commands}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(session.join("session.json")).unwrap())
            .unwrap();
    let recorded = manifest["frames"].as_u64().unwrap();
    assert!(k < recorded, "{commands} {manifest}");

    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for out in [&a, &b] {
        let r = replay(&session, out);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let (sa, sb) = (snapshots(&a), snapshots(&b));
    assert_eq!(sa.len() as u64, recorded, "one snapshot per recorded frame");
    assert_eq!(sa, sb, "two replays differ beyond performance_ms");
    for (i, s) in sa.iter().enumerate() {
        let i = i as u64;
        assert_eq!(s["frame_id"], i + 1, "replayed frame ids are MP4 index + 1");
        assert_eq!(
            disabled(s),
            i >= k,
            "blob_detection disabled from MP4 index {k} on (frame {i})"
        );
        if i < k {
            assert!(s["results"]["blob_detection"]["count"].as_u64().unwrap() > 0);
        }
    }
}

/// What one replay gave: the triggers it printed and its snapshots (wall-clock fields
/// removed).
type Replayed = (Vec<String>, Vec<Value>);

/// Replays `session` three times: as fast as the stages go, twice, then paced at `speed`
/// times the recorded rate (sleeping between frames, so anything that read the wall clock
/// would fire elsewhere). Each run must succeed.
fn three_replays(dir: &Path, session: &Path, speed: &str) -> [Replayed; 3] {
    std::array::from_fn(|i| {
        let paced = ["--speed", speed];
        let extra: &[&str] = if i < 2 { &[] } else { &paced };
        let out = dir.join(format!("replay{i}.jsonl"));
        let r = replay_with(session, &out, extra);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        (triggers(&r), snapshots(&out))
    })
}

#[test]
fn triggers_replay_at_the_same_frames_at_any_speed() {
    let dir = tempfile::tempdir().unwrap();
    let session = record_highlights(dir.path(), 150, str::to_owned);
    let [(fired, sa), (fired_b, sb), (fired_c, sc)] = three_replays(dir.path(), &session, "3");
    assert!(
        fired
            .iter()
            .any(|t| t.starts_with("trigger deep_knee (Rise) at frame ")),
        "the knee rule fires in replay: {fired:?}"
    );
    assert!(fired.len() >= 3, "{fired:?}");
    assert_eq!(fired_b, fired, "two replays, same triggers");
    assert_eq!(fired_c, fired, "at 3× speed, same triggers");
    assert!(sa.len() >= 140, "{} snapshots", sa.len());
    assert_eq!(sb, sa, "two replays differ beyond wall-clock fields");
    assert_eq!(sc, sa, "a paced replay differs beyond wall-clock fields");

    let bad = replay_with(&session, &dir.path().join("bad.jsonl"), &["--speed", "0"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--speed must be a number above 0"), "{err}");
}

/// Two riders at different cadences and a rule on `camera_0` that reads `camera_1`'s knee:
/// replays release the two videos' frames in one order, so the cross-source rule fires at
/// the same frames, and the snapshots come in the same order, in every replay at any speed.
#[test]
fn cross_source_triggers_replay_at_the_same_frames() {
    let dir = tempfile::tempdir().unwrap();
    let session = record_highlights(dir.path(), 120, |text| {
        let source = r#"[[sources]]
id = "camera_1"
kind = "synthetic_rider"
edge = { policy = "block", capacity = 4 }
params = { width = 640, height = 480, fps = 30, cadence_rpm = 65, seed = 2 }

"#;
        // The example's stages again, on camera_1 (stages default to the first source).
        let (head, rest) = text.split_at(text.find("[[stages]]").unwrap());
        let (stages, rules) = rest.split_at(rest.find("[[rules]]").unwrap());
        let mut second = stages.to_owned();
        // Their own ids; blob_detection's results under its usual namespace (without a
        // plugin namespace, it would be the instance id), where marker_manager reads them.
        for (p, extra) in [
            ("blob_detection", "namespace = \"blob_detection\"\n"),
            ("marker_manager", ""),
            ("geometry_manager", ""),
        ] {
            second = second.replace(
                &format!("[[stages]]\nplugin = \"{p}\""),
                &format!(
                    "[[stages]]\nid = \"{p}_1\"\nsource = \"camera_1\"\n{extra}plugin = \"{p}\""
                ),
            );
        }
        assert_eq!(second.matches("camera_1").count(), 3, "{second}");
        let rule = r#"
[[rules]]
id = "knees_apart"
source = "camera_0"
when = { all = [
  { signal = "knee_angle", below = 100.0 },
  { source = "camera_1", signal = "knee_angle", above = 110.0, max_age = "0.1s" },
] }
cooldown = "0.3s"
"#;
        format!("{head}{source}{stages}{second}{rules}{rule}")
    });
    for f in ["camera_0.mp4", "camera_1.mp4"] {
        assert!(session.join(f).is_file(), "{f} recorded");
    }
    let [(fired, sa), (fired_b, sb), (fired_c, sc)] = three_replays(dir.path(), &session, "4");
    let cross: Vec<&String> = fired
        .iter()
        .filter(|t| t.starts_with("trigger knees_apart "))
        .collect();
    assert!(!cross.is_empty(), "the cross-source rule fires: {fired:?}");
    assert_eq!(fired_b, fired, "two replays, same triggers");
    assert_eq!(fired_c, fired, "at 4× speed, same triggers");
    let sources: std::collections::BTreeSet<String> =
        sa.iter().map(|s| s["source"].to_string()).collect();
    assert_eq!(sources.len(), 2, "snapshots of both sources: {sources:?}");
    assert_eq!(sb, sa, "same snapshots in the same order");
    assert_eq!(sc, sa, "same snapshots in the same order at 4× speed");
}

#[test]
fn bad_sessions_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let missing = replay(&dir.path().join("nope"), &out);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("no such session directory"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = replay(&empty, &out);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("has no config.json"), "{err}");

    // A session folder with a config, a video and a corrupt commands line.
    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir(&corrupt).unwrap();
    std::fs::write(
        corrupt.join("config.json"),
        r#"{"sources":[{"id":"camera_0","kind":"synthetic_rider","params":{"width":64,"height":48}}]}"#,
    )
    .unwrap();
    // The commands are read before any video is opened.
    std::fs::write(corrupt.join("camera_0.mp4"), b"not read").unwrap();
    std::fs::write(
        corrupt.join("commands.jsonl"),
        "{\"source\":\"camera_0\",\"target\":\"pipeline\",\"cmd\":\"status\",\"args\":{},\"ok\":true,\"index\":0}\n{not json\n",
    )
    .unwrap();
    let r = replay(&corrupt, &out);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("commands.jsonl line 2"), "{err}");
}
