//! framebus-media: where frames come from and how they leave as pictures. It implements the
//! runtime's [`Source`](framebus_core::source::Source) trait for a procedurally drawn BikeFit
//! scene with ground truth, for folders of images, and for webcam frames pushed by browsers
//! (seed 003), and it encodes frames to JPEG for the video preview. Each source registers
//! itself with one `register_source!` line, so a binary that links this crate can open any
//! of them from a config by kind.
//!
//! # Layout
//! - [`synthetic`]: `synthetic_rider`, a cyclist with six reflective markers, deterministic
//!   per seed, with camera controls (exposure, gain, auto-exposure) and the ground truth
//!   ([`rider_pose`]) tests compare against.
//! - [`synthetic_table`]: `synthetic_table`, a top-down camera over a pool table playing
//!   shots, with per-frame ground truth ([`SyntheticTable::truth`]) for the billiards stages.
//! - [`image_sequence`]: `image_sequence`, PNG/JPEG files of a directory in name order.
//! - [`browser`]: `browser`, frames pushed as JPEG/PNG into a latest-wins slot.
//! - [`v4l2`]: `v4l2`, Linux cameras (YUYV/MJPEG) with controls and reconnect with backoff.
//! - [`video_file`]: `video_file`, H.264 MP4 files decoded in-process (OpenH264 + `mp4`;
//!   libavcodec with the feature `ffmpeg`).
//! - [`gst_source`] (feature `gstreamer`): `gstreamer` (any pipeline or URI) and `rtsp`
//!   (reconnect with backoff), through the system's GStreamer.
//! - [`signal`]: sample sources (seed 001): `signal_generator`, `wav_file`,
//!   `raw_file`.
//! - [`jpeg`]: [`JpegEncoder`], a reusable encoder of any frame format with downscaling.
//! - `yuv`: copying decoded YUV 4:2:0 planes (I420, NV12) into NV12 / gray8 frames.
//! - [`decode`]: decoding JPEG/PNG bytes into RGB buffers (shared by the sources above).
//! - [`record`]: [`Recorder`], recording sessions and clips (an observer of the runtime).
//! - [`encode`]: H.264 encoding (OpenH264), faststart MP4 writing (the `mp4` crate), MP4 probing.
//! - [`error`]: [`MediaError`], what decoding and encoding can fail with.
//!
//! Registrations live in `inventory` statics that the linker drops when nothing in the
//! binary refers to this crate. Binaries call [`link`] once (e.g. at the top of `main`).

pub mod browser;
pub mod decode;
pub mod encode;
pub mod error;
#[cfg(feature = "gstreamer")]
pub mod gst_source;
pub mod image_sequence;
pub mod jpeg;
pub mod record;
pub mod signal;
pub mod synthetic;
pub mod synthetic_table;
pub mod v4l2;
pub mod video_file;
mod yuv;

pub use browser::{BrowserIngest, BrowserParams, BrowserSource};
pub use decode::DecodeFormat;
pub use error::{MediaError, Result};
#[cfg(feature = "gstreamer")]
pub use gst_source::{GstreamerParams, GstreamerSource, RtspParams, RtspSource};
pub use image_sequence::{ImageSequence, ImageSequenceParams};
pub use jpeg::JpegEncoder;
pub use record::{Recorder, RecorderSettings, RecorderStatus};
pub use synthetic::{
    MARKER_NAMES, RiderControls, RiderPose, SyntheticRider, SyntheticRiderParams, rider_pose,
};
pub use synthetic_table::{SyntheticTable, SyntheticTableParams};
pub use v4l2::{V4l2Params, V4l2Source};
pub use video_file::{VideoDecoder, VideoFile, VideoFileParams};

/// Keeps this crate's source registrations in the final binary. It does nothing at run time;
/// it refers to every module that registers a source so the linker keeps them all.
#[inline(never)]
pub fn link() {
    std::hint::black_box([
        synthetic::keep as fn(),
        synthetic_table::keep as fn(),
        image_sequence::keep as fn(),
        browser::keep as fn(),
        video_file::keep as fn(),
        v4l2::keep as fn(),
        signal::generator::keep as fn(),
        signal::wav::keep as fn(),
        signal::raw::keep as fn(),
        signal::serial::keep as fn(),
    ]);
    #[cfg(feature = "gstreamer")]
    std::hint::black_box(gst_source::keep as fn());
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::sync::Arc;

    use framebus_core::clock::Clock;
    use framebus_core::source::{SourceInit, StopFlag};

    /// A source init for tests.
    pub(crate) fn init_with(clock: Arc<dyn Clock>, pool_frames: usize) -> SourceInit {
        SourceInit {
            id: Arc::from("camera_0"),
            index: 0,
            clock,
            stop: StopFlag::new(),
            pool_frames,
            base_dir: std::env::temp_dir(),
            shared_frames: false,
        }
    }
}
