//! Smoothing (EMA, One-Euro) against hand-computed sequences, on the filters and through the
//! stage; joint angles against angles computed here from the world points.

mod pose_common;

use framebus_stages::pose::smoothing::{FilterBank, Smoother};
use pose_common::{Rgb, photo, pose_harness, run};
use serde_json::json;

fn feed(kind: Smoother, xs: &[f64], dt: f64) -> Vec<f64> {
    let mut f = FilterBank::new(kind, 1);
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            f.begin(i as f64 * dt);
            f.apply(0, x)
        })
        .collect()
}

fn close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
    }
}

#[test]
fn ema_by_hand() {
    // s = 0.7·x + 0.3·s_prev: 0; 7; 0.7·10 + 0.3·7 = 9.1; 0.7·20 + 0.3·9.1 = 16.73.
    close(
        &feed(Smoother::Ema { alpha: 0.7 }, &[0.0, 10.0, 10.0, 20.0], 0.1),
        &[0.0, 7.0, 9.1, 16.73],
    );
}

#[test]
fn one_euro_by_hand() {
    // dt 0.1 s, cutoff 1 Hz: a = 1 / (1 + 1/(2π·0.1)) = 0.385870, so 0; 3.858695; 6.228438.
    let kind = Smoother::OneEuro {
        min_cutoff: 1.0,
        beta: 0.0,
        d_cutoff: 1.0,
    };
    close(
        &feed(kind, &[0.0, 10.0, 10.0, 10.0], 0.1),
        &[
            0.0,
            3.8586954509503752,
            6.228437843582238,
            7.683768817176818,
        ],
    );
    // beta 0.1: the speed 100/s low-passed to 38.587 lifts the cutoff to 4.8587 Hz.
    let fast = Smoother::OneEuro {
        min_cutoff: 1.0,
        beta: 0.1,
        d_cutoff: 1.0,
    };
    close(
        &feed(fast, &[0.0, 10.0, 10.0, 10.0], 0.1),
        &[0.0, 7.532575181149229, 9.335909750997667, 9.783763263331686],
    );
}

/// `src` moved right by `dx` pixels (gray outside).
fn shifted(src: &Rgb, dx: usize) -> Rgb {
    let w = src.w as usize;
    let mut data = vec![90u8; src.data.len()];
    for (y, row) in data.chunks_exact_mut(w * 3).enumerate() {
        let s = &src.data[y * w * 3..(y + 1) * w * 3];
        row[dx * 3..].copy_from_slice(&s[..(w - dx) * 3]);
    }
    Rgb {
        w: src.w,
        h: src.h,
        data,
    }
}

#[test]
fn stage_ema_is_the_hand_formula_over_raw_keypoints() {
    let a = photo("basketball1.png");
    let b = shifted(&a, 12);
    let frames = [&a, &b, &b, &a];
    let mut raw = pose_harness(json!({"smoothing": "none"}));
    let mut ema = pose_harness(json!({"smoothing": "ema", "alpha": 0.7}));
    let mut s: Vec<(f64, f64)> = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let r = run(&mut raw, f);
        let e = run(&mut ema, f);
        assert!(r.valid && e.valid);
        for (j, (rk, ek)) in r.keypoints.iter().zip(&e.keypoints).enumerate() {
            if i == 0 {
                s.push((rk.x, rk.y));
            } else {
                s[j] = (0.7 * rk.x + 0.3 * s[j].0, 0.7 * rk.y + 0.3 * s[j].1);
            }
            assert!(
                (ek.x - s[j].0).abs() < 1e-6 && (ek.y - s[j].1).abs() < 1e-6,
                "frame {i} {}",
                ek.id
            );
        }
    }
}

/// The angle at `b` by atan2(|u×v|, u·v), in degrees.
fn angle(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> f64 {
    let u = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let v = [c[0] - b[0], c[1] - b[1], c[2] - b[2]];
    let cross = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let n = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    n.atan2(u[0] * v[0] + u[1] * v[1] + u[2] * v[2])
        .to_degrees()
}

#[test]
fn angles_are_3d_from_the_world_points_and_signals() {
    let mut h = pose_harness(json!({"smoothing": "none"}));
    let p = run(&mut h, &photo("basketball1.png"));
    assert!(p.valid);
    let w = |name: &str| {
        let q = p.world.iter().find(|q| q.id == name).expect(name);
        [q.x, q.y, q.z]
    };
    let checks = [
        (p.angles.left_knee, ["left_hip", "left_knee", "left_ankle"]),
        (
            p.angles.right_knee,
            ["right_hip", "right_knee", "right_ankle"],
        ),
        (
            p.angles.left_elbow,
            ["left_shoulder", "left_elbow", "left_wrist"],
        ),
        (
            p.angles.right_elbow,
            ["right_shoulder", "right_elbow", "right_wrist"],
        ),
        (
            p.angles.left_hip,
            ["left_shoulder", "left_hip", "left_knee"],
        ),
        (
            p.angles.right_hip,
            ["right_shoulder", "right_hip", "right_knee"],
        ),
        (
            p.angles.left_shoulder,
            ["left_elbow", "left_shoulder", "left_hip"],
        ),
        (
            p.angles.right_shoulder,
            ["right_elbow", "right_shoulder", "right_hip"],
        ),
    ];
    for (got, [a, b, c]) in checks {
        let want = angle(w(a), w(b), w(c));
        let got = got.expect(b);
        assert!((got - want).abs() < 1e-6, "{b}: {got} vs {want}");
    }
}

#[test]
fn keypoints_are_named_points_for_geometry_and_angles_are_signals() {
    framebus_stages::link();
    let mut h = framebus_core::harness::Harness::builder()
        .plugin("pose", "pose", json!({"smoothing": "none"}))
        .plugin(
            "geometry_manager",
            "geometry_manager",
            json!({"tools": [{"id": "knee", "type": "angle", "points": ["left_hip", "left_knee", "left_ankle"]}]}),
        )
        .build()
        .expect("pipeline");
    let img = photo("basketball1.png");
    let f = h.frame(img.w, img.h, framebus_core::frame::PixelFormat::Rgb8, |d| {
        d.copy_from_slice(&img.data)
    });
    let snap = h.process(&f);
    let p = h
        .result::<framebus_stages::Pose>("vision")
        .expect("pose")
        .clone();
    assert!(p.valid);
    let kp = |n: &str| p.keypoints.iter().find(|k| k.id == n).copied().expect(n);
    let (a, b, c) = (kp("left_hip"), kp("left_knee"), kp("left_ankle"));
    let want = angle([a.x, a.y, 0.0], [b.x, b.y, 0.0], [c.x, c.y, 0.0]);
    let got = snap["results"]["geometry"]["knee"]["value"]
        .as_f64()
        .expect("knee value");
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    let sig = snap["signals"]["left_knee_angle"].as_f64().expect("signal");
    assert!((sig - p.angles.left_knee.unwrap()).abs() < 1e-9);
    assert_eq!(
        snap["results"]["vision"]["keypoints"]
            .as_array()
            .unwrap()
            .len(),
        33
    );
}
