//! Steady-state capture from `synthetic_rider` allocates nothing, with a counting allocator.

use std::alloc::System;
use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_media::{SyntheticRider, SyntheticRiderParams};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn synthetic_rider_allocates_nothing_per_frame() {
    let init = SourceInit {
        id: Arc::from("camera_0"),
        index: 0,
        clock: Arc::new(ManualClock::new()),
        stop: StopFlag::new(),
        pool_frames: 3,
        base_dir: std::env::temp_dir(),
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
