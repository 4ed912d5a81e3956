//! A process stage's proxy allocates nothing per frame once warmed up: the frame message is
//! written into a reused buffer, its source id is reused, and the worker's `result` is
//! parsed in place into buffers kept between frames (strings included). Counted
//! process-wide in the host (the worker is another process) with a real worker
//! (`framebus-test-worker`) running the no-op `test_quiet` stage, and `test_wordy` whose
//! output, signals, point and widget carry strings, over the real socket and shared memory.

use std::alloc::System;
use std::sync::{Arc, Mutex};

use framebus_core::config::{Config, Format};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const EXE: &str = env!("CARGO_BIN_EXE_framebus-test-worker");
const FRAMES: usize = 600;
const WARM: usize = 100;

/// Allocation counts at each snapshot, and the last snapshot's bytes.
struct AllocAtSnapshot(Mutex<Vec<usize>>, Mutex<Vec<u8>>);

impl Observer for AllocAtSnapshot {
    fn snapshot(&self, out: &SnapshotOut<'_>) {
        let s = GLOBAL.stats();
        let mut v = self.0.lock().unwrap();
        if v.len() < v.capacity() {
            v.push(s.allocations + s.reallocations);
        }
        let mut last = self.1.lock().unwrap();
        // Reused: the copy allocates only while it grows.
        last.clear();
        last.extend_from_slice(out.json);
    }
}

/// Runs `stage` in a worker over `FRAMES` frames; returns the host's allocations after the
/// warm-up and the frames they cover, and the last snapshot.
fn count(stage: &str) -> (usize, usize, serde_json::Value) {
    let text = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_ticks"
        edge = {{ policy = "block", capacity = 2 }}
        params = {{ fps = 1000, width = 64, height = 48, frames = {FRAMES} }}
        [[stages]]
        plugin = "{stage}"
        isolation = "process"
        worker = {{ exe = "{EXE}" }}
        "#
    );
    let config = Config::parse(&text, Format::Toml, "t.toml").unwrap();
    let obs = Arc::new(AllocAtSnapshot(
        Mutex::new(Vec::with_capacity(FRAMES + 10)),
        Mutex::new(Vec::with_capacity(1 << 16)),
    ));
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            observers: vec![obs.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    rt.wait();
    assert_eq!(
        framebus_testkit::process::children(),
        Vec::<u32>::new(),
        "the worker ended with the run"
    );
    let counts = obs.0.lock().unwrap().clone();
    assert!(counts.len() > WARM + 100, "{} snapshots", counts.len());
    let frames = counts.len() - 1 - WARM;
    let allocations = counts[counts.len() - 1] - counts[WARM];
    let last = serde_json::from_slice(&obs.1.lock().unwrap()).unwrap();
    (allocations, frames, last)
}

/// One test: the counts are process-wide, so the two runs must not overlap.
#[test]
fn a_process_hop_allocates_nothing_per_frame_in_the_host_also_with_strings() {
    let (allocations, frames, _) = count("test_quiet");
    println!("process hop: {allocations} allocations in the host over {frames} frames");
    // The watchdog thread's timer may allocate once in a while; nothing per frame.
    assert!(
        allocations * 20 < frames,
        "{allocations} allocations over {frames} frames"
    );

    let (allocations, frames, last) = count("test_wordy");
    println!("strings: {allocations} allocations in the host over {frames} frames");
    // The strings did cross: the last snapshot holds the stage's output, signals and widget.
    let out = &last["results"]["test_wordy"];
    let n = out["n"].as_u64().expect("an output");
    assert_eq!(out["label"], format!("frame {n}"), "{last}");
    assert_eq!(out["corners"][3], format!("corner 3 of {}", n % 10));
    assert!(last.to_string().contains("wordy_half"), "{last}");
    assert!(last.to_string().contains("Frames seen"), "{last}");
    assert!(
        allocations * 20 < frames,
        "{allocations} allocations over {frames} frames"
    );
}
