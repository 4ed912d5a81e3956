//! Steady-state capture from `synthetic_rider` and `video_file` allocates nothing, with a
//! counting allocator.

use std::alloc::System;
use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::source::{Source, SourceInit};
use framebus_media::{DecodeFormat, SyntheticRider, SyntheticRiderParams};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// One test for the binary: the allocator counts every thread, and libtest's main thread
/// allocates when a parallel test of the same binary ends, which a measurement running
/// beside it would count.
#[test]
fn capture_allocates_nothing_per_frame() {
    synthetic_rider_allocates_nothing_per_frame();
    video_file_allocates_nothing_per_frame_once_warm(DecodeFormat::Rgb8);
    video_file_allocates_nothing_per_frame_once_warm(DecodeFormat::Nv12);
}

fn synthetic_rider_allocates_nothing_per_frame() {
    let init = SourceInit {
        pool_frames: 3,
        ..SourceInit::standalone("camera_0", Arc::new(ManualClock::new()))
    };
    // Gain and auto-exposure on: the noise and the control loop must not allocate either.
    let params = SyntheticRiderParams {
        gain: 6.0,
        auto_exposure: true,
        ..Default::default()
    };
    let mut source = SyntheticRider::new(params, &init).unwrap();
    let controls = source.controls().unwrap();
    // Warm up: the pool makes its frames.
    for _ in 0..5 {
        drop(source.next_frame().unwrap().unwrap());
    }
    let region = Region::new(GLOBAL);
    for _ in 0..50 {
        let frame = source.next_frame().unwrap().unwrap();
        assert!(frame.frame_id > 5);
        drop(frame);
        let _ = controls.settings();
    }
    let change = region.change();
    assert_eq!(change.allocations, 0, "{change:?}");
    assert_eq!(change.reallocations, 0, "{change:?}");
}

fn video_file_allocates_nothing_per_frame_once_warm(format: DecodeFormat) {
    use framebus_media::{VideoFile, VideoFileParams};
    use framebus_testkit::video::{VideoSpec, encode_counter_video};
    let dir = tempfile::tempdir().unwrap();
    let spec = VideoSpec {
        width: 320,
        height: 96,
        fps: 25,
        frames: 80,
        args: &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2"],
    };
    encode_counter_video(dir.path(), "v.mp4", &spec);
    let init = SourceInit {
        pool_frames: 3,
        base_dir: dir.path().to_path_buf(),
        ..SourceInit::standalone("camera_0", Arc::new(ManualClock::new()))
    };
    let params = VideoFileParams {
        path: "v.mp4".into(),
        realtime: true,
        looping: false,
        format,
        ..Default::default()
    };
    let mut source = VideoFile::new(params, &init).unwrap();
    for _ in 0..10 {
        drop(source.next_frame().unwrap().unwrap());
    }
    // Frames 11..=70: samples are read and converted into reused buffers; the decoder's own
    // picture buffers are C allocations made when it starts (not counted here, not per frame).
    let region = Region::new(GLOBAL);
    for _ in 0..60 {
        let frame = source.next_frame().unwrap().unwrap();
        drop(frame);
    }
    let change = region.change();
    assert_eq!(change.allocations, 0, "{format:?}: {change:?}");
    assert_eq!(change.reallocations, 0, "{format:?}: {change:?}");
}
