//! `camera.png` in frames of other shapes (black bars, as a webcam frame or ffmpeg's letterbox
//! shows a photo): a fresh detector run finds the person at every shape.
//!
//! Why this needs the detector's square crops (`detector_tiles`): the BlazePose detector's box
//! is the face, and the face on `camera.png` is a profile half hidden by the camera. In the
//! 224×224 letterbox of the 640×480 frame it is ~30 px and scores 0.13 (0.62 at 512×512 and
//! 0.63 in the frame's centre square). MediaPipe 0.10.14 itself finds nobody on 640×512 and
//! 512×640 and finds the person on 768×512, 1024×512 and 512×768 (`pose_mediapipe_padded.json`,
//! the photo centred on black, pixels copied): the score swings with where the face falls on
//! the anchor grid. Our letterbox pass alone gives exactly MediaPipe's outcome on every shape,
//! and its keypoints where MediaPipe has some; with the square crops the person is found on all.

mod pose_common;

use pose_common::{Rgb, fixtures, photo, pose_harness, run};
use serde_json::{Value, json};

/// `img` centred on a black `w`×`h` frame (pixels copied); the offset.
fn pad(img: &Rgb, w: u32, h: u32) -> (Rgb, (u32, u32)) {
    let (ox, oy) = ((w - img.w) / 2, (h - img.h) / 2);
    let mut data = vec![0u8; (w * h * 3) as usize];
    for y in 0..img.h {
        let src = (y * img.w * 3) as usize;
        let dst = (((y + oy) * w + ox) * 3) as usize;
        data[dst..dst + (img.w * 3) as usize]
            .copy_from_slice(&img.data[src..src + (img.w * 3) as usize]);
    }
    (Rgb { w, h, data }, (ox, oy))
}

/// `img` scaled to fit `w`×`h` (aspect kept, bilinear), centred on black.
fn fit(img: &Rgb, w: u32, h: u32) -> Rgb {
    let src = image::RgbImage::from_raw(img.w, img.h, img.data.clone()).expect("rgb");
    let s = (f64::from(w) / f64::from(img.w)).min(f64::from(h) / f64::from(img.h));
    let (nw, nh) = (
        (f64::from(img.w) * s).round() as u32,
        (f64::from(img.h) * s).round() as u32,
    );
    let small = image::imageops::resize(&src, nw, nh, image::imageops::FilterType::Triangle);
    let mut out = image::RgbImage::new(w, h);
    let (ox, oy) = ((w - nw) / 2, (h - nh) / 2);
    image::imageops::overlay(&mut out, &small, i64::from(ox), i64::from(oy));
    Rgb {
        w,
        h,
        data: out.into_raw(),
    }
}

/// Median error and the worst error of a keypoint MediaPipe calls visible, in px.
fn errors(got: &framebus_stages::Pose, want: &Value, (ox, oy): (f64, f64)) -> (f64, f64) {
    let mut errs = Vec::new();
    let mut worst_visible: f64 = 0.0;
    for (g, k) in got.keypoints.iter().zip(want.as_array().unwrap()) {
        assert_eq!(g.id, k["id"].as_str().unwrap());
        let e = (g.x - k["x"].as_f64().unwrap() - ox).hypot(g.y - k["y"].as_f64().unwrap() - oy);
        errs.push(e);
        if k["visibility"].as_f64().unwrap() > 0.5 {
            worst_visible = worst_visible.max(e);
        }
    }
    errs.sort_by(f64::total_cmp);
    (errs[errs.len() / 2], worst_visible)
}

#[test]
fn camera_photo_is_found_at_every_frame_shape() {
    let text =
        std::fs::read_to_string(fixtures().join("pose_mediapipe_padded.json")).expect("fixture");
    let mp: Value = serde_json::from_str(&text).expect("json");
    let images = mp["images"].as_object().expect("images");
    assert_eq!(images.len(), 5);
    let cam = photo("camera.png");
    let mut tiles = pose_harness(json!({"model": "full", "smoothing": "none"}));
    let mut plain = pose_harness(json!({"model": "full", "smoothing": "none",
        "detector_tiles": false}));
    let mut missed_by_mediapipe = 0;
    for (key, want) in images {
        let (w, h) = key.split_once("@pad=").unwrap().1.split_once(',').unwrap();
        let (frame, off) = pad(&cam, w.parse().unwrap(), h.parse().unwrap());
        let off = (f64::from(off.0), f64::from(off.1));
        plain.command("pose", "reset", json!({})).expect("reset");
        let letterbox_only = run(&mut plain, &frame);
        let mp_found = want["valid"].as_bool().unwrap();
        assert_eq!(
            letterbox_only.valid, mp_found,
            "{key}: same outcome as MediaPipe"
        );
        tiles.command("pose", "reset", json!({})).expect("reset");
        let got = run(&mut tiles, &frame);
        assert!(got.detected && got.valid, "{key}: person found");
        if mp_found {
            // Found by the letterbox pass: the crops never ran, the keypoints are MediaPipe's.
            assert_eq!(got.keypoints, letterbox_only.keypoints, "{key}");
            let (median, worst) = errors(&got, &want["keypoints"], (0.0, 0.0));
            eprintln!(
                "{key}: found by MediaPipe too, median {median:.2} px, worst visible {worst:.2} px"
            );
            assert!(median <= 1.5, "{key}: median error {median:.2} px");
            assert!(worst <= 5.0, "{key}: a visible keypoint {worst:.2} px off");
        } else {
            missed_by_mediapipe += 1;
            // No MediaPipe keypoints on this frame: against MediaPipe's on the photo alone.
            let photo_mp: Value = serde_json::from_str(
                &std::fs::read_to_string(fixtures().join("pose_mediapipe.json")).unwrap(),
            )
            .unwrap();
            let (median, worst) = errors(&got, &photo_mp["images"]["camera.png"]["keypoints"], off);
            eprintln!(
                "{key}: MediaPipe finds nobody, we do (square crop): {median:.2} px median, \
                 worst visible {worst:.2} px from MediaPipe's on the photo alone"
            );
            assert!(median <= 25.0, "{key}: median {median:.2} px");
        }
    }
    assert_eq!(missed_by_mediapipe, 2, "640×512 and 512×640");
    // The case: letterboxed (scaled) into 640×480 and other shapes.
    for (w, h) in [(640, 480), (480, 640), (800, 512), (512, 800), (1280, 720)] {
        tiles.command("pose", "reset", json!({})).expect("reset");
        let got = run(&mut tiles, &fit(&cam, w, h));
        eprintln!("camera.png fitted into {w}×{h}: found {}", got.valid);
        assert!(got.detected && got.valid, "{w}×{h}: person found");
    }
}
