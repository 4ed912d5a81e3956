//! Bad setups get clear errors at start: a missing or corrupt model file is a located config
//! error; a missing ONNX Runtime library says how to install it (checked in a child process,
//! since the library is loaded once per process).

use std::process::Command;

use framebus_core::config::{Config, Format};
use framebus_core::runtime::{Runtime, RuntimeOptions};

fn start(models_dir: &str) -> String {
    framebus_stages::link();
    framebus_media::link();
    let toml = format!(
        r#"
[[sources]]
id = "camera_0"
kind = "synthetic_rider"
params = {{ width = 320, height = 240, fps = 30 }}

[[stages]]
plugin = "blob_detection"

[[stages]]
plugin = "pose"
params = {{ models_dir = "{models_dir}" }}
"#
    );
    let config = Config::parse(&toml, Format::Toml, "pose.toml").expect("config parses");
    match Runtime::start(&config, RuntimeOptions::default()) {
        Ok(_) => panic!("started with models in {models_dir}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_model_is_a_located_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let msg = start(dir.path().to_str().unwrap());
    assert!(msg.contains("stages[1]"), "{msg}");
    assert!(
        msg.contains("pose_detection.onnx") && msg.contains("not found"),
        "{msg}"
    );
}

#[test]
fn corrupt_model_is_a_located_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pose_detection.onnx"),
        b"not an onnx model at all",
    )
    .unwrap();
    let msg = start(dir.path().to_str().unwrap());
    assert!(msg.contains("stages[1]"), "{msg}");
    assert!(
        msg.contains("pose_detection.onnx") && msg.contains("cannot be loaded"),
        "{msg}"
    );
}

const CHILD: &str = "FRAMEBUS_POSE_ERRORS_CHILD";

/// Runs only in the child process started by [`missing_runtime_library_says_how_to_install`].
#[test]
fn child_build_pose_stage() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    framebus_stages::link();
    let r = framebus_core::harness::Harness::builder()
        .plugin("pose", "pose", serde_json::json!({}))
        .build();
    match r {
        Ok(_) => println!("CHILD-RESULT built"),
        Err(e) => println!("CHILD-RESULT {e}"),
    }
}

#[test]
fn missing_runtime_library_says_how_to_install() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_build_pose_stage",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.split_once("CHILD-RESULT").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no result line in {text}"));
    assert!(line.contains("ONNX Runtime library not found"), "{line}");
    assert!(line.contains("/nonexistent/libonnxruntime.so"), "{line}");
    assert!(line.contains("pip install onnxruntime==1.31.1"), "{line}");
}

#[test]
fn library_lookup_finds_versioned_files() {
    use framebus_stages::pose::runtime::{find_library, library_in};
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(library_in(dir.path()), None);
    std::fs::write(dir.path().join("libonnxruntime_providers_shared.so"), b"").unwrap();
    assert_eq!(library_in(dir.path()), None);
    let f = dir.path().join("libonnxruntime.so.1.31.1");
    std::fs::write(&f, b"").unwrap();
    assert_eq!(library_in(dir.path()), Some(f.clone()));
    // An explicit ORT_DYLIB_PATH wins, and a wrong one is an error, not a fallback.
    assert_eq!(find_library(Some(f.as_os_str())), Ok(f));
    let e = find_library(Some(std::ffi::OsStr::new("/nope/lib.so"))).unwrap_err();
    assert!(e.contains("ORT_DYLIB_PATH is `/nope/lib.so`"), "{e}");
}
