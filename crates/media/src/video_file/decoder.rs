//! Which H.264 decoder a `video_file` runs: the `decoder` parameter ([`VideoDecoder`]) and
//! the dispatch between OpenH264 (always built) and libavcodec (feature `ffmpeg`).

use framebus_core::frame::PixelFormat;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ffmpeg")]
use super::avcodec::AvDecoder;
use super::decode::{self, Dims, H264Decoder};

/// The `decoder` parameter of `video_file`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VideoDecoder {
    /// libavcodec when framebus is built with the `ffmpeg` feature, else OpenH264.
    #[default]
    Auto,
    /// OpenH264, built from its bundled source (every build).
    Openh264,
    /// The system's libavcodec (builds with `--features ffmpeg`).
    Ffmpeg,
}

impl VideoDecoder {
    /// The decoder this stands for in this build (`auto` resolved).
    pub fn resolved(self) -> Self {
        match self {
            Self::Auto if cfg!(feature = "ffmpeg") => Self::Ffmpeg,
            Self::Auto => Self::Openh264,
            d => d,
        }
    }

    /// Whether this build has the decoder.
    pub fn available(self) -> bool {
        self.resolved() != Self::Ffmpeg || cfg!(feature = "ffmpeg")
    }
}

/// A running decoder of either kind.
pub(crate) enum Decoder {
    OpenH264(H264Decoder),
    #[cfg(feature = "ffmpeg")]
    Av(Box<AvDecoder>),
}

impl Decoder {
    /// A fresh decoder of `kind` (`threads` is libavcodec's; OpenH264 decodes on one thread).
    pub(crate) fn new(kind: VideoDecoder, threads: u32) -> Result<Self, String> {
        match kind.resolved() {
            #[cfg(feature = "ffmpeg")]
            VideoDecoder::Ffmpeg => Ok(Self::Av(Box::new(AvDecoder::new(threads)?))),
            #[cfg(not(feature = "ffmpeg"))]
            VideoDecoder::Ffmpeg => {
                let _ = threads;
                Err(
                    "decoder = \"ffmpeg\" needs framebus built with `--features ffmpeg` \
                     (the system's libavcodec); this build has \"openh264\" (or \"auto\")"
                        .into(),
                )
            }
            _ => H264Decoder::new().map(Self::OpenH264),
        }
    }

    /// Decodes one access unit (Annex-B); the picture that came out, if any.
    pub(crate) fn decode(&mut self, access_unit: &[u8]) -> Result<Option<Picture<'_>>, String> {
        match self {
            Self::OpenH264(d) => Ok(d.decode(access_unit)?.map(Picture::OpenH264)),
            #[cfg(feature = "ffmpeg")]
            Self::Av(d) => Ok(d.decode(access_unit)?.map(|dims| Picture::Av(d, dims))),
        }
    }

    /// Takes every picture the decoder still holds (end of stream) into `tail` in `format`;
    /// returns how many.
    pub(crate) fn drain(
        &mut self,
        format: PixelFormat,
        tail: &mut Vec<(Dims, Vec<u8>)>,
    ) -> Result<usize, String> {
        match self {
            Self::OpenH264(d) => d.drain(format, tail),
            #[cfg(feature = "ffmpeg")]
            Self::Av(d) => d.drain(format, tail),
        }
    }
}

/// A decoded picture, still in its decoder's buffers.
pub(crate) enum Picture<'a> {
    OpenH264(decode::Picture<'a>),
    #[cfg(feature = "ffmpeg")]
    Av(&'a mut AvDecoder, Dims),
}

impl Picture<'_> {
    /// Width and height in pixels.
    pub(crate) fn dims(&self) -> Dims {
        match self {
            Self::OpenH264(p) => p.dims(),
            #[cfg(feature = "ffmpeg")]
            Self::Av(_, dims) => *dims,
        }
    }

    /// Writes the picture in `format` into `buf` (packed rows:
    /// `format.buffer_len(format.min_stride(width), height)` bytes).
    pub(crate) fn write(self, format: PixelFormat, buf: &mut [u8]) -> Result<(), String> {
        match self {
            Self::OpenH264(p) => p.write(format, buf),
            #[cfg(feature = "ffmpeg")]
            Self::Av(d, (w, _)) => d.write(format, buf, format.min_stride(w)),
        }
    }
}
