//! Zero heap allocations per frame in steady state, from capture through every BikeFit stage
//! and the snapshot serialization (a counting global allocator sees every thread).

use std::alloc::System;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use framebus_core::clock::ManualClock;
use framebus_core::config::{Config, Format};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const FRAMES: usize = 400;
const WARMUP: usize = 100;

/// Records the process-wide allocation count at every snapshot, without allocating.
struct AllocAtSnapshot {
    counts: Mutex<Vec<usize>>,
    bytes: AtomicU64,
}

impl Observer for AllocAtSnapshot {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        self.bytes.store(s.json.len() as u64, Ordering::Relaxed);
        let n = GLOBAL.stats().allocations + GLOBAL.stats().reallocations;
        if let Ok(mut c) = self.counts.lock()
            && c.len() < c.capacity()
        {
            c.push(n);
        }
    }
}

#[test]
fn bikefit_pipeline_allocates_nothing_per_frame() {
    framebus_stages::link();
    framebus_media::link();
    let text = include_str!("../../../examples/bikefit.toml")
        .replace("fps = 30", "fps = 0")
        .replace("policy = \"latest\"", "policy = \"block\", capacity = 4");
    let config = Config::parse(&text, Format::Toml, "bikefit.toml").unwrap();
    let obs = Arc::new(AllocAtSnapshot {
        counts: Mutex::new(Vec::with_capacity(FRAMES)),
        bytes: AtomicU64::new(0),
    });
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            max_frames: Some(FRAMES as u64),
            observers: vec![obs.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    while !rt.finished() {
        std::thread::yield_now();
    }
    let counts = obs.counts.lock().unwrap().clone();
    rt.shutdown();
    assert_eq!(counts.len(), FRAMES, "every frame produced a snapshot");
    let steady = &counts[WARMUP..];
    let per_frame = (steady[steady.len() - 1] - steady[0]) as f64 / (steady.len() - 1) as f64;
    let frames_with: Vec<usize> = steady
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1] != w[0])
        .map(|(i, w)| (i + WARMUP) * 1000 + (w[1] - w[0]))
        .collect();

    println!(
        "allocations per frame in steady state: {per_frame:.3} (snapshot {} bytes)",
        obs.bytes.load(Ordering::Relaxed)
    );
    assert_eq!(
        steady[steady.len() - 1] - steady[0],
        0,
        "allocations between frame {WARMUP} and frame {FRAMES} (frame*1000+count: {frames_with:?})"
    );
}
