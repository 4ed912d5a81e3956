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

/// Rust allocations (and reallocations) in the worst of five runs of the landmark model
/// `file` (in the models folder) with `shape` as input, after one warm-up run: what the
/// `ort` wrapper costs on its own. `global` is the test binary's counting allocator.
pub fn model_run_allocs(
    global: &stats_alloc::StatsAlloc<std::alloc::System>,
    file: &str,
    shape: [usize; 4],
    want: &[usize],
) -> usize {
    let mut m = framebus_stages::pose::runtime::Model::load(
        &framebus_stages::pose::runtime::models_dir(None).join(file),
        1,
        shape,
        want,
    )
    .expect("model");
    m.run().unwrap();
    let mut per_run = 0;
    for _ in 0..5 {
        let r = stats_alloc::Region::new(global);
        m.run().unwrap();
        let s = r.change();
        per_run = per_run.max(s.allocations + s.reallocations);
    }
    per_run
}

/// Allocations (and reallocations) in the worst of ten `process` calls on frames made by
/// `frame`, after five warm-up frames. `global` is the test binary's counting allocator.
pub fn worst_frame_allocs(
    global: &stats_alloc::StatsAlloc<std::alloc::System>,
    h: &mut Harness,
    mut frame: impl FnMut(&mut Harness) -> Frame,
) -> usize {
    for _ in 0..5 {
        let f = frame(h);
        h.process_raw(&f);
    }
    let mut worst = 0;
    for _ in 0..10 {
        let f = frame(h);
        let r = stats_alloc::Region::new(global);
        h.process_raw(&f);
        let s = r.change();
        worst = worst.max(s.allocations + s.reallocations);
    }
    worst
}
