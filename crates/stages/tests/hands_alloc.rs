//! Steady-state tracking frames through the `hands` stage allocate only what the `ort`
//! wrapper allocates around one landmark-model run (as `pose_alloc.rs` for `pose`).

mod pose_common;

use std::alloc::System;

use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use pose_common::{model_run_allocs, photo, worst_frame_allocs};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn tracking_frames_allocate_no_more_than_one_model_run() {
    let per_run = model_run_allocs(
        GLOBAL,
        "hand_landmark_lite.onnx",
        [1, 224, 224, 3],
        &[63, 1, 1, 63],
    );

    // A 200×200 crop of basketball1.png around the player's right hand (see hands.rs).
    let full = photo("basketball1.png");
    let (x0, y0, n) = (50usize, 90usize, 200usize);
    let mut data = Vec::with_capacity(n * n * 3);
    for y in y0..y0 + n {
        let row = (y * full.w as usize + x0) * 3;
        data.extend_from_slice(&full.data[row..row + n * 3]);
    }
    framebus_stages::link();
    let mut h = Harness::builder()
        .plugin("hands", "hands", json!({"max_hands": 1}))
        .build()
        .expect("hands stage");
    let frame = |h: &mut Harness| {
        h.frame(n as u32, n as u32, PixelFormat::Rgb8, |d| {
            d.copy_from_slice(&data)
        })
    };
    let worst = worst_frame_allocs(GLOBAL, &mut h, frame);
    let hands = h.result::<framebus_stages::Hands>("hands").unwrap();
    assert!(hands.hands.len() == 1 && !hands.detected, "tracking");
    eprintln!("allocations: {worst} per tracking frame, {per_run} per bare model run");
    assert!(
        worst <= per_run,
        "{worst} allocations per frame, {per_run} in the model run alone"
    );
}
