//! Renders one `synthetic_rider` frame to a PNG: `cargo run -p framebus-media --example
//! render_rider -- out.png [frame_id] [exposure] [gain]`.

use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_media::{SyntheticRider, SyntheticRiderParams};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().map_or("rider.png", String::as_str);
    let arg = |i: usize, d: f64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let frame_id = arg(1, 1.0) as u64;
    let params = SyntheticRiderParams {
        exposure: arg(2, 157.0),
        gain: arg(3, 0.0),
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
    let mut frame = None;
    for _ in 0..frame_id {
        frame = source.next_frame().expect("frame");
    }
    let f = frame.expect("a frame");
    image::save_buffer(
        out,
        &f.data,
        f.width,
        f.height,
        image::ExtendedColorType::Rgb8,
    )
    .expect("save");
    println!(
        "wrote {out}: frame {} ({}x{})",
        f.frame_id, f.width, f.height
    );
}
