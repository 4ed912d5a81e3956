//! `framebus run examples/highlights_rider.toml`: the rules fire on the rider's knee angle
//! and the clips they ask for are written as MP4 files (the example is copied into a
//! temporary folder so its trace and clips land there); `examples/highlights_table.toml`
//! fires on the synthetic table's true pots.

use std::process::Command;

#[test]
fn the_rider_example_fires_and_writes_clips() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/highlights_rider.toml");
    let cfg = dir.path().join("highlights_rider.toml");
    std::fs::copy(&src, &cfg).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_framebus"))
        .current_dir(dir.path())
        .args(["run", "highlights_rider.toml", "--frames", "150"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("trigger deep_knee (Rise) at frame 20 of camera_0"),
        "{err}"
    );
    let clips: Vec<_> = std::fs::read_dir(dir.path().join("recordings/clips"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "mp4"))
        .collect();
    assert_eq!(clips.len(), 2, "{err}");
    assert_eq!(err.matches("clip saved: clips/").count(), 2, "{err}");
    let trace = std::fs::read_to_string(dir.path().join("highlights_trace.jsonl")).unwrap();
    assert!(trace.lines().any(|l| l.contains(r#""rule":"deep_knee""#)));
}

/// The stream ends (here `--frames 25`) 5 frames after a trigger whose clip wants 1 s of
/// post-roll: the clip is still written, as far as the frames went.
#[test]
fn a_clip_whose_post_roll_outlives_the_stream_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/highlights_rider.toml");
    std::fs::copy(&src, dir.path().join("highlights_rider.toml")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_framebus"))
        .current_dir(dir.path())
        .args(["run", "highlights_rider.toml", "--frames", "25"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("trigger deep_knee (Rise) at frame 20 of camera_0"),
        "{err}"
    );
    assert_eq!(err.matches("clip saved: clips/").count(), 1, "{err}");
    let clip = std::fs::read_dir(dir.path().join("recordings/clips"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension().is_some_and(|x| x == "mp4"))
        .unwrap()
        .path();
    let d = framebus_testkit::mp4::decode(&clip).unwrap();
    // Frames 1..=25 at most: the pre-roll from the start, the post-roll up to the end.
    assert!(d.samples >= 20 && d.samples <= 25, "{} frames", d.samples);
}

/// `examples/highlights_table.toml`, run in process on a manual clock (so frame times, and
/// with them tracking, are the same on every run): the `pot` rule fires where the synthetic
/// table's ground truth pockets a ball — every true pot has a trigger within three frames
/// (the ball can vanish into the pocket a frame before the physics flags it), at most one
/// trigger has no pot — and each trigger's clip is written.
#[test]
fn the_table_example_fires_on_true_pots_and_writes_clips() {
    use framebus_core::clock::ManualClock;
    use framebus_core::config::{Config, Format};
    use framebus_core::observer::Observer;
    use framebus_core::protocol::{ServerMessage, TriggerEdge};
    use framebus_core::runtime::{Runtime, RuntimeOptions};
    use framebus_core::source::{Source, SourceInit};
    use framebus_media::record::Recorder;
    use framebus_media::synthetic_table::{SyntheticTable, SyntheticTableParams};
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Events(Mutex<Vec<ServerMessage>>);
    impl Observer for Events {
        fn event(&self, msg: &ServerMessage) {
            self.0.lock().unwrap().push(msg.clone());
        }
    }

    const FRAMES: u64 = 150;
    framebus_stages::link();
    framebus_media::link();
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/highlights_table.toml");
    let rec = dir.path().join("recordings");
    let text = std::fs::read_to_string(src).unwrap().replace(
        "recordings_dir = \"./recordings\"",
        &format!("recordings_dir = \"{}\"", rec.display()),
    );
    assert!(text.contains(&rec.display().to_string()));

    // The truth: the frames on which a ball drops, from the same camera params and clock.
    let table: toml::Table = toml::from_str(&text).unwrap();
    let params: SyntheticTableParams = table["sources"][0]["params"].clone().try_into().unwrap();
    let init = SourceInit {
        base_dir: dir.path().to_owned(),
        ..SourceInit::standalone("camera_0", Arc::new(ManualClock::new()))
    };
    let mut cam = SyntheticTable::new(params, &init).unwrap();
    let mut was = [false; 16];
    let mut pots = Vec::new();
    for _ in 0..FRAMES {
        let f = cam.next_frame().unwrap().unwrap();
        for b in &cam.truth().balls {
            if b.pocketed && !was[b.number as usize] {
                pots.push(f.frame_id);
            }
            was[b.number as usize] = b.pocketed;
        }
    }
    assert!(
        !pots.is_empty(),
        "the break pockets a ball within {FRAMES} frames"
    );

    let config = Config::parse(&text, Format::Toml, "highlights_table.toml").unwrap();
    let events = Arc::new(Events::default());
    let recorder = Arc::new(Recorder::new(&config, vec![events.clone()]).unwrap());
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            observers: vec![events.clone(), recorder.clone()],
            base_dir: dir.path().to_owned(),
            max_frames: Some(FRAMES),
        },
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !rt.finished() {
        assert!(std::time::Instant::now() < deadline, "the run did not end");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    rt.shutdown();
    recorder.close();
    let ev = events.0.lock().unwrap().clone();
    let triggers: Vec<u64> = ev
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Trigger(r)
                if r.trigger.rule == "pot" && r.trigger.edge == TriggerEdge::Rise =>
            {
                Some(r.trigger.frame_id)
            }
            _ => None,
        })
        .collect();
    let saved = ev
        .iter()
        .filter(|m| matches!(m, ServerMessage::ClipSaved(c) if c.label.starts_with("pot@")))
        .count();
    println!("true pots at frames {pots:?}; pot triggers at {triggers:?}; {saved} clips");
    // Ball tracking calls a ball missed next to a pocket pocketed at once, so a ball hidden
    // by motion blur beside a pocket can fire the rule a few frames before it drops (here up
    // to 4 frames, 133 ms, at 640×360), or without a pot at all: counted against the truth
    // and bounded, not hidden. Every pot must be inside a clip its trigger asked for.
    const NEAR: u64 = 5;
    let false_triggers = triggers
        .iter()
        .filter(|&&t| !pots.iter().any(|&p| t.abs_diff(p) <= NEAR))
        .count();
    println!("false pot triggers: {false_triggers} of {}", triggers.len());
    assert!(false_triggers <= 1, "{pots:?} {triggers:?}");
    for &p in &pots {
        assert!(
            triggers.iter().any(|&t| t.abs_diff(p) <= NEAR),
            "pot at {p} without a trigger: {triggers:?}"
        );
        // The rule's clip: 2 s (60 frames) before its trigger to 1 s (30 frames) after.
        assert!(
            triggers.iter().any(|&t| p + 60 >= t && p <= t + 30),
            "pot at {p} outside every clip: {triggers:?}"
        );
    }
    // Every trigger asked for a clip; overlapping ones were merged; all are written.
    assert!(saved >= 1);
    let clips = std::fs::read_dir(rec.join("clips"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "mp4"))
        .count();
    assert_eq!(clips, saved);
}
