//! SIGTERM while `framebus run` records, while a clip's post-roll is still being captured,
//! and while a fusion rule's clip is in its post-roll: every file left behind is a complete,
//! decodable faststart MP4 (20 times each).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{framebus, http, spawn_listening, term};

const ROUNDS: usize = 20;
const WAIT: Duration = Duration::from_secs(30);

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            start.elapsed() < WAIT,
            "framebus did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_valid(mp4: &Path) -> u32 {
    let d = framebus_testkit::mp4::decode(mp4)
        .unwrap_or_else(|e| panic!("{} is not a valid MP4: {e}", mp4.display()));
    assert!(d.faststart, "{}", mp4.display());
    assert!(d.samples >= 1);
    assert_eq!(d.counters.len() as u32, d.samples, "every sample decodes");
    d.samples
}

#[test]
fn sigterm_while_recording_leaves_complete_files() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..ROUNDS {
        let rec = dir.path().join(format!("r{round}"));
        let config = dir.path().join(format!("c{round}.toml"));
        std::fs::write(
            &config,
            format!(
                r#"
[runtime]
initial_state = "recording"
recordings_dir = "{}"

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
params = {{ width = 320, height = 240, fps = 60 }}
"#,
                rec.display()
            ),
        )
        .unwrap();
        let out = dir.path().join(format!("o{round}.jsonl"));
        let mut child = framebus()
            .arg("run")
            .arg(&config)
            .arg("--jsonl")
            .arg(&out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Some frames have been processed (and handed to the recorder) once the snapshot
        // writer has flushed its first block.
        let start = Instant::now();
        while std::fs::metadata(&out).map_or(0, |m| m.len()) == 0 {
            assert!(start.elapsed() < WAIT, "no snapshot written");
            std::thread::sleep(Duration::from_millis(2));
        }
        term(child.id());
        assert_eq!(wait_exit(&mut child).code(), Some(0));
        let all = files(&rec);
        assert!(
            all.iter().all(|p| !p.to_string_lossy().ends_with(".part")),
            "{all:?}"
        );
        let videos: Vec<&PathBuf> = all
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
        assert_eq!(videos.len(), 1, "round {round}: {all:?}");
        let frames = assert_valid(videos[0]);
        let session = videos[0].parent().unwrap();
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(session.join("session.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["frames"], frames);
        let lines = std::fs::read_to_string(session.join("snapshots.jsonl")).unwrap();
        assert_eq!(lines.lines().count() as u32, frames);
    }
}

#[test]
fn sigterm_during_a_clips_post_roll_leaves_a_complete_clip() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..ROUNDS {
        let rec = dir.path().join(format!("r{round}"));
        let config = dir.path().join(format!("c{round}.toml"));
        std::fs::write(
            &config,
            format!(
                r#"
[runtime]
recordings_dir = "{}"
clip_pre_s = 2

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
clips = true
params = {{ width = 320, height = 240, fps = 60 }}

[server]
bind = "127.0.0.1:0"
"#,
                rec.display()
            ),
        )
        .unwrap();
        let (mut child, addr) =
            spawn_listening(framebus().arg("run").arg(&config).stderr(Stdio::null()));
        // A 30 s post-roll: SIGTERM comes long before it ends.
        let ack = loop {
            let r = http(
                &addr,
                "POST",
                "/api/v1/commands",
                r#"{"target":"camera_0","payload":{"cmd":"save_clip","args":{"pre_s":1,"post_s":30}}}"#,
            );
            if r.0 == 200 {
                break r.1;
            }
            // 503 until the first frame has been processed.
            assert_eq!(r.0, 503, "{}", r.1);
            std::thread::sleep(Duration::from_millis(5));
        };
        let ack: serde_json::Value = serde_json::from_str(&ack).unwrap();
        let id = ack["result"]["clip_id"].as_str().unwrap().to_owned();
        term(child.id());
        assert_eq!(wait_exit(&mut child).code(), Some(0));
        let clip = rec.join("clips").join(format!("{id}.mp4"));
        assert!(clip.exists(), "round {round}: {:?}", files(&rec));
        assert_valid(&clip);
        assert!(rec.join("clips").join(format!("{id}.json")).exists());
        assert!(
            files(&rec)
                .iter()
                .all(|p| !p.to_string_lossy().ends_with(".part"))
        );
    }
}

#[test]
fn sigterm_during_a_triggers_post_roll_leaves_a_complete_clip() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    for round in 0..ROUNDS {
        let rec = dir.path().join(format!("r{round}"));
        let config = dir.path().join(format!("c{round}.toml"));
        // The knee closes below 80° within the first pedal stroke; the clip's 30 s
        // post-roll is still running when SIGTERM comes.
        std::fs::write(
            &config,
            format!(
                r#"
[runtime]
recordings_dir = "{}"
clip_pre_s = 2

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
clips = true
params = {{ width = 320, height = 240, fps = 60, cadence_rpm = 90, seed = 1 }}

[[stages]]
plugin = "blob_detection"
params = {{ threshold = 200, min_area = 3, max_area = 2000 }}

[[stages]]
plugin = "marker_manager"
params.attach_radius = 20
params.markers = [
    {{ id = "hip", x = 124, y = 96, attach = true }},
    {{ id = "knee", x = 178, y = 110, attach = true }},
    {{ id = "ankle", x = 150, y = 156, attach = true }},
]

[[stages]]
plugin = "geometry_manager"
params.tools = [ {{ id = "knee_angle", type = "angle", points = ["hip", "knee", "ankle"] }} ]

[[rules]]
id = "deep_knee"
when = {{ signal = "knee_angle", below = 80.0 }}
actions = [ {{ save_clip = {{ pre_s = 1.0, post_s = 30.0 }} }} ]
"#,
                rec.display()
            ),
        )
        .unwrap();
        let mut child = framebus()
            .arg("run")
            .arg(&config)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let fired = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("trigger deep_knee"));
        assert!(fired.is_some(), "round {round}: the rule never fired");
        term(child.id());
        // Keep reading so the child never blocks on a full pipe.
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        assert_eq!(wait_exit(&mut child).code(), Some(0), "{rest:?}");
        let clips: Vec<PathBuf> = files(&rec.join("clips"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
        assert_eq!(clips.len(), 1, "round {round}: {rest:?}");
        assert_valid(&clips[0]);
        assert!(
            rest.iter().any(|l| l.starts_with("clip saved: clips/")),
            "{rest:?}"
        );
        assert!(
            files(&rec)
                .iter()
                .all(|p| !p.to_string_lossy().ends_with(".part"))
        );
    }
}
