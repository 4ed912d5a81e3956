//! Encoded video out: pixel conversion to I420, H.264 encoding with OpenH264 (built from its
//! bundled C source, no system library), faststart MP4 writing (the `mp4` crate, samples streamed to the file), and reading the
//! facts of an MP4 back.
//!
//! # Layout
//! - [`yuv`]: [`I420`], every frame format into reused 4:2:0 planes.
//! - [`h264`]: [`H264Encoder`], frames to access units with a bounded keyframe interval.
//! - [`mp4`]: [`Mp4Writer`], access units into `NAME.mp4` (written as `.part`, renamed).
//! - [`probe`]: [`probe()`], frames, duration and layout of an MP4 from its boxes.

pub mod h264;
pub mod mp4;
pub mod probe;
pub mod yuv;

pub use h264::{EncodedFrame, EncoderSettings, H264Encoder};
pub use mp4::{Mp4Summary, Mp4Writer};
pub use probe::{Mp4Info, probe};
pub use yuv::I420;
