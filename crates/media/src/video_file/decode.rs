//! H.264 decoding with OpenH264 (its C source is built by cargo: no system library).
//!
//! The decoder runs without flushing after each access unit, so it can hold pictures back and
//! hand them out in presentation order when the stream has B-frames; [`H264Decoder::drain`]
//! collects the pictures it still holds at the end of the stream.

use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;

/// A decoded picture's size.
pub(crate) type Dims = (u32, u32);

/// An OpenH264 decoder that writes pictures as RGB.
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
    /// writing each as RGB into a buffer of `tail` (grown as needed, kept for reuse).
    /// Returns how many pictures were written.
    pub(crate) fn drain(&mut self, tail: &mut Vec<(Dims, Vec<u8>)>) -> Result<usize, String> {
        let pictures = self
            .dec
            .flush_remaining()
            .map_err(|e| format!("H.264 decoder flush failed: {e}"))?;
        for (i, yuv) in pictures.iter().enumerate() {
            if tail.len() <= i {
                tail.push(((0, 0), Vec::new()));
            }
            let (w, h) = dims(yuv);
            let slot = &mut tail[i];
            slot.0 = (w, h);
            slot.1.resize(w as usize * h as usize * 3, 0);
            yuv.write_rgb8(&mut slot.1);
        }
        Ok(pictures.len())
    }
}

/// A decoded picture, still in the decoder's buffers.
pub(crate) struct Picture<'a>(DecodedYUV<'a>);

impl Picture<'_> {
    /// Width and height in pixels.
    pub(crate) fn dims(&self) -> Dims {
        dims(&self.0)
    }

    /// Converts to RGB into `buf` (`width × height × 3` bytes).
    pub(crate) fn write_rgb(&self, buf: &mut [u8]) {
        self.0.write_rgb8(buf);
    }
}

fn dims(yuv: &DecodedYUV<'_>) -> Dims {
    let (w, h) = yuv.dimensions();
    (w as u32, h as u32)
}
