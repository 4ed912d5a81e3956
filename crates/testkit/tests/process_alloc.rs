//! A process stage's proxy allocates nothing per frame once warmed up: the frame message is
//! written into a reused buffer, its source id is reused, and the worker's `result` is
//! parsed straight into a struct (no per-field buffering). Counted process-wide in the host
//! (the worker is another process) with a real worker (`framebus-test-worker`) running the
//! no-op `test_quiet` stage over the real socket and shared memory.

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

/// Allocation counts at each snapshot.
struct AllocAtSnapshot(Mutex<Vec<usize>>);

impl Observer for AllocAtSnapshot {
    fn snapshot(&self, _: &SnapshotOut<'_>) {
        let s = GLOBAL.stats();
        let mut v = self.0.lock().unwrap();
        if v.len() < v.capacity() {
            v.push(s.allocations + s.reallocations);
        }
    }
}

#[test]
fn a_process_hop_allocates_nothing_per_frame_in_the_host() {
    let text = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_ticks"
        edge = {{ policy = "block", capacity = 2 }}
        params = {{ fps = 1000, width = 64, height = 48, frames = {FRAMES} }}
        [[stages]]
        plugin = "test_quiet"
        isolation = "process"
        worker = {{ exe = "{EXE}" }}
        "#
    );
    let config = Config::parse(&text, Format::Toml, "t.toml").unwrap();
    let obs = Arc::new(AllocAtSnapshot(Mutex::new(Vec::with_capacity(FRAMES + 10))));
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
    println!("process hop: {allocations} allocations in the host over {frames} frames");
    // The watchdog thread's timer may allocate once in a while; nothing per frame.
    assert!(
        allocations * 20 < frames,
        "{allocations} allocations over {frames} frames"
    );
}
