//! Steady-state frames through capture → all four BikeFit stages allocate nothing.

use std::alloc::System;
use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::harness::Harness;
use framebus_core::source::{Source, SourceInit};
use framebus_media::{SyntheticRider, SyntheticRiderParams, rider_pose};
use framebus_stages::{BlobDetection, CameraControl, GeometryManager, MarkerManager};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn steady_state_frames_do_not_allocate() {
    let params = SyntheticRiderParams {
        gain: 3.0,
        ..Default::default()
    };
    let init = SourceInit::standalone("camera_0", Arc::new(ManualClock::new()));
    let mut cam = SyntheticRider::new(params.clone(), &init).unwrap();
    let pose = rider_pose(&params, 1);
    let markers: Vec<_> = pose
        .markers
        .iter()
        .map(|&(name, x, y)| json!({"id": name, "x": x, "y": y, "label": name.to_uppercase(), "attach": true}))
        .collect();
    let mut h = Harness::builder()
        .camera(cam.controls().unwrap())
        .stage::<CameraControl>("camera_control", json!({}))
        .stage::<BlobDetection>("blob_detection", json!({}))
        .stage::<MarkerManager>("marker_manager", json!({ "markers": markers }))
        .stage::<GeometryManager>(
            "geometry_manager",
            json!({"tools": [
                {"id": "knee_angle", "type": "angle", "points": ["hip", "knee", "ankle"]},
                {"id": "elbow", "type": "angle", "points": ["SHOULDER", "ELBOW", "WRIST"]},
                {"id": "thigh", "type": "distance", "points": ["hip", "knee"]},
                {"id": "back", "type": "line_angle", "points": ["hip", "shoulder"]},
                {"id": "missing", "type": "distance", "points": ["hip", "toe"]},
            ]}),
        )
        .build()
        .unwrap();
    // Warm up: buffers reach their steady size.
    for _ in 0..30 {
        let f = cam.next_frame().unwrap().unwrap();
        h.process_raw(&f);
    }
    let mut worst = 0;
    for _ in 0..60 {
        let f = cam.next_frame().unwrap().unwrap();
        let region = Region::new(GLOBAL);
        h.process_raw(&f);
        let s = region.change();
        worst = worst.max(s.allocations + s.reallocations);
        drop(f);
    }
    assert_eq!(worst, 0, "allocations in a steady-state frame");
    let snap: serde_json::Value = serde_json::from_slice(h.pipeline().snapshot()).unwrap();
    assert_eq!(snap["results"]["blob_detection"]["count"], 6);
    assert!(
        snap["results"]["geometry"]["knee_angle"]["valid"]
            .as_bool()
            .unwrap()
    );
}
