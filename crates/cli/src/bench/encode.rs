//! Encode benchmark: the recorder's H.264 encoder (OpenH264, one thread) on 1280×720 RGB
//! frames of the synthetic rider, conversion to I420 included. Reported: frames per second,
//! and the share of one core that encoding a 30 fps stream takes (30 / frames per second),
//! beside real time (30 fps) as the baseline.

use std::sync::Arc;
use std::time::Instant;

use framebus_core::clock::ManualClock;
use framebus_core::source::{Source, SourceInit};
use framebus_media::encode::{EncoderSettings, H264Encoder};
use framebus_media::{SyntheticRider, SyntheticRiderParams};

use super::{Row, Scale};

pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let frames = scale.pick(90, 450);
    let params = SyntheticRiderParams {
        width: 1280,
        height: 720,
        fps: 30.0,
        ..Default::default()
    };
    let init = SourceInit {
        pool_frames: 32,
        ..SourceInit::standalone("camera_0", Arc::new(ManualClock::new()))
    };
    let mut source = SyntheticRider::new(params, &init)?;
    // Render first (30 distinct frames, all held: the pool has room for them), so only
    // encoding is timed.
    let mut input = Vec::with_capacity(frames);
    while input.len() < frames.min(30) {
        match source.next_frame()? {
            Some(f) => input.push(f),
            None => break,
        }
    }
    let mut enc = H264Encoder::new(EncoderSettings::default());
    let mut bytes = 0usize;
    let t0 = Instant::now();
    for i in 0..frames {
        let f = &input[i % input.len()];
        let out = enc.encode(f, i as u64 * 33_333_333)?;
        bytes += out.data.len();
    }
    let secs = t0.elapsed().as_secs_f64();
    let fps = frames as f64 / secs;
    Ok(vec![
        Row::new("encode", "1280×720 H.264 encode (1 thread)", fps, "fps").vs("real time", 30.0),
        Row::new(
            "encode",
            "share of one core for 30 fps",
            100.0 * 30.0 / fps,
            "%",
        ),
        Row::new(
            "encode",
            "bit rate at 30 fps",
            bytes as f64 * 8.0 / (frames as f64 / 30.0) / 1e6,
            "Mbit/s",
        ),
    ])
}
