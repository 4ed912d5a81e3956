//! Our `hands` stage (palm detector alone, `palm_detection.onnx` + `hand_landmark_full.onnx`)
//! against MediaPipe 0.10.14 itself (`solutions.hands`, full models, static images): the
//! keypoints `bench/hands_mediapipe.sh` recorded in `tests/fixtures/hands_mediapipe.json`.
//! The fixtures are crops of the people photos around the players' hands (`NAME@X0,Y0,N`:
//! the N×N crop at X0, Y0, pixels copied), where MediaPipe's palm detector finds a hand, and
//! the whole photos and the empty image, where it finds none (hands of 40–80 px).
//! Goal, as for the pose: median error ≤ 1.5 px and every point within 5 px.

mod pose_common;

use framebus_core::frame::{Frame, PixelFormat};
use framebus_stages::Hands;
use pose_common::{Rgb, fixtures, photo};
use serde_json::{Value, json};

/// The image a fixture key names.
fn image(key: &str) -> Rgb {
    let Some((name, crop)) = key.split_once('@') else {
        return photo(key);
    };
    let full = photo(name);
    let v: Vec<usize> = crop.split(',').map(|s| s.parse().expect("crop")).collect();
    let (x0, y0, n) = (v[0], v[1], v[2]);
    let mut data = Vec::with_capacity(n * n * 3);
    for y in y0..y0 + n {
        let row = (y * full.w as usize + x0) * 3;
        data.extend_from_slice(&full.data[row..row + n * 3]);
    }
    Rgb {
        w: n as u32,
        h: n as u32,
        data,
    }
}

#[test]
fn hand_keypoints_match_mediapipe_on_the_fixture_crops() {
    let text = std::fs::read_to_string(fixtures().join("hands_mediapipe.json")).expect("fixture");
    let mp: Value = serde_json::from_str(&text).expect("json");
    framebus_stages::link();
    let mut h = framebus_core::harness::Harness::builder()
        .plugin(
            "hands",
            "hands",
            json!({"model": "full", "palm": "full", "max_hands": 2}),
        )
        .build()
        .expect("hands stage builds");
    let images = mp["images"].as_object().expect("images");
    let mut compared = 0;
    let mut medians = Vec::new();
    let mut worst_all: f64 = 0.0;
    for (key, want) in images {
        h.command("hands", "reset", json!({})).expect("reset");
        let img = image(key);
        let f: Frame = h.frame(img.w, img.h, PixelFormat::Rgb8, |d| {
            d.copy_from_slice(&img.data)
        });
        h.process(&f);
        let got = h.result::<Hands>("hands").expect("hands").clone();
        let want = want["hands"].as_array().expect("hands");
        assert_eq!(got.hands.len(), want.len(), "{key}: hands found");
        for w in want {
            let wk = w["keypoints"].as_array().unwrap();
            let wp = |i: usize| (wk[i]["x"].as_f64().unwrap(), wk[i]["y"].as_f64().unwrap());
            // Our hand whose wrist is nearest MediaPipe's.
            let g = got
                .hands
                .iter()
                .min_by(|a, b| {
                    let d = |h: &&framebus_stages::Hand| {
                        (h.keypoints[0].x - wp(0).0).hypot(h.keypoints[0].y - wp(0).1)
                    };
                    d(a).total_cmp(&d(b))
                })
                .expect("a hand");
            assert_eq!(
                g.handedness,
                w["handedness"].as_str().unwrap().to_lowercase(),
                "{key}: handedness"
            );
            let mut errs: Vec<f64> = g
                .keypoints
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    assert_eq!(k.id, wk[i]["id"].as_str().unwrap());
                    (k.x - wp(i).0).hypot(k.y - wp(i).1)
                })
                .collect();
            errs.sort_by(f64::total_cmp);
            let (median, worst) = (errs[errs.len() / 2], errs[errs.len() - 1]);
            eprintln!("{key}: median {median:.2} px, worst {worst:.2} px");
            medians.push(median);
            worst_all = worst_all.max(worst);
            assert!(median <= 1.5, "{key}: median error {median:.2} px");
            assert!(worst <= 5.0, "{key}: a keypoint is {worst:.2} px off");
            compared += 1;
        }
    }
    eprintln!("{compared} hands, medians {medians:.2?} px, worst point {worst_all:.2} px");
    assert!(compared >= 5, "hands compared: {compared}");
}
