//! The BikeFit chain on the synthetic rider: blob_detection → marker_manager →
//! geometry_manager over a full pedal stroke, checked against the source's ground truth.

use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::harness::Harness;
use framebus_core::source::{Source, SourceInit};
use framebus_media::{SyntheticRider, SyntheticRiderParams, rider_pose};
use framebus_stages::{BlobDetection, Blobs, Geometry, GeometryManager, MarkerManager, Markers};
use serde_json::json;

fn rider(params: &SyntheticRiderParams) -> SyntheticRider {
    let init = SourceInit::standalone("camera_0", Arc::new(ManualClock::new()));
    SyntheticRider::new(params.clone(), &init).unwrap()
}

#[test]
fn knee_angle_over_a_full_pedal_stroke_matches_ground_truth() {
    let params = SyntheticRiderParams::default();
    let first = rider_pose(&params, 1);
    let near = |name: &str| {
        let (x, y) = first.marker(name).unwrap();
        // Placed by hand, a few pixels off: attaching snaps them onto the blobs.
        json!({"id": name, "x": x + 4.0, "y": y - 3.0, "attach": true})
    };
    let mut h = Harness::builder()
        .stage::<BlobDetection>("blob_detection", json!({}))
        .stage::<MarkerManager>("marker_manager", json!({"markers": [near("hip"), near("knee"), near("ankle")]}))
        .stage::<GeometryManager>(
            "geometry_manager",
            json!({"tools": [{"id": "knee_angle", "type": "angle", "points": ["hip", "knee", "ankle"]}]}),
        )
        .build()
        .unwrap();

    let mut cam = rider(&params);
    // One revolution at the cadence and frame rate, plus a few frames.
    let frames = (params.fps * 60.0 / params.cadence_rpm).ceil() as u64 + 3;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut crank = Vec::new();
    for _ in 0..frames {
        let frame = cam.next_frame().unwrap().unwrap();
        let truth = rider_pose(&params, frame.frame_id);
        crank.push(truth.crank_angle_deg);
        h.process(&frame);

        let blobs = h.result::<Blobs>("blob_detection").unwrap();
        assert_eq!(
            blobs.count,
            truth.markers.len(),
            "frame {}: {blobs:?}",
            frame.frame_id
        );
        for &(name, x, y) in &truth.markers {
            let best = blobs
                .blobs
                .iter()
                .map(|b| (b.x - x).hypot(b.y - y))
                .fold(f64::INFINITY, f64::min);
            assert!(
                best < 1.0,
                "frame {}: marker {name} off by {best:.3} px",
                frame.frame_id
            );
        }

        let markers = h.result::<Markers>("marker_manager").unwrap();
        for name in ["hip", "knee", "ankle"] {
            let m = markers.get(name).unwrap();
            let (x, y) = truth.marker(name).unwrap();
            assert!(
                m.blob.is_some() && (m.x - x).hypot(m.y - y) < 1.0,
                "frame {}: {name} {m:?}",
                frame.frame_id
            );
        }

        let knee = h
            .result::<Geometry>("geometry")
            .unwrap()
            .get("knee_angle")
            .unwrap();
        let angle = knee.value.expect("knee angle valid");
        assert!(
            (angle - truth.knee_angle_deg).abs() < 1.0,
            "frame {}: knee {angle:.2}° vs truth {:.2}°",
            frame.frame_id,
            truth.knee_angle_deg
        );
        lo = lo.min(truth.knee_angle_deg);
        hi = hi.max(truth.knee_angle_deg);
    }
    // The crank went all the way round.
    let mut turned = 0.0;
    for w in crank.windows(2) {
        turned += (w[1] - w[0]).rem_euclid(360.0);
    }
    assert!(turned >= 360.0, "crank turned {turned}°");
    // The window (2 s > one stroke) holds the stroke's knee range.
    let knee = h
        .result::<Geometry>("geometry")
        .unwrap()
        .get("knee_angle")
        .unwrap();
    assert!(
        (knee.min.unwrap() - lo).abs() < 1.0 && (knee.max.unwrap() - hi).abs() < 1.0,
        "{knee:?} vs {lo}..{hi}"
    );
    assert!(hi - lo > 40.0, "a pedal stroke bends the knee: {lo}..{hi}");
}
