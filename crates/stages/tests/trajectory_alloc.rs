//! Steady-state `trajectory` frames allocate nothing, whether the aim holds or changes
//! between two shots seen before (counting allocator; one test per binary).

mod common;

use std::alloc::System;

use common::TrackedFixture;
use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use framebus_stages::{Prediction, Trajectory};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn trajectory_frames_do_not_allocate_once_warm() {
    let tracked = json!({
        "balls": [
            {"id": "cue", "x": 0.5, "y": 0.5, "vx": 0.0, "vy": 0.0, "at_rest": true},
            {"id": "1", "x": 1.4, "y": 0.55, "vx": 0.0, "vy": 0.0, "at_rest": true},
            {"id": "2", "x": 1.6, "y": 0.3, "vx": 0.0, "vy": 0.0, "at_rest": true}
        ],
        "cue": {"tip": [0.4, 0.5], "angle_deg": 2.0}
    });
    let mut h = Harness::builder()
        .stage::<TrackedFixture>("ball_tracking", tracked)
        .stage::<Trajectory>("trajectory", json!({"speed": 3.0}))
        .build()
        .unwrap();
    let speeds = [3.0, 1.5];
    let run = |h: &mut Harness, n: usize| {
        for k in 0..n {
            // Alternate between two predictions (a new simulation every other frame).
            h.command("trajectory", "set_params", json!({"speed": speeds[k % 2]}))
                .unwrap();
            let f = h.frame(8, 8, PixelFormat::Gray8, |d| d.fill(0));
            h.process_raw(&f);
        }
    };
    run(&mut h, 6);
    assert!(h.result::<Prediction>("trajectory").unwrap().active);
    // Commands allocate (JSON args); measure frames only.
    let mut frames = 0;
    let mut allocs = 0;
    let mut shapes = [(0.0, 0); 2];
    for k in 0..40 {
        h.command("trajectory", "set_params", json!({"speed": speeds[k % 2]}))
            .unwrap();
        let f = h.frame(8, 8, PixelFormat::Gray8, |d| d.fill(0));
        let region = Region::new(GLOBAL);
        h.process_raw(&f);
        let c = region.change();
        allocs += c.allocations + c.reallocations;
        frames += 1;
        let p = h.result::<Prediction>("trajectory").unwrap();
        shapes[k % 2] = (p.duration, p.collisions.len() + p.pockets.len());
        drop(f);
    }
    assert_eq!(frames, 40);
    // The two speeds give different shots (so buffers really are reused across shapes).
    assert!(
        shapes[0].0 != shapes[1].0 && shapes[0].1 != shapes[1].1,
        "{shapes:?}"
    );
    assert_eq!(allocs, 0, "allocations in {frames} frames");
}
