//! JPEG encoding of frames for the video preview: any pixel format, optional downscaling,
//! buffers reused from call to call.

use framebus_core::frame::{FrameData, PixelFormat};
use framebus_core::views::to_rgb;
use jpeg_encoder::{ColorType, Encoder};

use crate::error::{MediaError, Result};

/// A reusable JPEG encoder. It keeps its conversion and scaling buffers between calls, so
/// encoding a stream of same-sized frames does not grow memory.
#[derive(Debug, Default)]
pub struct JpegEncoder {
    rgb: Vec<u8>,
    scaled: Vec<u8>,
}

impl JpegEncoder {
    /// A new encoder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes `frame` (Rgb8, Bgr8, Gray8, Yuyv or Nv12) at `quality` (1..=100) into `out`
    /// (cleared first). With `max_width`, wider frames are box-filtered down to that width,
    /// keeping the aspect ratio. Returns the encoded width and height.
    pub fn encode(
        &mut self,
        frame: &FrameData,
        quality: u8,
        max_width: Option<u32>,
        out: &mut Vec<u8>,
    ) -> Result<(u16, u16)> {
        let (w, h) = (frame.width, frame.height);
        if w == 0 || h == 0 {
            return Err(MediaError::Encode("empty frame".into()));
        }
        let packed_rgb = frame.format == PixelFormat::Rgb8 && frame.stride == w as usize * 3;
        let (nw, nh) = match max_width {
            Some(mw) if mw > 0 && w > mw => (
                mw,
                ((u64::from(h) * u64::from(mw) + u64::from(w) / 2) / u64::from(w)).max(1) as u32,
            ),
            _ => (w, h),
        };
        if nw > u32::from(u16::MAX) || nh > u32::from(u16::MAX) {
            return Err(MediaError::Encode(format!(
                "{nw}x{nh} is too large for JPEG"
            )));
        }
        let src: &[u8] = if packed_rgb {
            &frame.data[..w as usize * h as usize * 3]
        } else {
            to_rgb(frame, &mut self.rgb);
            &self.rgb
        };
        let pixels: &[u8] = if (nw, nh) == (w, h) {
            src
        } else {
            box_downscale(src, w, h, nw, nh, &mut self.scaled);
            &self.scaled
        };
        out.clear();
        let quality = quality.clamp(1, 100);
        Encoder::new(&mut *out, quality)
            .encode(pixels, nw as u16, nh as u16, ColorType::Rgb)
            .map_err(|e| MediaError::Encode(e.to_string()))?;
        Ok((nw as u16, nh as u16))
    }
}

/// Downscales packed RGB `w × h` to `nw × nh` (both no larger) by averaging each source box.
fn box_downscale(src: &[u8], w: u32, h: u32, nw: u32, nh: u32, out: &mut Vec<u8>) {
    let (w, h, nw, nh) = (w as usize, h as usize, nw as usize, nh as usize);
    out.resize(nw * nh * 3, 0);
    for oy in 0..nh {
        let (y0, y1) = (oy * h / nh, ((oy + 1) * h / nh).max(oy * h / nh + 1));
        for ox in 0..nw {
            let (x0, x1) = (ox * w / nw, ((ox + 1) * w / nw).max(ox * w / nw + 1));
            let mut sum = [0u32; 3];
            for y in y0..y1 {
                let row = &src[(y * w + x0) * 3..(y * w + x1) * 3];
                for p in row.chunks_exact(3) {
                    sum[0] += u32::from(p[0]);
                    sum[1] += u32::from(p[1]);
                    sum[2] += u32::from(p[2]);
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u32;
            let o = (oy * nw + ox) * 3;
            for k in 0..3 {
                out[o + k] = ((sum[k] + n / 2) / n) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_rgb;

    fn frame(format: PixelFormat, w: u32, h: u32, px: &[u8]) -> FrameData {
        let mut f = FrameData::default();
        f.reshape(w, h, format);
        for c in f.data.chunks_exact_mut(px.len()) {
            c.copy_from_slice(px);
        }
        f
    }

    fn centre(rgb: &[u8], w: u32, h: u32) -> [u8; 3] {
        let i = ((h / 2 * w + w / 2) * 3) as usize;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    }

    fn close(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12)
    }

    #[test]
    fn every_format_encodes_to_the_right_colour() {
        let orange = [230, 120, 20];
        let cases = [
            (frame(PixelFormat::Rgb8, 64, 48, &orange), orange),
            (frame(PixelFormat::Bgr8, 64, 48, &[20, 120, 230]), orange),
            (frame(PixelFormat::Gray8, 64, 48, &[90]), [90, 90, 90]),
            // YUYV/NV12 of mid gray (Y = 126 → about 128 RGB).
            (
                frame(PixelFormat::Yuyv, 64, 48, &[126, 128, 126, 128]),
                [128, 128, 128],
            ),
            (
                frame(PixelFormat::Nv12, 64, 48, &[126, 128]),
                [128, 128, 128],
            ),
        ];
        let mut enc = JpegEncoder::new();
        let mut out = Vec::new();
        for (f, want) in cases {
            let (w, h) = enc.encode(&f, 90, None, &mut out).unwrap();
            assert_eq!((w, h), (64, 48));
            let d = decode_rgb(&out, None).unwrap();
            assert_eq!((d.width, d.height), (64, 48));
            let got = centre(&d.rgb, 64, 48);
            assert!(
                close(got, want),
                "{:?}: got {got:?}, want {want:?}",
                f.format
            );
        }
    }

    #[test]
    fn downscales_to_max_width_keeping_the_aspect() {
        // Left half red, right half blue.
        let mut f = frame(PixelFormat::Rgb8, 640, 480, &[0, 0, 255]);
        for row in f.data.chunks_exact_mut(640 * 3) {
            for p in row[..320 * 3].chunks_exact_mut(3) {
                p.copy_from_slice(&[255, 0, 0]);
            }
        }
        let mut enc = JpegEncoder::new();
        let mut out = vec![1, 2, 3];
        assert_eq!(enc.encode(&f, 80, Some(320), &mut out).unwrap(), (320, 240));
        let d = decode_rgb(&out, None).unwrap();
        assert_eq!((d.width, d.height), (320, 240));
        let left = &d.rgb[(120 * 320 + 80) * 3..][..3];
        let right = &d.rgb[(120 * 320 + 240) * 3..][..3];
        assert!(left[0] > 230 && left[2] < 30, "{left:?}");
        assert!(right[2] > 230 && right[0] < 30, "{right:?}");
        // Narrower than max_width: unchanged size.
        assert_eq!(
            enc.encode(&f, 80, Some(1000), &mut out).unwrap(),
            (640, 480)
        );
    }

    #[test]
    fn box_filter_averages() {
        let src = [0, 0, 0, 100, 100, 100, 200, 200, 200, 50, 50, 50];
        let mut out = Vec::new();
        box_downscale(&src, 2, 2, 1, 1, &mut out);
        assert_eq!(out, [88, 88, 88]);
    }

    #[test]
    fn empty_frames_are_refused() {
        let mut out = Vec::new();
        assert!(
            JpegEncoder::new()
                .encode(&FrameData::default(), 80, None, &mut out)
                .is_err()
        );
    }
}
