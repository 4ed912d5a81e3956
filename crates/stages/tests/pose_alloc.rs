//! Steady-state tracking frames through the `pose` stage allocate only what the `ort` wrapper
//! allocates around one landmark-model run: our crops, decoding, smoothing, angles and
//! results reuse their buffers. (ONNX Runtime's own C++ allocations are not seen by Rust's
//! allocator and are not counted.)

mod pose_common;

use std::alloc::System;

use framebus_core::frame::PixelFormat;
use framebus_stages::pose::runtime::{Model, models_dir};
use pose_common::{photo, pose_harness};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn tracking_frames_allocate_no_more_than_one_model_run() {
    // What one landmark run costs in Rust allocations (the ort wrapper's values and names).
    let mut m = Model::load(
        &models_dir(None).join("pose_landmark_lite.onnx"),
        1,
        [1, 256, 256, 3],
        &[195, 1, 117, 64 * 64 * 39],
    )
    .expect("model");
    m.run().unwrap();
    let mut per_run = 0;
    for _ in 0..5 {
        let r = Region::new(GLOBAL);
        m.run().unwrap();
        let s = r.change();
        per_run = per_run.max(s.allocations + s.reallocations);
    }

    let img = photo("basketball1.png");
    let mut h = pose_harness(json!({"smoothing": "one_euro"}));
    for _ in 0..5 {
        let f = h.frame(img.w, img.h, PixelFormat::Rgb8, |d| {
            d.copy_from_slice(&img.data)
        });
        h.process_raw(&f);
    }
    let mut worst = 0;
    for _ in 0..10 {
        let f = h.frame(img.w, img.h, PixelFormat::Rgb8, |d| {
            d.copy_from_slice(&img.data)
        });
        let r = Region::new(GLOBAL);
        h.process_raw(&f);
        let s = r.change();
        worst = worst.max(s.allocations + s.reallocations);
    }
    let p = h.result::<framebus_stages::Pose>("vision").unwrap();
    assert!(p.valid && !p.detected, "tracking");
    eprintln!("allocations: {worst} per tracking frame, {per_run} per bare model run");
    assert!(
        worst <= per_run,
        "{worst} allocations per frame, {per_run} in the model run alone"
    );
}
