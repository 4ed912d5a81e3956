//! `framebus run examples/highlights_rider.toml`: the rules fire on the rider's knee angle
//! and the clips they ask for are written as MP4 files (the example is copied into a
//! temporary folder so its trace and clips land there).

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
