//! The `framebus` binary end to end: `run` headless to JSONL, `check`, `plugins`.

use std::process::Command;

fn framebus() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framebus"))
}

fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bikefit.toml")
}

#[test]
fn run_bikefit_headless_writes_one_snapshot_per_frame() {
    let dir = tempfile::tempdir().unwrap();
    // Unpaced copy of the example so the test does not wait 30 fps of wall time.
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("fps = 30", "fps = 0")
        .replace("policy = \"latest\"", "policy = \"block\", capacity = 4");
    let cfg = dir.path().join("bikefit.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out.jsonl");
    let status = framebus()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--frames",
            "300",
            "--jsonl",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    for (i, s) in lines.iter().enumerate() {
        assert_eq!(s["frame_id"], i as u64 + 1);
        for key in [
            "frame_id",
            "camera_id",
            "fps",
            "results",
            "widgets",
            "notifications",
            "active_plugins",
            "errors",
            "type",
            "sequence",
            "t_ns",
            "state",
            "dropped",
        ] {
            assert!(s.get(key).is_some(), "snapshot lacks `{key}`");
        }
        assert_eq!(
            s["results"]["blob_detection"]["count"],
            6,
            "frame {}",
            i + 1
        );
        let knee = &s["results"]["geometry"]["knee_angle"];
        assert_eq!(knee["valid"], true, "frame {}", i + 1);
        assert!(s["errors"].as_array().unwrap().is_empty());
    }
    let ids: Vec<&str> = lines[0]["active_plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "blob_detection",
            "camera_control",
            "marker_manager",
            "geometry_manager"
        ]
    );
}

#[test]
fn check_accepts_the_example_and_rejects_a_typo_with_line_and_hint() {
    let ok = framebus()
        .args(["check", example().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(example()).unwrap().replacen(
        "plugin = \"blob_detection\"",
        "plugin = \"blob_detecton\"",
        1,
    );
    std::fs::write(&bad, &text).unwrap();
    let out = framebus()
        .args(["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .position(|l| l.contains("blob_detecton"))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("bad.toml:{line}:")), "{err}");
    assert!(
        err.contains("stages[0].plugin") && err.contains("did you mean `blob_detection`?"),
        "{err}"
    );
}

#[test]
fn plugins_json_lists_every_stage_with_schema_and_commands() {
    let out = framebus().args(["plugins", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in [
        "blob_detection",
        "camera_control",
        "marker_manager",
        "geometry_manager",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let blob = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "blob_detection")
        .unwrap();
    assert_eq!(
        blob["params_schema"]["properties"]["threshold"]["maximum"],
        255
    );
    assert!(
        blob["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "set_params")
    );
    let geo = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "geometry_manager")
        .unwrap();
    assert_eq!(geo["namespace"], "geometry");
    assert!(
        geo["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "cmd_add_tool")
    );
}

/// Runs of 1 bits in `n`: the blobs the frame counter makes (adjacent white blocks merge).
fn runs_of_ones(n: u64) -> u64 {
    u64::from((n & !(n << 1)).count_ones())
}

#[test]
fn run_a_video_through_blob_detection_to_csv_until_the_file_ends() {
    use framebus_testkit::video::{VideoSpec, encode_counter_video};
    let dir = tempfile::tempdir().unwrap();
    let spec = VideoSpec {
        width: 320,
        height: 64,
        fps: 30,
        frames: 40,
        args: &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2"],
    };
    encode_counter_video(dir.path(), "counter.mp4", &spec);
    let cfg = dir.path().join("video.toml");
    std::fs::write(
        &cfg,
        r#"
        [[sources]]
        id = "camera_0"
        kind = "video_file"
        edge = { policy = "block", capacity = 4 }
        params = { path = "counter.mp4", realtime = false }

        [[stages]]
        plugin = "blob_detection"
        params = { threshold = 200, min_area = 10, max_area = 5000 }
        "#,
    )
    .unwrap();
    let csv = dir.path().join("signals.csv");
    // No --frames: the run ends because the file does.
    let out = framebus()
        .args(["run", cfg.to_str().unwrap(), "--csv", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("processed 40 frame(s)"), "{stderr}");
    assert!(
        !stderr.contains("ETA"),
        "no progress bar when stderr is not a terminal"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("source,frame_id,t_ns,blob_count"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 40);
    for (i, r) in rows.iter().enumerate() {
        let id = i as u64 + 1;
        assert_eq!(r[0], "camera_0");
        assert_eq!(r[1], id.to_string());
        assert_eq!(r[2], ((id - 1) * 1_000_000_000 / 30).to_string());
        // The counter's white blocks are the only pixels over the threshold.
        let blobs: f64 = r[3].parse().unwrap();
        assert_eq!(blobs as u64, runs_of_ones(id), "frame {id}");
    }
}

#[test]
fn csv_header_is_the_union_of_signals_and_missing_cells_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("fps = 30", "fps = 0")
        .replace("policy = \"latest\"", "policy = \"block\", capacity = 4");
    let cfg = dir.path().join("bikefit.toml");
    std::fs::write(&cfg, text).unwrap();
    let csv = dir.path().join("s.csv");
    let status = framebus()
        .args(["run", cfg.to_str().unwrap(), "--frames", "30"])
        .args(["--csv", csv.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(header[..3], ["source", "frame_id", "t_ns"]);
    let mut names = header[3..].to_vec();
    assert!(
        names.contains(&"blob_count") && names.contains(&"knee_angle"),
        "{header:?}"
    );
    names.sort();
    assert_eq!(names, header[3..], "signal columns are sorted");
    assert_eq!(text.lines().count(), 31);
    for line in text.lines() {
        assert_eq!(line.split(',').count(), header.len(), "{line}");
    }
}

#[test]
fn demo_on_a_missing_camera_fails_naming_the_device() {
    let out = framebus()
        .args([
            "demo",
            "--bind",
            "127.0.0.1:0",
            "--camera",
            "/dev/video-framebus-absent",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/video-framebus-absent"), "{err}");
}
