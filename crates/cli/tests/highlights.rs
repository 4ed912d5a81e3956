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

/// `examples/highlights_table.toml` (unpaced here): the `pot` rule fires where the synthetic
/// table's ground truth pockets a ball — every true pot followed by a trigger within three
/// frames, at most one trigger without a pot — and each trigger's clip is written.
#[test]
fn the_table_example_fires_on_true_pots_and_writes_clips() {
    use framebus_core::clock::ManualClock;
    use framebus_core::source::{Source, SourceInit, StopFlag};
    use framebus_media::synthetic_table::{SyntheticTable, SyntheticTableParams};
    use std::sync::Arc;

    const FRAMES: u64 = 120;
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/highlights_table.toml");
    let text = std::fs::read_to_string(src)
        .unwrap()
        .replace("fps = 30,", "fps = 0,");
    assert!(text.contains("fps = 0,"));
    std::fs::write(dir.path().join("highlights_table.toml"), &text).unwrap();

    // The truth: the frames on which a ball drops, from the same camera params.
    let config: toml::Table = toml::from_str(&text).unwrap();
    let params: SyntheticTableParams = config["sources"][0]["params"].clone().try_into().unwrap();
    let init = SourceInit {
        id: Arc::from("camera_0"),
        index: 0,
        clock: Arc::new(ManualClock::new()),
        stop: StopFlag::new(),
        pool_frames: 4,
        base_dir: dir.path().to_owned(),
        shared_frames: false,
    };
    let mut cam = SyntheticTable::new(params, &init).unwrap();
    let mut was = [false; 16];
    let mut pots = Vec::new();
    for _ in 0..FRAMES {
        let f = cam.next_frame().unwrap().unwrap();
        let t = cam.truth();
        for b in &t.balls {
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

    let out = Command::new(env!("CARGO_BIN_EXE_framebus"))
        .current_dir(dir.path())
        .args([
            "run",
            "highlights_table.toml",
            "--frames",
            &FRAMES.to_string(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let triggers: Vec<u64> = err
        .lines()
        .filter_map(|l| l.strip_prefix("trigger pot (Rise) at frame "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    println!("true pots at frames {pots:?}; pot triggers at {triggers:?}");
    // Ball tracking calls a ball missed next to a pocket pocketed at once, so a ball hidden
    // by motion blur beside a pocket on the break can fire the rule without a pot (one such
    // frame in this run): counted against the truth and bounded, not hidden.
    let false_triggers = triggers
        .iter()
        .filter(|&&t| !pots.iter().any(|&p| p <= t && t <= p + 3))
        .count();
    println!("false pot triggers: {false_triggers} of {}", triggers.len());
    assert!(false_triggers <= 1, "{pots:?} {triggers:?}\n{err}");
    for &p in &pots {
        assert!(
            triggers.iter().any(|&t| p <= t && t <= p + 3),
            "pot at {p} without a trigger: {triggers:?}\n{err}"
        );
    }
    // Clips whose post-roll ended inside the run are written (pre 2 s, post 1 s at 60 fps).
    let saved = err.matches("clip saved: clips/").count();
    assert!(saved >= 1, "{err}");
    let clips = std::fs::read_dir(dir.path().join("recordings/clips"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "mp4"))
        .count();
    assert_eq!(clips, saved, "{err}");
}
