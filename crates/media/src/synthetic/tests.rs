//! Tests of the synthetic rider as a source: bytes, markers, controls, ids and timing.

use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::frame::{FrameData, PixelFormat};
use framebus_core::source::Source;
use framebus_core::views::to_gray;
use serde_json::json;

use super::*;
use crate::test_util::init_with;

fn open(params: SyntheticRiderParams) -> SyntheticRider {
    SyntheticRider::new(params, &init_with(Arc::new(ManualClock::new()), 4)).unwrap()
}

fn gray(f: &FrameData) -> Vec<u8> {
    let mut g = Vec::new();
    to_gray(f, &mut g);
    g
}

fn mean(f: &FrameData) -> f64 {
    let g = gray(f);
    g.iter().map(|&v| f64::from(v)).sum::<f64>() / g.len() as f64
}

#[test]
fn same_seed_same_bytes_other_seed_other_noise() {
    let p = SyntheticRiderParams {
        gain: 6.0,
        ..Default::default()
    };
    let (mut a, mut b) = (open(p.clone()), open(p.clone()));
    let mut c = open(SyntheticRiderParams { seed: 2, ..p });
    for _ in 0..5 {
        let (fa, fb, fc) = (
            a.next_frame().unwrap().unwrap(),
            b.next_frame().unwrap().unwrap(),
            c.next_frame().unwrap().unwrap(),
        );
        assert_eq!(fa.format, PixelFormat::Rgb8);
        assert_eq!(
            (fa.width, fa.height, fa.data.len()),
            (640, 480, 640 * 480 * 3)
        );
        assert!(
            fa.data == fb.data,
            "frame {} differs between runs",
            fa.frame_id
        );
        assert!(fa.data != fc.data, "another seed must give other noise");
    }
}

#[test]
fn frames_change_as_the_rider_pedals() {
    let mut s = open(SyntheticRiderParams::default());
    let a = s.next_frame().unwrap().unwrap();
    let b = s.next_frame().unwrap().unwrap();
    assert!(a.data != b.data);
}

/// Thresholds at 200 and checks that exactly the six markers light up, each centred on its
/// ground truth within half a pixel, over a full pedal stroke at several sizes.
#[test]
fn only_markers_are_bright_and_their_centroids_are_exact() {
    for (w, h) in [(640, 480), (320, 240), (800, 600)] {
        let p = SyntheticRiderParams {
            width: w,
            height: h,
            ..Default::default()
        };
        let mut s = open(p.clone());
        for _ in 0..21 {
            let f = s.next_frame().unwrap().unwrap();
            let pose = rider_pose(&p, f.frame_id);
            let r = pose.marker_radius;
            let g = gray(&f);
            let mut acc = [(0.0f64, 0.0f64, 0usize); 6];
            for (i, &v) in g.iter().enumerate() {
                let (x, y) = ((i % w as usize) as f64, (i / w as usize) as f64);
                let near = pose
                    .markers
                    .iter()
                    .position(|m| (m.1 - x).hypot(m.2 - y) <= r + 1.0);
                match near {
                    Some(k) if v >= 200 => {
                        acc[k].0 += x;
                        acc[k].1 += y;
                        acc[k].2 += 1;
                    }
                    Some(_) => {}
                    None => assert!(
                        v <= 150,
                        "pixel ({x},{y}) = {v} in frame {} ({w}x{h})",
                        f.frame_id
                    ),
                }
            }
            for (m, (sx, sy, n)) in pose.markers.iter().zip(acc) {
                assert!(n as f64 > 2.5 * r * r, "{} has only {n} bright pixels", m.0);
                let (cx, cy) = (sx / n as f64, sy / n as f64);
                let err = (cx - m.1).hypot(cy - m.2);
                assert!(
                    err < 0.5,
                    "{} centroid off by {err:.2} px in frame {}",
                    m.0,
                    f.frame_id
                );
            }
        }
    }
}

#[test]
fn exposure_and_gain_change_brightness() {
    let base = mean(
        &open(SyntheticRiderParams::default())
            .next_frame()
            .unwrap()
            .unwrap(),
    );
    let bright = mean(
        &open(SyntheticRiderParams {
            exposure: 500.0,
            ..Default::default()
        })
        .next_frame()
        .unwrap()
        .unwrap(),
    );
    let dark = mean(
        &open(SyntheticRiderParams {
            exposure: 50.0,
            ..Default::default()
        })
        .next_frame()
        .unwrap()
        .unwrap(),
    );
    let gained = mean(
        &open(SyntheticRiderParams {
            gain: 6.0,
            ..Default::default()
        })
        .next_frame()
        .unwrap()
        .unwrap(),
    );
    assert!(bright > base * 2.0, "{bright} vs {base}");
    assert!(dark < base * 0.5, "{dark} vs {base}");
    assert!(gained > base * 1.6, "{gained} vs {base}");
}

#[test]
fn a_command_changes_the_next_frame() {
    let mut s = open(SyntheticRiderParams::default());
    let controls = s.controls().unwrap();
    let before = mean(&s.next_frame().unwrap().unwrap());
    let now = controls.apply(&json!({"exposure": 500})).unwrap();
    assert_eq!(now.exposure, 500.0);
    let after = mean(&s.next_frame().unwrap().unwrap());
    assert!(after > before * 2.0, "{after} vs {before}");
    assert!(controls.apply(&json!({"exposure": 5000})).is_err());
    assert_eq!(controls.settings().exposure, 500.0);
}

#[test]
fn auto_exposure_converges_and_reports_its_exposure() {
    let mut s = open(SyntheticRiderParams {
        exposure: 20.0,
        auto_exposure: true,
        ..Default::default()
    });
    let mut last = 0.0;
    for _ in 0..60 {
        last = mean(&s.next_frame().unwrap().unwrap());
    }
    let e = s.controls().unwrap().settings().exposure;
    assert!(e > 40.0, "exposure should have risen from 20, is {e}");
    assert!((last - AUTO_EXPOSURE_TARGET).abs() < 12.0, "mean {last}");
}

#[test]
fn ids_count_from_one_and_timestamps_follow_the_clock() {
    let clock = Arc::new(ManualClock::new());
    clock.advance(1_000);
    let p = SyntheticRiderParams {
        frames: 5,
        ..Default::default()
    };
    let mut s = SyntheticRider::new(p, &init_with(clock.clone(), 2)).unwrap();
    let mut ids = Vec::new();
    while let Some(f) = s.next_frame().unwrap() {
        let expected = 1_000 + ((f.frame_id - 1) as f64 * 1e9 / 30.0).round() as u64;
        assert_eq!(f.t_ns, expected);
        ids.push(f.frame_id);
    }
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert!(s.next_frame().unwrap().is_none(), "stays ended");
}

#[test]
fn unpaced_timestamps_still_increase() {
    let p = SyntheticRiderParams {
        fps: 0.0,
        frames: 3,
        ..Default::default()
    };
    let mut s = open(p);
    let ts: Vec<u64> = std::iter::from_fn(|| s.next_frame().unwrap())
        .map(|f| f.t_ns)
        .collect();
    assert_eq!(ts.len(), 3);
    assert!(ts.windows(2).all(|w| w[1] > w[0]), "{ts:?}");
}

#[test]
fn stop_ends_the_stream_even_when_the_pool_is_empty() {
    let init = init_with(Arc::new(ManualClock::new()), 1);
    let mut s = SyntheticRider::new(SyntheticRiderParams::default(), &init).unwrap();
    let held = s.next_frame().unwrap().unwrap();
    let stop = init.stop.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(30));
        stop.stop();
    });
    assert!(s.next_frame().unwrap().is_none());
    t.join().unwrap();
    drop(held);
}

#[test]
fn registered_with_a_schema() {
    let reg = framebus_core::registry::source("synthetic_rider").expect("registered");
    reg.check_params(&json!({"width": 320, "height": 240, "fps": 0}))
        .unwrap();
    assert!(reg.check_params(&json!({"exposure": 2000})).is_err());
    assert!(reg.check_params(&json!({"colour": "red"})).is_err());
    let schema = (reg.params_schema)();
    assert!(schema["properties"]["cadence_rpm"]["description"].is_string());
}

#[test]
fn too_small_is_refused() {
    let init = init_with(Arc::new(ManualClock::new()), 1);
    assert!(
        SyntheticRider::new(
            SyntheticRiderParams {
                width: 10,
                ..Default::default()
            },
            &init
        )
        .is_err()
    );
}
