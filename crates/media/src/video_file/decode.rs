//! H.264 decoding with OpenH264 (its C source is built by cargo: no system library).
//!
//! The decoder runs without flushing after each access unit, so it can hold pictures back and
//! hand them out in presentation order when the stream has B-frames; [`H264Decoder::drain`]
//! collects the pictures it still holds at the end of the stream.

use framebus_core::frame::PixelFormat;
use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;

use crate::yuv::{Planes, write_yuv};

/// A decoded picture's size.
pub(crate) type Dims = (u32, u32);

/// An OpenH264 decoder that writes pictures as RGB, NV12 or gray.
pub(crate) struct H264Decoder {
    dec: Decoder,
}

impl H264Decoder {
    /// A fresh decoder.
    pub(crate) fn new() -> Result<Self, String> {
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let dec = Decoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| format!("cannot start the H.264 decoder: {e}"))?;
        Ok(Self { dec })
    }

    /// Decodes one access unit (Annex-B); returns the picture that came out, if any (it
    /// borrows the decoder until it is written somewhere).
    pub(crate) fn decode(&mut self, access_unit: &[u8]) -> Result<Option<Picture<'_>>, String> {
        match self.dec.decode(access_unit) {
            Ok(p) => Ok(p.map(Picture)),
            Err(e) => Err(format!("H.264 decode failed: {e}")),
        }
    }

    /// Takes every picture the decoder still holds (end of stream), in presentation order,
    /// writing each in `format` into a buffer of `tail` (grown as needed, kept for reuse).
    /// Returns how many pictures were written.
    pub(crate) fn drain(
        &mut self,
        format: PixelFormat,
        tail: &mut Vec<(Dims, Vec<u8>)>,
    ) -> Result<usize, String> {
        let pictures = self
            .dec
            .flush_remaining()
            .map_err(|e| format!("H.264 decoder flush failed: {e}"))?;
        for (i, yuv) in pictures.iter().enumerate() {
            write(yuv, format, tail_slot(tail, i, format, dims(yuv)))?;
        }
        Ok(pictures.len())
    }
}

/// Slot `n` of a drain's `tail` (added when missing) made ready for a `dims` picture in
/// `format`: its size recorded and its buffer resized (buffers are kept between drains).
pub(crate) fn tail_slot(
    tail: &mut Vec<(Dims, Vec<u8>)>,
    n: usize,
    format: PixelFormat,
    dims: Dims,
) -> &mut Vec<u8> {
    if tail.len() <= n {
        tail.push(((0, 0), Vec::new()));
    }
    let slot = &mut tail[n];
    slot.0 = dims;
    slot.1
        .resize(format.buffer_len(format.min_stride(dims.0), dims.1), 0);
    &mut slot.1
}

/// A decoded picture, still in the decoder's buffers.
pub(crate) struct Picture<'a>(DecodedYUV<'a>);

impl Picture<'_> {
    /// Width and height in pixels.
    pub(crate) fn dims(&self) -> Dims {
        dims(&self.0)
    }

    /// Writes the picture in `format` (`Rgb8`, `Nv12` or `Gray8`) into `buf`, which holds
    /// `format.buffer_len(format.min_stride(width), height)` bytes.
    pub(crate) fn write(&self, format: PixelFormat, buf: &mut [u8]) -> Result<(), String> {
        write(&self.0, format, buf)
    }
}

/// Writes `yuv` in `format` into `buf` (packed rows, no padding). RGB goes through
/// OpenH264's converter (AVX2 when the CPU has it); NV12 copies the luma rows and interleaves
/// the chroma planes; gray copies the luma rows ([`crate::yuv`]).
fn write(yuv: &DecodedYUV<'_>, format: PixelFormat, buf: &mut [u8]) -> Result<(), String> {
    let (w, h) = yuv.dimensions();
    let (y_stride, u_stride, v_stride) = yuv.strides();
    match format {
        PixelFormat::Nv12 | PixelFormat::Gray8 => {
            let planes = Planes::I420 {
                y: (yuv.y(), y_stride),
                u: (yuv.u(), u_stride),
                v: (yuv.v(), v_stride),
            };
            write_yuv(&planes, (w, h), format, buf, w)
        }
        _ => {
            yuv.write_rgb8(buf);
            Ok(())
        }
    }
}

fn dims(yuv: &DecodedYUV<'_>) -> Dims {
    let (w, h) = yuv.dimensions();
    (w as u32, h as u32)
}
