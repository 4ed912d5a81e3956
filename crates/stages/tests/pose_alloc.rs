//! Steady-state tracking frames through the `pose` stage allocate only what the `ort` wrapper
//! allocates around one landmark-model run: our crops, decoding, smoothing, angles and
//! results reuse their buffers. (ONNX Runtime's own C++ allocations are not seen by Rust's
//! allocator and are not counted.)

mod pose_common;

use std::alloc::System;

use framebus_core::frame::PixelFormat;
use pose_common::{model_run_allocs, photo, pose_harness, worst_frame_allocs};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// One test for the binary: the allocator counts every thread, and libtest's main thread
/// allocates when a parallel test of the same binary ends, which a measurement running
/// beside it would count.
#[test]
fn pose_frames_allocate_only_the_model_runs() {
    tracking_frames_allocate_no_more_than_one_model_run();
    empty_frames_searched_with_square_crops_allocate_only_the_detector_runs();
}

fn tracking_frames_allocate_no_more_than_one_model_run() {
    // What one landmark run costs in Rust allocations (the ort wrapper's values and names).
    let per_run = model_run_allocs(
        GLOBAL,
        "pose_landmark_lite.onnx",
        [1, 256, 256, 3],
        &[195, 1, 117, 64 * 64 * 39],
    );

    let img = photo("basketball1.png");
    let mut h = pose_harness(json!({"smoothing": "one_euro"}));
    let worst = worst_frame_allocs(GLOBAL, &mut h, |h| {
        h.frame(img.w, img.h, PixelFormat::Rgb8, |d| {
            d.copy_from_slice(&img.data)
        })
    });
    let p = h.result::<framebus_stages::Pose>("vision").unwrap();
    assert!(p.valid && !p.detected, "tracking");
    eprintln!("allocations: {worst} per tracking frame, {per_run} per bare model run");
    assert!(
        worst <= per_run,
        "{worst} allocations per frame, {per_run} in the model run alone"
    );
}

fn empty_frames_searched_with_square_crops_allocate_only_the_detector_runs() {
    // A 4:3 frame with nobody: the letterbox pass and the three square crops, four detector
    // runs per frame, every frame.
    let per_run = model_run_allocs(
        GLOBAL,
        "pose_detection.onnx",
        [1, 224, 224, 3],
        &[2254 * 12, 2254],
    );
    let mut h = pose_harness(json!({}));
    let worst = worst_frame_allocs(GLOBAL, &mut h, |h| {
        h.frame(320, 240, PixelFormat::Rgb8, |d| d.fill(128))
    });
    let p = h.result::<framebus_stages::Pose>("vision").unwrap();
    assert!(!p.valid && p.detected, "searched, nobody");
    eprintln!("allocations: {worst} per empty frame, {per_run} per bare detector run");
    assert!(
        worst <= 4 * per_run,
        "{worst} allocations per frame, {per_run} in one detector run alone"
    );
}
