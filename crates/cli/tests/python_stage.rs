//! A Python stage (`examples/python_stage/my_stages/brightness.py`, the README's example) in a
//! worker process: on known frames (PNG files of seeded random pixels) its `bright` signal is
//! exactly the share of bytes at or above the threshold computed here in Rust; params go
//! through the worker (out of range → `bad_args`, in range → applied); no frame is copied;
//! `kill -9` of the interpreter is reported, restarted, and results resume; no worker is left.
//!
//! The interpreter is `FRAMEBUS_TEST_PYTHON` (set by `scripts/test.sh` to a venv with the SDK
//! installed), else `python3` (which then needs `pip install ./python`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use framebus_core::config::{Config, Format};
use framebus_core::protocol::{Command, ErrorCode};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_testkit::process::{Tap, alive, kill9, next_where, notifications};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);
const W: u32 = 64;
const H: u32 = 48;
const IMAGES: usize = 8;

fn python() -> String {
    std::env::var("FRAMEBUS_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Writes `IMAGES` PNGs of seeded random RGB bytes; returns their pixels in file order.
fn write_frames(dir: &Path) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..IMAGES)
        .map(|i| {
            let px: Vec<u8> = (0..(W * H * 3))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            image::RgbImage::from_raw(W, H, px.clone())
                .unwrap()
                .save(dir.join(format!("f{i:02}.png")))
                .unwrap();
            px
        })
        .collect()
}

/// numpy's `(frame >= t).mean()` on the same bytes.
fn bright(px: &[u8], t: u8) -> f64 {
    px.iter().filter(|&&b| b >= t).count() as f64 / px.len() as f64
}

fn worker_status(rt: &Runtime) -> Value {
    rt.bus()
        .request_blocking(Command::new("py_brightness", "worker_status", json!({})), T)
        .expect("worker_status answers")
        .result
}

#[test]
fn a_python_stage_in_a_worker_gives_the_numpy_results_and_survives_kill_9() {
    framebus_stages::link();
    framebus_media::link();
    let dir = tempfile::tempdir().unwrap();
    let frames_dir: PathBuf = dir.path().join("frames");
    std::fs::create_dir(&frames_dir).unwrap();
    let pixels = write_frames(&frames_dir);
    let text = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "image_sequence"
        edge = {{ policy = "block", capacity = 2 }}
        params = {{ path = "{}", fps = 0, looping = true }}
        [[stages]]
        plugin = "py_brightness"
        isolation = "process"
        python = "{}"
        module = "my_stages.brightness"
        params = {{ threshold = 100 }}
        "#,
        frames_dir.display(),
        python()
    );
    let config = Config::parse(&text, Format::Toml, "py.toml").unwrap();
    let (tap, rx) = Tap::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python_stage");
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            observers: vec![tap as Arc<_>],
            base_dir: example,
            ..Default::default()
        },
    )
    .unwrap();
    let bright_of = |s: &Value| s["signals"]["bright"].as_f64();
    let image_of = |s: &Value| (s["frame_id"].as_u64().unwrap() as usize - 1) % IMAGES;

    // Every frame's signal is exactly the share computed here.
    let mut checked = 0;
    while checked < 2 * IMAGES {
        let s = rx.recv_timeout(T).expect("snapshots");
        assert_eq!(s["errors"], json!([]), "{}", s["errors"]);
        let got = bright_of(&s).expect("the Python stage's signal");
        assert_eq!(
            got,
            bright(&pixels[image_of(&s)], 100),
            "frame {}",
            s["frame_id"]
        );
        checked += 1;
    }
    let st = worker_status(&rt);
    assert_eq!(st["copied_frames"], 0, "zero-copy: {st}");

    // Params are checked by the SDK in the worker, and applied there.
    let err = rt
        .bus()
        .request_blocking(
            Command::new("py_brightness", "set_params", json!({ "threshold": 300 })),
            T,
        )
        .expect_err("300 is above the maximum");
    assert_eq!(err.code, ErrorCode::BadArgs, "{}", err.message);
    assert!(err.message.contains("threshold"), "{}", err.message);
    rt.bus()
        .request_blocking(
            Command::new("py_brightness", "set_params", json!({ "threshold": 50 })),
            T,
        )
        .expect("applied");
    let s = next_where(&rx, T, |s| {
        bright_of(s).is_some_and(|b| b == bright(&pixels[image_of(s)], 50))
    });
    assert!(s.is_some(), "the new threshold is used");

    // kill -9 of the interpreter: reported, restarted, results resume.
    let pid = worker_status(&rt)["pid"].as_u64().expect("a live worker") as u32;
    kill9(pid);
    let restarted = next_where(&rx, T, |s| {
        notifications(s)
            .iter()
            .any(|(title, _)| title == "worker restarted")
    });
    assert!(restarted.is_some(), "the restart is reported");
    let s = next_where(&rx, T, |s| bright_of(s).is_some()).expect("results resume");
    assert_eq!(bright_of(&s), Some(bright(&pixels[image_of(&s)], 50)));
    let new_pid = worker_status(&rt)["pid"].as_u64().unwrap() as u32;
    assert_ne!(new_pid, pid);
    rt.shutdown();
    assert!(!alive(pid) && !alive(new_pid), "no worker left running");
}
