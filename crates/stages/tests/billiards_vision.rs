//! The billiards vision stages against the synthetic table's ground truth: detection recall,
//! precision, centre error and identity; cue aim (tracking and game events:
//! `billiards_tracking.rs`).
//! Figures are printed (run with `--nocapture`); counts and errors are asserted.

use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::harness::Harness;
use framebus_core::source::{Source, SourceInit};
use framebus_media::synthetic_table::{ShotSpec, SyntheticTable, SyntheticTableParams};
use framebus_stages::billiards::ball_detection::{BallDetection, DetectedBalls};
use framebus_stages::billiards::ball_tracking::BallTracking;
use framebus_stages::billiards::cue_detection::{CueDetection, CueDetectionStage};
use framebus_stages::billiards::game_state::GameStateStage;
use framebus_stages::billiards::table_detection::{TableDetection, TableGeometry};
use serde_json::json;

fn open(params: SyntheticTableParams) -> SyntheticTable {
    let init = SourceInit::standalone("camera_0", Arc::new(ManualClock::new()));
    SyntheticTable::new(params, &init).unwrap()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn table_detection_finds_the_playing_area() {
    let mut cam = open(SyntheticTableParams::default());
    let mut h = Harness::builder()
        .stage::<TableDetection>("table_detection", json!({}))
        .build()
        .unwrap();
    let f = cam.next_frame().unwrap().unwrap();
    h.process(&f);
    let t = h.result::<TableGeometry>("table_detection").unwrap();
    assert!(t.found && t.source == "detected");
    let want = cam.view().corners_px();
    let err = t
        .corners
        .iter()
        .zip(want)
        .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
        .fold(0.0, f64::max);
    println!("table corners: max error {err:.3} px");
    assert!(err < 0.5, "{:?} vs {want:?}", t.corners);
}

#[test]
fn ball_detection_matches_ground_truth() {
    let (w, hgt) = (1280, 720);
    let mut cam = open(SyntheticTableParams {
        width: w,
        height: hgt,
        fps: 0.0,
        seed: 7,
        shots: vec![
            ShotSpec {
                v0: 2.5,
                target: Some(1),
                ..Default::default()
            },
            ShotSpec::default(),
        ],
        ..Default::default()
    });
    let mut h = Harness::builder()
        .stage::<TableDetection>("table_detection", json!({}))
        .stage::<BallDetection>("ball_detection", json!({}))
        .build()
        .unwrap();
    let (mut tp, mut fp, mut fneg, mut right_id) = (0usize, 0usize, 0usize, 0usize);
    let mut errs = Vec::new();
    let frames = 360;
    for _ in 0..frames {
        let f = cam.next_frame().unwrap().unwrap();
        h.process(&f);
        let truth = *cam.truth();
        let det = h.result::<DetectedBalls>("ball_detection").unwrap();
        let r = truth.ball_radius_px;
        let mut used = [false; 16];
        for d in &det.balls {
            let best = truth
                .balls
                .iter()
                .filter(|b| !b.pocketed)
                .map(|b| (b.number, (b.px[0] - d.x).hypot(b.px[1] - d.y)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((n, e)) if e < 0.5 * r && !used[n as usize] => {
                    used[n as usize] = true;
                    tp += 1;
                    errs.push(e);
                    if d.number == n {
                        right_id += 1;
                    }
                }
                _ => fp += 1,
            }
        }
        fneg += truth
            .balls
            .iter()
            .filter(|b| !b.pocketed && !used[b.number as usize])
            .count();
    }
    let recall = tp as f64 / (tp + fneg) as f64;
    let precision = tp as f64 / (tp + fp) as f64;
    let mean = errs.iter().sum::<f64>() / errs.len() as f64;
    let p95 = percentile(&mut errs, 0.95);
    let ident = right_id as f64 / tp as f64;
    println!(
        "ball detection over {frames} frames {w}x{hgt}: recall {:.4}% precision {:.4}% centre error mean {mean:.3} px p95 {p95:.3} px identity {:.3}% ({tp} matched, {fp} false, {fneg} missed)",
        100.0 * recall,
        100.0 * precision,
        100.0 * ident
    );
    assert!(recall >= 0.995 && precision >= 0.995);
    assert!(mean <= 0.3 && p95 <= 0.75);
    assert!(ident >= 0.99);
}

fn pipeline() -> Harness {
    Harness::builder()
        .stage::<TableDetection>("table_detection", json!({}))
        .stage::<BallDetection>("ball_detection", json!({}))
        .stage::<CueDetectionStage>("cue_detection", json!({}))
        .stage::<BallTracking>("ball_tracking", json!({}))
        .stage::<GameStateStage>("game_state", json!({}))
        .build()
        .unwrap()
}

#[test]
fn cue_aim_matches_ground_truth() {
    let mut cam = open(SyntheticTableParams {
        fps: 60.0,
        seed: 3,
        aim_s: 1.5,
        ..Default::default()
    });
    let mut h = pipeline();
    let (mut errs, mut shown, mut found, mut false_cue) = (Vec::new(), 0, 0, 0);
    for _ in 0..420 {
        let f = cam.next_frame().unwrap().unwrap();
        h.process(&f);
        let truth = cam.truth().cue;
        let det = *h.result::<CueDetection>("cue_detection").unwrap();
        if truth.visible {
            shown += 1;
        }
        match (truth.visible, det.visible) {
            (true, true) => {
                found += 1;
                let d = (det.angle_deg - truth.angle_deg + 540.0).rem_euclid(360.0) - 180.0;
                errs.push(d.abs());
                let tip = (det.tip_px[0] - truth.tip_px[0]).hypot(det.tip_px[1] - truth.tip_px[1]);
                assert!(tip < 6.0, "tip {:?} vs {:?}", det.tip_px, truth.tip_px);
            }
            (false, true) => false_cue += 1,
            _ => {}
        }
    }
    let median = percentile(&mut errs, 0.5);
    let p95 = percentile(&mut errs, 0.95);
    println!(
        "cue: found in {found} of {shown} frames with the cue drawn, {false_cue} false; aim error median {median:.3}° p95 {p95:.3}°"
    );
    assert!(found as f64 >= 0.8 * shown as f64);
    assert_eq!(false_cue, 0);
    assert!(median <= 0.5);
}

// Tracking identities and game-event timing over scripted shots: `billiards_tracking.rs`
// (the same scene, scored with `TrackingScore`, with allocations counted in the same run).
