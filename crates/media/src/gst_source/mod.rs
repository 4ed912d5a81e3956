//! GStreamer sources (feature `gstreamer`): `gstreamer` for any pipeline ending in an appsink
//! or any URI `uridecodebin` opens, and `rtsp` for network cameras with reconnect.
//!
//! # How it works
//! Both build a pipeline from gst-launch syntax ([`player`]) whose `appsink name=sink` has
//! its caps set from the frame format: RGB for `rgb8`; the decoder's I420 or NV12 for `nv12`
//! and `gray8`, converted while each sample is copied into the pooled frame (I420 → NV12
//! interleaves the chroma; gray keeps the luma plane), so no `videoconvert` pass is needed. `t_ns` is the
//! buffer's PTS less the first PTS of the stream ([`stamp`]); frame ids count from 1.
//!
//! - `gstreamer`: a pipeline string that does not parse, has no `appsink name=sink`, or fails
//!   to start (missing file, unknown format: a file pipeline is prerolled at start) is an
//!   error when the source is built, which the runtime reports as a located config error.
//!   End of stream ends the source (`end_of_stream`); an error while playing is returned once,
//!   naming the element and its message, and the stream then ends.
//! - `rtsp`: `rtspsrc protocols=tcp latency=… ! decodebin ! videoconvert ! appsink` with a
//!   dropping queue of two (latest frames win, like a camera). A failed, ended or stalled
//!   stream is closed and reopened with the v4l2 source's backoff
//!   ([`crate::v4l2::backoff_ns`]); every failed attempt is returned as an error, which the
//!   runtime reports as an alert, and frames resume (ids and times keep increasing) when the
//!   server is back.
//!
//! # Parameters
//! See [`GstreamerParams`] and [`RtspParams`].

mod pipeline;
mod player;
mod rtsp;
mod stamp;

pub use pipeline::{GstreamerParams, GstreamerSource};
pub use rtsp::{RtspParams, RtspSource};

/// Referenced by [`crate::link`] so the linker keeps this module's registrations.
pub(crate) fn keep() {
    pipeline::keep();
    rtsp::keep();
}
