//! `video_file`: an H.264 MP4 file, decoded in the default build (OpenH264 built from its
//! bundled C source, the `mp4` crate for the boxes), or with the `ffmpeg` feature by the
//! system's libavcodec ([`VideoDecoder`], param `decoder`), as RGB, NV12 or gray frames.
//!
//! # How it works
//! The file is opened when the source is built: a missing file, bytes that are not an MP4, a
//! fragmented MP4 or a video track that is not H.264 (HEVC, MPEG-4 part 2, VP9…) is an error
//! then, naming the file. Each call reads the next sample (decode order) into a reused buffer,
//! decodes it, and writes the picture that comes out into a pooled frame: RGB by default
//! (converted with OpenH264's AVX2 converter), or, with `format = "nv12"` / `"gray8"`, the
//! decoder's own YUV (luma rows copied, chroma interleaved) with no colour conversion, for
//! pipelines whose stages take those formats (recording, the preview, luma-only stages).
//!
//! Timestamps: the decoder hands pictures out in presentation order (it holds B-frames back),
//! so the k-th picture out gets the k-th smallest presentation time of the track (decode
//! time + `ctts` offset), less the first; `t_ns` is that time in nanoseconds. With `looping`
//! each pass adds the track's length, so `t_ns` and `frame_id` keep increasing.
//!
//! `realtime = true` sleeps on the injected clock until `start + t_ns / speed` (`speed = 1`
//! plays at the recorded rate, `2` twice as fast); `false` returns frames as fast as the
//! pipeline takes them (a `block` edge then loses none). Pacing never changes `t_ns`: a file
//! played at any speed gives the same frames with the same timestamps.
//!
//! A sample that cannot be read (truncated file) or decoded is an error naming the file and
//! the frame; the pictures the decoder still holds are then delivered and the stream ends.
//! Frames delivered before the error stay delivered.
//!
//! # Parameters
//! See [`VideoFileParams`].

#[cfg(feature = "ffmpeg")]
mod avcodec;
mod decode;
mod decoder;
mod demux;

use std::path::PathBuf;
use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decode::DecodeFormat;
use decode::Dims;
use decoder::Decoder;
pub use decoder::VideoDecoder;
use demux::Mp4H264;

/// Parameters of [`VideoFile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VideoFileParams {
    /// The MP4 file (H.264 video); relative to the config file.
    pub path: String,
    /// Pace frames by the file's timestamps; false = as fast as the pipeline takes them.
    pub realtime: bool,
    /// Start over after the last frame instead of ending the stream.
    pub looping: bool,
    /// Playback rate when `realtime` (1 = as recorded, 2 = twice as fast); must be > 0.
    /// Only the pacing changes, never the frames' `t_ns`.
    pub speed: f64,
    /// Pixel format of the frames: `rgb8` (default), `nv12` (the decoded YUV 4:2:0, no
    /// colour conversion) or `gray8` (the luma plane only).
    pub format: DecodeFormat,
    /// H.264 decoder: `auto` (default: `ffmpeg` when framebus is built with the `ffmpeg`
    /// feature, else `openh264`), `openh264` (built in) or `ffmpeg` (the system's libavcodec,
    /// about 2.5× faster; an error in a build without the feature).
    pub decoder: VideoDecoder,
    /// Decoding threads for the `ffmpeg` decoder (libavcodec frame threads; 1 = one thread,
    /// the default). OpenH264 always decodes on one thread.
    #[schemars(range(min = 1, max = 64))]
    pub threads: u32,
}

impl Default for VideoFileParams {
    fn default() -> Self {
        Self {
            path: "video.mp4".into(),
            realtime: true,
            looping: false,
            speed: 1.0,
            format: DecodeFormat::Rgb8,
            decoder: VideoDecoder::Auto,
            threads: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading and decoding samples.
    Decoding,
    /// Handing out the pictures drained from the decoder at the end of a pass.
    Tail { next: usize, len: usize },
    /// Nothing more to give (end of file, or after an error).
    Ended,
}

/// Frames from an H.264 MP4 file (kind `video_file`).
pub struct VideoFile {
    params: VideoFileParams,
    mp4: Mp4H264,
    decoder: Decoder,
    /// Next sample to read, 0-based in decode order.
    next_sample: usize,
    pacer: Pacer,
    /// Pictures drained from the decoder at the end of a pass (buffers kept for reuse).
    tail: Vec<(Dims, Vec<u8>)>,
    /// The access unit being fed to the decoder (buffer kept for reuse).
    access_unit: Vec<u8>,
    state: State,
    /// True after a read or decode error: the pass ends and does not loop.
    failed: bool,
    next_id: u64,
    pool: FramePool,
    stop: StopFlag,
}

impl VideoFile {
    /// Frames in one pass over the file.
    pub fn frame_count(&self) -> u64 {
        self.mp4.samples.len() as u64
    }

    /// Coded width and height from the file's sample description.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.mp4.width, self.mp4.height)
    }

    /// The file being played.
    pub fn path(&self) -> &std::path::Path {
        self.mp4.path()
    }

    /// The H.264 decoder in use (`auto` resolved).
    pub fn decoder(&self) -> VideoDecoder {
        self.params.decoder.resolved()
    }

    /// A fresh decoder as the params ask, or an error naming the file.
    fn start_decoder(params: &VideoFileParams, path: &std::path::Path) -> Result<Decoder> {
        Decoder::new(params.decoder, params.threads)
            .map_err(|e| Error::source(format!("video_file {}: {e}", path.display())))
    }

    fn error_at(&self, sample: usize, why: &str) -> Error {
        Error::source(format!(
            "video_file {}: frame {} of {} (decode order): {why}; {} frames were delivered before it",
            self.mp4.path().display(),
            sample + 1,
            self.mp4.samples.len(),
            self.next_id - 1,
        ))
    }

    /// End of a pass (end of file or error): drain the decoder into the tail.
    fn end_pass(&mut self) -> Result<()> {
        let len = self
            .decoder
            .drain(self.params.format.pixel_format(), &mut self.tail)
            .map_err(|e| Error::source(format!("video_file {}: {e}", self.path().display())))?;
        self.state = State::Tail { next: 0, len };
        Ok(())
    }

    /// Starts the next pass (looping).
    fn restart(&mut self) -> Result<()> {
        self.pacer.pass_offset_ns += ticks_to_ns(self.mp4.duration, self.mp4.timescale);
        self.pacer.out_in_pass = 0;
        self.next_sample = 0;
        self.decoder = Self::start_decoder(&self.params, self.mp4.path())?;
        self.state = State::Decoding;
        Ok(())
    }
}

/// Timestamps and pacing of the pictures given out.
struct Pacer {
    realtime: bool,
    /// Playback rate (> 0).
    speed: f64,
    clock: Arc<dyn Clock>,
    /// Clock time of the first picture (realtime).
    start_ns: Option<u64>,
    /// Pictures given out in this pass (indexes `pts_sorted`).
    out_in_pass: usize,
    /// Added to `t_ns` for every completed pass (looping).
    pass_offset_ns: u64,
}

impl Pacer {
    /// The next picture's `t_ns`; in realtime mode, sleeps until it is due.
    fn next(&mut self, mp4: &Mp4H264) -> u64 {
        let sorted = &mp4.pts_sorted;
        let first = sorted[0];
        let k = self.out_in_pass;
        self.out_in_pass += 1;
        let ticks = match sorted.get(k) {
            Some(&p) => p - first,
            // More pictures than samples cannot happen with a sane decoder; keep time moving.
            None => sorted[sorted.len() - 1] - first + (k - sorted.len() + 1) as i64,
        };
        let t_ns = self.pass_offset_ns + ticks_to_ns(ticks, mp4.timescale);
        if self.realtime {
            let start = *self.start_ns.get_or_insert_with(|| self.clock.now_ns());
            self.clock
                .sleep_until(start + (t_ns as f64 / self.speed) as u64);
        }
        t_ns
    }
}

/// A pooled frame of `dims` in `format` stamped with `id` and `t_ns`, filled by `fill`; `None` when
/// stopped while waiting for a free frame.
fn pooled(
    pool: &FramePool,
    stop: &StopFlag,
    (dims, format): (Dims, PixelFormat),
    id: u64,
    t_ns: u64,
    fill: impl FnOnce(&mut [u8]) -> std::result::Result<(), String>,
) -> std::result::Result<Option<Frame>, String> {
    let Some(mut frame) = pool.acquire_or(dims.0, dims.1, format, || stop.is_stopped()) else {
        return Ok(None);
    };
    let data = frame.get_mut().expect("a freshly acquired frame is unique");
    data.frame_id = id;
    data.t_ns = t_ns;
    fill(&mut data.data)?;
    Ok(Some(frame))
}

/// Frames in one pass over an H.264 MP4 file, from its index (nothing is decoded); for
/// progress bars.
pub fn frame_count(path: &std::path::Path) -> std::result::Result<u64, String> {
    Mp4H264::open(path).map(|m| m.samples.len() as u64)
}

fn ticks_to_ns(ticks: i64, timescale: u32) -> u64 {
    (i128::from(ticks.max(0)) * 1_000_000_000 / i128::from(timescale)) as u64
}

impl Source for VideoFile {
    type Params = VideoFileParams;
    const KIND: &'static str = "video_file";
    const DESCRIPTION: &'static str = "An H.264 MP4 file decoded in-process (OpenH264, or libavcodec with the `ffmpeg` feature), paced by its timestamps or as fast as taken";

    fn new(params: VideoFileParams, init: &SourceInit) -> Result<Self> {
        if !(params.speed.is_finite() && params.speed > 0.0) {
            return Err(Error::source(format!(
                "{}: `speed` must be a number above 0, not {}",
                params.path, params.speed
            )));
        }
        if !(1..=64).contains(&params.threads) {
            return Err(Error::source(format!(
                "{}: `threads` must be 1 to 64, not {}",
                params.path, params.threads
            )));
        }
        let path: PathBuf = init.base_dir.join(&params.path);
        let decoder = Self::start_decoder(&params, &path)?;
        let mp4 = Mp4H264::open(&path).map_err(Error::source)?;
        Ok(Self {
            pacer: Pacer {
                realtime: params.realtime,
                speed: params.speed,
                clock: init.clock.clone(),
                start_ns: None,
                out_in_pass: 0,
                pass_offset_ns: 0,
            },
            params,
            access_unit: Vec::with_capacity(mp4.parameter_sets.len() + (1 << 16)),
            mp4,
            decoder,
            next_sample: 0,
            tail: Vec::new(),
            state: State::Decoding,
            failed: false,
            next_id: 1,
            pool: init.frame_pool(),
            stop: init.stop.clone(),
        })
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.stop.is_stopped() {
                return Ok(None);
            }
            match self.state {
                State::Ended => return Ok(None),
                State::Tail { next, len } => {
                    if next < len {
                        self.state = State::Tail {
                            next: next + 1,
                            len,
                        };
                        let t_ns = self.pacer.next(&self.mp4);
                        let (dims, ref rgb) = self.tail[next];
                        let format = self.params.format.pixel_format();
                        let frame = pooled(
                            &self.pool,
                            &self.stop,
                            (dims, format),
                            self.next_id,
                            t_ns,
                            |b| {
                                b.copy_from_slice(rgb);
                                Ok(())
                            },
                        )
                        .map_err(Error::source)?;
                        self.next_id += 1;
                        return Ok(frame);
                    }
                    if self.params.looping && !self.failed {
                        self.restart()?;
                    } else {
                        self.state = State::Ended;
                    }
                }
                State::Decoding => {
                    let sample = self.next_sample;
                    if sample == self.mp4.samples.len() {
                        self.end_pass()?;
                        continue;
                    }
                    self.next_sample += 1;
                    self.access_unit.clear();
                    if sample == 0 {
                        self.access_unit.extend_from_slice(&self.mp4.parameter_sets);
                    }
                    if let Err(why) = self.mp4.read_annexb(sample, &mut self.access_unit) {
                        let e = self.error_at(sample, &why);
                        self.failed = true;
                        self.end_pass()?;
                        return Err(e);
                    }
                    let picture = match self.decoder.decode(&self.access_unit) {
                        Ok(p) => p,
                        Err(why) => {
                            let e = self.error_at(sample, &why);
                            self.failed = true;
                            self.end_pass()?;
                            return Err(e);
                        }
                    };
                    let Some(picture) = picture else { continue };
                    let t_ns = self.pacer.next(&self.mp4);
                    let format = self.params.format.pixel_format();
                    let frame = pooled(
                        &self.pool,
                        &self.stop,
                        (picture.dims(), format),
                        self.next_id,
                        t_ns,
                        |b| picture.write(format, b),
                    );
                    let frame = match frame {
                        Ok(f) => f,
                        Err(why) => {
                            let e = self.error_at(sample, &why);
                            self.failed = true;
                            self.end_pass()?;
                            return Err(e);
                        }
                    };
                    self.next_id += 1;
                    return Ok(frame);
                }
            }
        }
    }
}

framebus_core::register_source!(VideoFile);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}
