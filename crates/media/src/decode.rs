//! Decoding JPEG and PNG bytes into packed RGB with real codecs (`image`, whose JPEG
//! decoder is zune-jpeg), with size limits checked from the header before decoding; and
//! [`JpegRgb`], zune-jpeg used directly to decode a JPEG into a buffer the caller already
//! has (a pooled frame), for MJPEG cameras.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use framebus_core::frame::PixelFormat;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{MediaError, Result};

/// The pixel formats the decoding sources (`video_file`, `gstreamer`) can hand out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecodeFormat {
    /// Packed RGB (converted from the decoded YUV, BT.601 limited range).
    #[default]
    Rgb8,
    /// The decoded YUV 4:2:0 as NV12 (no colour conversion).
    Nv12,
    /// The luma plane only.
    Gray8,
}

impl DecodeFormat {
    /// The frame layout this stands for.
    pub fn pixel_format(self) -> PixelFormat {
        match self {
            Self::Rgb8 => PixelFormat::Rgb8,
            Self::Nv12 => PixelFormat::Nv12,
            Self::Gray8 => PixelFormat::Gray8,
        }
    }
}

/// A decoded picture: packed RGB, `width * height * 3` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Packed R, G, B bytes, row after row.
    pub rgb: Vec<u8>,
}

/// Decodes a PNG or JPEG image into RGB. With `max = Some((w, h))`, larger images are
/// refused with [`MediaError::TooLarge`] after reading only their header.
pub fn decode_rgb(bytes: &[u8], max: Option<(u32, u32)>) -> Result<DecodedImage> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        _ => return Err(MediaError::UnknownFormat),
    };
    let corrupt = |e: image::ImageError| MediaError::Corrupt(e.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    if let Some((max_width, max_height)) = max {
        let mut limits = Limits::default();
        limits.max_image_width = Some(max_width);
        limits.max_image_height = Some(max_height);
        reader.limits(limits);
    }
    let img = reader.decode().map_err(|e| match (e, max) {
        (image::ImageError::Limits(_), Some((max_width, max_height))) => {
            let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
                .into_dimensions()
                .unwrap_or((0, 0));
            MediaError::TooLarge {
                width,
                height,
                max_width,
                max_height,
            }
        }
        (e, _) => corrupt(e),
    })?;
    let rgb = img.into_rgb8();
    let (width, height) = rgb.dimensions();
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt("empty image".into()));
    }
    Ok(DecodedImage {
        width,
        height,
        rgb: rgb.into_raw(),
    })
}

/// A JPEG whose header has been read, to be decoded as packed RGB into a buffer the caller
/// owns: no image-sized buffer is allocated (zune-jpeg still allocates its small per-image
/// row and table buffers).
pub struct JpegRgb<'a> {
    decoder: JpegDecoder<ZCursor<&'a [u8]>>,
    width: u32,
    height: u32,
}

impl<'a> JpegRgb<'a> {
    /// Reads the header of `bytes`; an error when it is not a JPEG zune-jpeg can decode.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
        decoder
            .decode_headers()
            .map_err(|e| MediaError::Corrupt(format!("JPEG header: {e:?}")))?;
        let (w, h) = decoder.dimensions().unwrap_or((0, 0));
        if w == 0 || h == 0 {
            return Err(MediaError::Corrupt("empty JPEG image".into()));
        }
        Ok(Self {
            decoder,
            width: w as u32,
            height: h as u32,
        })
    }

    /// Width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Decodes into `out`, which holds exactly `width × height × 3` bytes.
    pub fn decode_into(mut self, out: &mut [u8]) -> Result<()> {
        let need = self.width as usize * self.height as usize * 3;
        if out.len() != need || self.decoder.output_colorspace() != Some(ColorSpace::RGB) {
            return Err(MediaError::Corrupt(format!(
                "JPEG gives {:?}, not {need} bytes of RGB",
                self.decoder.output_colorspace()
            )));
        }
        self.decoder
            .decode_into(out)
            .map_err(|e| MediaError::Corrupt(format!("JPEG data: {e:?}")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes a `w × h` RGB test pattern (a colour gradient) as PNG.
    pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 100])
        })
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
        out
    }

    /// Encodes a `w × h` image of one colour as JPEG.
    pub(crate) fn jpeg(w: u32, h: u32, colour: [u8; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(w, h, image::Rgb(colour))
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
            .unwrap();
        out
    }

    #[test]
    fn decodes_png_exactly_and_jpeg_approximately() {
        let d = decode_rgb(&png(8, 4), None).unwrap();
        assert_eq!((d.width, d.height, d.rgb.len()), (8, 4, 96));
        assert_eq!(&d.rgb[..3], &[0, 0, 100]);
        let d = decode_rgb(&jpeg(16, 8, [200, 40, 40]), None).unwrap();
        assert_eq!((d.width, d.height), (16, 8));
        let px = &d.rgb[3 * 20..3 * 21];
        assert!(
            px[0].abs_diff(200) < 10 && px[1].abs_diff(40) < 10,
            "{px:?}"
        );
    }

    #[test]
    fn jpeg_rgb_decodes_into_the_callers_buffer_like_image_does() {
        for bytes in [jpeg(24, 8, [200, 20, 20]), {
            let mut out = Vec::new();
            image::GrayImage::from_pixel(16, 16, image::Luma([77]))
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
                .unwrap();
            out
        }] {
            let reference = decode_rgb(&bytes, None).unwrap();
            let j = JpegRgb::new(&bytes).unwrap();
            assert_eq!(j.dimensions(), (reference.width, reference.height));
            let mut out = vec![0; reference.rgb.len()];
            j.decode_into(&mut out).unwrap();
            assert_eq!(out, reference.rgb);
        }
        let bytes = jpeg(24, 8, [1, 2, 3]);
        let mut small = vec![0; 24 * 8 * 3 - 1];
        assert!(matches!(
            JpegRgb::new(&bytes).unwrap().decode_into(&mut small),
            Err(MediaError::Corrupt(_))
        ));
        assert!(matches!(
            JpegRgb::new(b"\xff\xd8 not really"),
            Err(MediaError::Corrupt(_))
        ));
        let truncated = &bytes[..bytes.len() / 2];
        let mut out = vec![0; 24 * 8 * 3];
        let r = JpegRgb::new(truncated).and_then(|j| j.decode_into(&mut out));
        assert!(matches!(r, Err(MediaError::Corrupt(_))), "{r:?}");
    }

    #[test]
    fn refuses_garbage_truncation_and_oversize() {
        assert!(matches!(
            decode_rgb(b"hello", None),
            Err(MediaError::UnknownFormat)
        ));
        let j = jpeg(64, 64, [1, 2, 3]);
        assert!(matches!(
            decode_rgb(&j[..j.len() / 3], None),
            Err(MediaError::Corrupt(_))
        ));
        let p = png(64, 64);
        assert!(matches!(
            decode_rgb(&p[..p.len() / 2], None),
            Err(MediaError::Corrupt(_))
        ));
        assert!(matches!(
            decode_rgb(&p, Some((32, 32))),
            Err(MediaError::TooLarge { .. })
        ));
        assert!(decode_rgb(&p, Some((64, 64))).is_ok());
    }
}
