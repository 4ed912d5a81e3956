//! Helpers shared by the pose tests: fixture photos and a harness with the `pose` stage.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use framebus_core::frame::{Frame, PixelFormat};
use framebus_core::harness::Harness;
use framebus_stages::Pose;
use serde_json::Value;

/// An RGB image in memory.
pub struct Rgb {
    pub w: u32,
    pub h: u32,
    pub data: Vec<u8>,
}

/// The fixture folder.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A photo from `tests/fixtures/people/` (or `tests/fixtures/`) as RGB.
pub fn photo(name: &str) -> Rgb {
    let mut path = fixtures().join("people").join(name);
    if !path.is_file() {
        path = fixtures().join(name);
    }
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .to_rgb8();
    Rgb {
        w: img.width(),
        h: img.height(),
        data: img.into_raw(),
    }
}

/// A harness running one `pose` stage with `params`.
pub fn pose_harness(params: Value) -> Harness {
    framebus_stages::link();
    Harness::builder()
        .plugin("pose", "pose", params)
        .build()
        .expect("pose stage builds")
}

/// Processes `img` as a frame; the pose result.
pub fn run(h: &mut Harness, img: &Rgb) -> Pose {
    let f: Frame = h.frame(img.w, img.h, PixelFormat::Rgb8, |d| {
        d.copy_from_slice(&img.data)
    });
    h.process(&f);
    h.result::<Pose>("vision").expect("pose result").clone()
}
