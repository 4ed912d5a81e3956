//! The billiards vision stages against the synthetic table's ground truth: detection recall,
//! precision, centre error and identity; cue aim; tracking identity switches; game events.
//! Figures are printed (run with `--nocapture`); counts and errors are asserted.

use std::sync::Arc;

use framebus_billiards::TrackedBalls;
use framebus_core::clock::ManualClock;
use framebus_core::harness::Harness;
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_media::synthetic_table::EventKind;
use framebus_media::synthetic_table::{ShotSpec, SyntheticTable, SyntheticTableParams};
use framebus_stages::billiards::ball_detection::{BallDetection, DetectedBalls};
use framebus_stages::billiards::ball_tracking::BallTracking;
use framebus_stages::billiards::cue_detection::{CueDetection, CueDetectionStage};
use framebus_stages::billiards::game_state::{GameState, GameStateStage};
use framebus_stages::billiards::table_detection::{TableDetection, TableGeometry};
use serde_json::json;

fn open(params: SyntheticTableParams) -> SyntheticTable {
    let init = SourceInit {
        id: Arc::from("camera_0"),
        index: 0,
        clock: Arc::new(ManualClock::new()),
        stop: StopFlag::new(),
        pool_frames: 4,
        base_dir: std::env::temp_dir(),
        shared_frames: false,
    };
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

/// Scripted random shots at 60 fps: identity switches against the truth (a truth ball whose
/// tracked id changes), and event timing against the truth's events.
#[test]
fn tracking_keeps_identities_and_events_follow_the_truth() {
    let fps = 60.0;
    let shots_wanted = 6;
    let mut cam = open(SyntheticTableParams {
        width: 960,
        height: 540,
        fps,
        seed: 11,
        aim_s: 0.4,
        pause_s: 0.3,
        // Random shots at random object balls, from the rack.
        ..Default::default()
    });
    let mut h = pipeline();
    let r = 0.028575;
    let mut last_id: [Option<String>; 16] = Default::default();
    let (mut switches, mut id_errors, mut checks) = (0, 0, 0);
    let mut detected: Vec<(String, u64, String)> = Vec::new();
    let mut frames = 0u64;
    while cam.truth().shots < shots_wanted + 1 && frames < 60 * 90 {
        let f = cam.next_frame().unwrap().unwrap();
        frames += 1;
        h.process(&f);
        let truth = *cam.truth();
        let tracked = h.result::<TrackedBalls>("ball_tracking").unwrap().clone();
        for b in truth.balls.iter().filter(|b| !b.pocketed) {
            let near = tracked
                .balls
                .iter()
                .filter(|t| !t.pocketed)
                .map(|t| (t, (t.x - b.m[0]).hypot(t.y - b.m[1])))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|(_, d)| *d < r);
            if let Some((t, _)) = near {
                checks += 1;
                let want = if b.number == 0 {
                    "cue".to_string()
                } else {
                    b.number.to_string()
                };
                if t.id != want {
                    id_errors += 1;
                }
                if let Some(prev) = &last_id[b.number as usize]
                    && *prev != t.id
                {
                    switches += 1;
                }
                last_id[b.number as usize] = Some(t.id.clone());
            }
        }
        let gs = h.result::<GameState>("game_state").unwrap();
        for e in gs.events.iter().filter(|e| e.kind != "state_updated") {
            detected.push((e.kind.to_string(), e.frame_id, e.balls[0].to_string()));
        }
    }
    let t_of = |fid: u64| (fid - 1) as f64 / fps;
    // The first frame whose exposure (half the frame period, centred) reaches time `t`.
    let first_frame = |t: f64| ((t - 0.25 / fps) * fps).ceil().max(0.0) as u64 + 1;
    let mut worst = [0.0f64; 3];
    let mut counts = [0usize; 3];
    let mut missing = Vec::new();
    for e in cam.events().iter() {
        // Tolerances: frames after the first frame that sees the event; at rest: seconds.
        let (kind, tol, k) = match e.kind {
            EventKind::ShotStarted => ("shot_started", 1.0, 0),
            EventKind::Pocketed => ("pocketed", 2.0, 1),
            EventKind::BallsAtRest => ("balls_at_rest", 0.2, 2),
            _ => continue,
        };
        if e.t > t_of(frames) - 0.25 {
            continue;
        }
        let ball = if e.a == 0 {
            "cue".to_string()
        } else {
            e.a.to_string()
        };
        let best = detected
            .iter()
            .filter(|d| d.0 == kind && (kind != "pocketed" || d.2 == ball))
            .map(|d| {
                if k == 2 {
                    (t_of(d.1) - e.t).abs()
                } else {
                    (d.1 as f64 - first_frame(e.t) as f64).abs()
                }
            })
            .fold(f64::MAX, f64::min);
        counts[k] += 1;
        if best <= tol {
            worst[k] = worst[k].max(best);
        } else {
            missing.push(format!(
                "{kind} {ball} at {:.3}s (nearest {best:.3}s off)",
                e.t
            ));
        }
    }
    println!(
        "tracking over {} shots, {frames} frames at {fps} fps 960x540: {switches} identity switches, {id_errors} id errors in {checks} ball-frames; shot_started {} worst {} frames, pocketed {} worst {} frames, balls_at_rest {} worst {:.1} ms; missed {missing:?}",
        cam.truth().shots - 1,
        counts[0],
        worst[0],
        counts[1],
        worst[1],
        counts[2],
        worst[2] * 1e3
    );
    assert_eq!(switches, 0);
    assert!(missing.is_empty(), "{missing:?}");
    assert!(counts[0] >= 6 && counts[2] >= 6, "{counts:?}");
}
