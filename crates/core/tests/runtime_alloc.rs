//! The runtime itself (capture thread, edge, pipeline thread, snapshot) allocates nothing per
//! frame in steady state, whatever the edge policy.

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
    let text = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = {edge}
        params = {{ frames = 2000 }}
        [[stages]]
        plugin = "test_probe"
        "#
    );
    let config = Config::parse(&text, Format::Toml, "t.toml").unwrap();
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

#[test]
fn no_allocation_per_frame_on_any_edge() {
    for edge in [
        r#"{ policy = "block", capacity = 4 }"#,
        r#"{ policy = "latest" }"#,
        r#"{ policy = "drop_oldest", capacity = 3 }"#,
    ] {
        assert_eq!(per_frame(edge), 0, "{edge}");
    }
}
