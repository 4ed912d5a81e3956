//! Decoding JPEG and PNG bytes into packed RGB with real codecs (`image`, whose JPEG
//! decoder is zune-jpeg), with size limits checked from the header before decoding.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use crate::error::{MediaError, Result};

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
