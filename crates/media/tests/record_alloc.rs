//! Recording and the clip ring add no heap allocation per frame on the pipeline thread: a
//! counting allocator (`framebus_testkit::alloc`) keeps a per-thread count, and an observer
//! placed after the recorder reads the pipeline thread's count at every snapshot. (The
//! encoder threads allocate; they are not the pipeline.)

use std::sync::{Arc, Mutex};

use framebus_core::clock::ManualClock;
use framebus_core::config::{Config, Format};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_media::Recorder;
use framebus_protocol::RunState;
use framebus_testkit::alloc::{ThreadCounting, thread_allocations};

#[global_allocator]
static GLOBAL: ThreadCounting = ThreadCounting;

const FRAMES: usize = 400;
const WARMUP: usize = 100;

/// Reads the pipeline thread's allocation count at each recorded snapshot.
struct AtSnapshot(Mutex<Vec<u64>>);

impl Observer for AtSnapshot {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        let n = thread_allocations();
        if s.state == RunState::Recording
            && let Ok(mut v) = self.0.lock()
            && v.len() < v.capacity()
        {
            v.push(n);
        }
    }
}

#[test]
fn recording_and_clip_ring_allocate_nothing_per_frame_on_the_pipeline_thread() {
    framebus_media::link();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[runtime]
initial_state = "recording"
recordings_dir = "{}"
clip_pre_s = 2

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
clips = true
edge = {{ policy = "block", capacity = 4 }}
params = {{ width = 320, height = 240, fps = 30 }}
"#,
        dir.path().display()
    );
    let config = Config::parse(&text, Format::Toml, "t.toml").unwrap();
    let recorder = Arc::new(Recorder::new(&config, Vec::new()).unwrap());
    let probe = Arc::new(AtSnapshot(Mutex::new(Vec::with_capacity(FRAMES))));
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            max_frames: Some(FRAMES as u64),
            observers: vec![recorder.clone(), probe.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    while !rt.finished() {
        std::thread::yield_now();
    }
    rt.shutdown();
    recorder.close();
    let counts = probe.0.lock().unwrap().clone();
    assert_eq!(counts.len(), FRAMES);
    let steady = &counts[WARMUP..];
    let added = steady[steady.len() - 1] - steady[0];
    let status = recorder.status();
    println!(
        "pipeline-thread allocations over {} recorded frames: {added}; encoded {}, dropped {}",
        steady.len(),
        status.sources[0].encoded,
        status.sources[0].dropped
    );
    assert_eq!(
        added, 0,
        "allocations on the pipeline thread while recording"
    );
    assert!(status.sources[0].encoded > 0);
    assert_eq!(
        status.sources[0].encoded + status.sources[0].dropped,
        FRAMES as u64,
        "every frame encoded or counted as dropped"
    );
}
