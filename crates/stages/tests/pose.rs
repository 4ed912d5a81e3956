//! The `pose` stage on real photos with the real models and ONNX Runtime.

mod pose_common;

use pose_common::{Rgb, photo, pose_harness, run};
use serde_json::json;

#[test]
fn person_found_on_photos_of_people_and_not_on_an_empty_image() {
    let mut h = pose_harness(json!({"smoothing": "none"}));
    for name in ["astronaut.png", "basketball1.png", "camera.png"] {
        h.command("pose", "reset", json!({})).expect("reset");
        let p = run(&mut h, &photo(name));
        assert!(p.valid, "{name}: no person (score {})", p.score);
        assert_eq!(p.keypoints.len(), 33);
        assert_eq!(p.world.len(), 33);
        assert!(p.detected, "{name}: the detector ran");
        let nose = &p.keypoints[0];
        eprintln!(
            "{name}: score {:.3} nose {:.1},{:.1} hips {:.1},{:.1}",
            p.score, nose.x, nose.y, p.keypoints[23].x, p.keypoints[23].y
        );
    }
    // A flat gray frame, then a smooth gradient: nobody.
    h.command("pose", "reset", json!({})).expect("reset");
    let (w, hh) = (320u32, 240u32);
    let gray = Rgb {
        w,
        h: hh,
        data: vec![128; (w * hh * 3) as usize],
    };
    let p = run(&mut h, &gray);
    assert!(!p.valid && p.keypoints.is_empty() && p.world.is_empty());
    let grad = Rgb {
        w,
        h: hh,
        data: (0..w * hh)
            .flat_map(|i| {
                let v = ((i % w) * 255 / w) as u8;
                [v, v / 2, 255 - v]
            })
            .collect(),
    };
    let p = run(&mut h, &grad);
    assert!(!p.valid && p.keypoints.is_empty());
}
