//! The runtime itself (capture thread, edge, pipeline thread, snapshot) allocates nothing per
//! frame in steady state, whatever the edge policy: fewer than one allocation per 100 frames
//! is asserted (usually none; a rare burst of a few when threads block and wake on channels,
//! see the two cases).

mod common;

use std::alloc::System;
use std::sync::{Arc, Mutex};

use framebus_core::clock::ManualClock;
use framebus_core::config::{Config, Format};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

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

fn per_frame(edge: &str) -> usize {
    allocations(&format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = {edge}
        params = {{ frames = 2000 }}
        [[stages]]
        plugin = "test_probe"
        "#
    ))
}

/// Allocations between the snapshot of the frame a quarter in and the last one.
fn allocations(text: &str) -> usize {
    let config = Config::parse(text, Format::Toml, "t.toml").unwrap();
    let obs = Arc::new(AllocAtSnapshot(Mutex::new(Vec::with_capacity(4000))));
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            observers: vec![obs.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    while !rt.finished() {
        std::thread::yield_now();
    }
    let v = obs.0.lock().unwrap().clone();
    rt.shutdown();
    let n = v.len();
    v[n - 1] - v[n / 4]
}

/// One test for the whole binary: the allocator counts every thread, and libtest's main
/// thread allocates when another test of the binary finishes (its result line), which a
/// measurement running beside it would count.
#[test]
fn the_runtime_allocates_nothing_per_frame() {
    no_allocation_per_frame_on_any_edge();
    thread_stages_allocate_nothing_per_frame();
}

fn no_allocation_per_frame_on_any_edge() {
    for edge in [
        r#"{ policy = "block", capacity = 4 }"#,
        r#"{ policy = "latest" }"#,
        r#"{ policy = "drop_oldest", capacity = 3 }"#,
    ] {
        // Usually 0. About one run in twelve, the `block` edge shows one burst of 4
        // allocations somewhere in the 1500 measured frames (the counter is process-wide,
        // so the thread is not known; the same kind of burst as the thread-stage case
        // below, where threads block and wake on channels). Never one per frame: at most
        // one allocation per 100 frames is asserted, and the count printed.
        let n = per_frame(edge);
        println!("{n} allocations over 1500 frames, edge {edge}");
        assert!(
            n * 100 < 1500,
            "{n} allocations over 1500 frames, edge {edge}"
        );
    }
}

fn thread_stages_allocate_nothing_per_frame() {
    // A group of two thread stages (views computed before fan-out), an inline stage, and
    // a `latest` stage whose result is carried. 8000 frames: snapshots 1000 to 4000 are
    // measured, after every buffer has met its largest frame.
    let n = allocations(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = { policy = "block", capacity = 4 }
        params = { frames = 8000 }
        [[stages]]
        id = "e1"
        plugin = "test_emit"
        isolation = "thread"
        deadline_ms = 10000
        [[stages]]
        id = "e2"
        plugin = "test_emit"
        isolation = "thread"
        [[stages]]
        plugin = "test_probe"
        [[stages]]
        id = "p2"
        plugin = "test_probe"
        isolation = "thread"
        mode = "latest"
        "#,
    );
    // Thread stages block and wake on channels; now and then (about one run in four here)
    // a few allocations show up over the 3000 measured frames — most likely crossbeam
    // growing its list of waiting threads when more of them wait at once than before. Per
    // frame that is none: fewer than one per 100 frames is asserted, and the count printed.
    println!("{n} allocations over 3000 frames with thread stages");
    assert!(n * 100 < 3000, "{n} allocations over 3000 frames");
}
