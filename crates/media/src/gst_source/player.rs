//! A running GStreamer pipeline that ends in an `appsink` named `sink`, and the copy of each
//! sample it gives into a pooled frame (RGB, or NV12 / gray from the decoder's YUV). Shared by the `gstreamer` and `rtsp` sources.

use std::sync::OnceLock;

use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::StopFlag;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use crate::yuv::{Planes, copy_rows, write_yuv};

/// Initialises GStreamer once per process; the error (no GStreamer, broken registry) is kept
/// and returned to every caller.
pub(crate) fn init() -> Result<(), String> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| gst::init().map_err(|e| format!("cannot initialise GStreamer: {e}")))
        .clone()
}

/// How the appsink's queue behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SinkMode {
    /// Pace by the pipeline clock (`sync`); `None` keeps what the pipeline description says.
    pub(crate) sync: Option<bool>,
    /// Drop the oldest queued sample when the queue is full (live streams) instead of
    /// blocking the pipeline (files: no frame lost).
    pub(crate) drop: bool,
    /// The frames' pixel format (`Rgb8`, `Nv12` or `Gray8`): the appsink's caps ask for it
    /// (for `Nv12` and `Gray8`, the decoders' I420 or NV12, converted in the copy).
    pub(crate) format: PixelFormat,
}

/// What one pull gave.
pub(crate) enum Pulled {
    /// A frame (its id and time still to be set by the caller) and the buffer's PTS in ns.
    Frame(Frame, Option<u64>),
    /// Nothing within the timeout; the pipeline is still running.
    Nothing,
    /// The stream ended (EOS).
    Eos,
    /// The pipeline failed: the element that posted the error and its message.
    Failed(String),
    /// Stopped while waiting for a free frame.
    Stopped,
}

/// A pipeline in the PLAYING state with its appsink and bus.
pub(crate) struct Player {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    /// The caps of the last sample and their video info (parsed again only when they change).
    info: Option<(gst::Caps, gst_video::VideoInfo)>,
    /// The frames' pixel format.
    format: PixelFormat,
}

/// Samples the appsink may queue before it blocks (or drops, for live streams).
const QUEUE: u32 = 2;
/// How long a pipeline that failed to start may take to post its error.
const ERROR_WAIT: gst::ClockTime = gst::ClockTime::from_seconds(5);

impl Player {
    /// Parses `description` (gst-launch syntax), finds its `appsink name=sink`, sets its caps
    /// to the formats [`gst_formats`] gives for the frames and builds the pipeline, without starting it. `prepare` may set properties
    /// on named elements first. Errors say what is wrong with the description.
    pub(crate) fn parse(
        description: &str,
        mode: SinkMode,
        prepare: impl FnOnce(&gst::Pipeline) -> Result<(), String>,
    ) -> Result<Self, String> {
        init()?;
        let element = gst::parse::launch_full(description, None, gst::ParseFlags::FATAL_ERRORS)
            .map_err(|e| format!("bad pipeline `{description}`: {e}"))?;
        let pipeline = match element.downcast::<gst::Pipeline>() {
            Ok(p) => p,
            Err(element) => {
                let p = gst::Pipeline::new();
                p.add(&element)
                    .map_err(|e| format!("bad pipeline `{description}`: {e}"))?;
                p
            }
        };
        let sink = pipeline
            .by_name("sink")
            .ok_or_else(|| {
                format!(
                    "bad pipeline `{description}`: it must end in `appsink name=sink` (none is named `sink`)"
                )
            })?
            .downcast::<gst_app::AppSink>()
            .map_err(|e| {
                format!(
                    "bad pipeline `{description}`: the element named `sink` is a `{}`, not an `appsink`",
                    e.factory().map_or_else(|| "?".into(), |f| f.name().to_string())
                )
            })?;
        sink.set_caps(Some(
            &gst_video::VideoCapsBuilder::new()
                .format_list(gst_formats(mode.format).iter().copied())
                .build(),
        ));
        if sink.max_buffers() == 0 {
            sink.set_max_buffers(QUEUE);
        }
        if mode.drop {
            sink.set_drop(true);
        }
        if let Some(sync) = mode.sync {
            sink.set_sync(sync);
        }
        prepare(&pipeline)?;
        let bus = pipeline.bus().ok_or("the pipeline has no bus")?;
        Ok(Self {
            pipeline,
            sink,
            bus,
            info: None,
            format: mode.format,
        })
    }

    /// Sets the pipeline PLAYING. With `wait`, waits (up to `wait` ns) until it is (files
    /// preroll: a missing file or an undecodable stream fails here); live pipelines return
    /// at once either way. A failure is returned with the element's error message.
    pub(crate) fn start(&self, wait: Option<u64>) -> Result<(), String> {
        let started = self.pipeline.set_state(gst::State::Playing);
        let started = match (started, wait) {
            (Ok(gst::StateChangeSuccess::Async), Some(ns)) => {
                self.pipeline.state(gst::ClockTime::from_nseconds(ns)).0
            }
            (r, _) => r,
        };
        if started.is_err() {
            // The element posts its error from its own thread; it may land just after.
            let posted = self
                .bus
                .timed_pop_filtered(ERROR_WAIT, &[gst::MessageType::Error]);
            return Err(match posted.as_ref().map(|m| m.view()) {
                Some(gst::MessageView::Error(e)) => describe_error(e),
                _ => "the pipeline did not start (no element posted an error)".into(),
            });
        }
        if let Some(e) = self.bus_error() {
            return Err(e);
        }
        Ok(())
    }

    /// The first error waiting on the bus, formatted.
    fn bus_error(&self) -> Option<String> {
        while let Some(msg) = self.bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                return Some(describe_error(e));
            }
        }
        None
    }

    /// Waits up to `timeout_ns` for the next sample and copies it into a frame of `pool`.
    pub(crate) fn pull(&mut self, pool: &FramePool, stop: &StopFlag, timeout_ns: u64) -> Pulled {
        let Some(sample) = self
            .sink
            .try_pull_sample(gst::ClockTime::from_nseconds(timeout_ns))
        else {
            if let Some(e) = self.bus_error() {
                return Pulled::Failed(e);
            }
            if self.sink.is_eos() {
                return Pulled::Eos;
            }
            return Pulled::Nothing;
        };
        match self.copy(&sample, pool, stop) {
            Ok(Some(frame)) => {
                let pts = sample.buffer().and_then(|b| b.pts()).map(|t| t.nseconds());
                Pulled::Frame(frame, pts)
            }
            Ok(None) => Pulled::Stopped,
            Err(e) => Pulled::Failed(e),
        }
    }

    /// Copies one sample into a pooled frame: RGB and gray plane by plane and row by row
    /// (GStreamer pads rows); I420 or NV12 from the decoder as NV12 (the chroma interleaved in
    /// this copy) or as gray (the luma plane only).
    fn copy(
        &mut self,
        sample: &gst::Sample,
        pool: &FramePool,
        stop: &StopFlag,
    ) -> Result<Option<Frame>, String> {
        let caps = sample.caps().ok_or("a sample without caps")?;
        let fresh = !matches!(&self.info, Some((c, _)) if c.as_ref() == caps);
        if fresh {
            let info = gst_video::VideoInfo::from_caps(caps)
                .map_err(|e| format!("unusable caps {caps}: {e}"))?;
            if !gst_formats(self.format).contains(&info.format()) {
                return Err(format!("the appsink gave {caps}, not {:?}", self.format));
            }
            self.info = Some((caps.to_owned(), info));
        }
        let (_, info) = self.info.as_ref().expect("set above");
        let buffer = sample.buffer().ok_or("a sample without a buffer")?;
        let video = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info)
            .map_err(|e| format!("cannot map a frame: {e}"))?;
        let (w, h) = (video.width(), video.height());
        let Some(mut frame) = pool.acquire_or(w, h, self.format, || stop.is_stopped()) else {
            return Ok(None);
        };
        let d = frame.get_mut().expect("a freshly acquired frame is unique");
        let dst_stride = d.stride;
        let plane = |i: u32| -> Result<(&[u8], usize), String> {
            let data = video
                .plane_data(i)
                .map_err(|e| format!("cannot read a frame: {e}"))?;
            Ok((data, video.plane_stride()[i as usize] as usize))
        };
        let size = (w as usize, h as usize);
        match video.format() {
            gst_video::VideoFormat::I420 => {
                let planes = Planes::I420 {
                    y: plane(0)?,
                    u: plane(1)?,
                    v: plane(2)?,
                };
                write_yuv(&planes, size, self.format, &mut d.data, dst_stride)?;
            }
            gst_video::VideoFormat::Nv12 => {
                let planes = Planes::Nv12 {
                    y: plane(0)?,
                    uv: plane(1)?,
                };
                write_yuv(&planes, size, self.format, &mut d.data, dst_stride)?;
            }
            // RGB into RGB, gray into gray.
            _ => {
                let (src, src_stride) = plane(0)?;
                let row = self.format.min_stride(w);
                copy_rows(src, src_stride, &mut d.data, dst_stride, row, h as usize)?;
            }
        }
        Ok(Some(frame))
    }
}

/// The GStreamer formats the appsink takes for a frame format, preferred first: RGB for
/// RGB frames; for NV12 and gray frames the decoders' own I420 or NV12 (converted in the copy
/// into the frame, so a `videoconvert` before the appsink passes them through untouched), and
/// gray itself for gray frames.
fn gst_formats(format: PixelFormat) -> &'static [gst_video::VideoFormat] {
    use gst_video::VideoFormat as F;
    match format {
        PixelFormat::Nv12 => &[F::I420, F::Nv12],
        PixelFormat::Gray8 => &[F::I420, F::Nv12, F::Gray8],
        _ => &[F::Rgb],
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        // Stops the streaming threads and closes files and sockets.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// `element <path>: <message> (<detail from the debug text>)`, with a hint for the
/// negotiation failure a missing `videoconvert` causes.
fn describe_error(e: &gst::message::Error) -> String {
    let element = e
        .src()
        .map_or_else(|| "?".to_string(), |s| s.path_string().to_string());
    let mut out = format!("element {element}: {}", e.error());
    // The debug text's first line is the C source location; a detail (the file that is
    // missing, the caps that did not match) follows on the next lines when there is one.
    if let Some(debug) = e.debug()
        && let Some(last) = debug
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .last()
    {
        out.push_str(&format!(" ({})", last.trim()));
    }
    if out.contains("not-negotiated") || out.contains("not negotiated") {
        out.push_str(
            "; the appsink takes RGB (or I420/NV12 for nv12 and gray8 frames): put `videoconvert` before it",
        );
    }
    out
}
