//! Writes `synthetic_rider` frames (640×480, RGB, 30 fps, seed 1) as raw rgb24 to stdout, for
//! `scripts/make_sample_video.sh` to encode: `cargo run -p framebus-media --example
//! rider_frames -- [frames]`.

use std::io::Write;
use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_media::{SyntheticRider, SyntheticRiderParams};

fn main() {
    let frames: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let params = SyntheticRiderParams {
        fps: 0.0,
        ..Default::default()
    };
    let init = SourceInit {
        id: Arc::from("camera_0"),
        index: 0,
        clock: Arc::new(ManualClock::new()),
        stop: StopFlag::new(),
        pool_frames: 2,
        base_dir: ".".into(),
        shared_frames: false,
    };
    let mut source = SyntheticRider::new(params, &init).expect("open");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..frames {
        let f = source.next_frame().expect("frame").expect("a frame");
        if out.write_all(&f.data).is_err() {
            return; // the reader went away
        }
    }
    let _ = out.flush();
}
