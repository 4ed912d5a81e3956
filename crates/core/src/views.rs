//! Derived views of a frame (gray, RGB), computed at most once per frame and cached for
//! every stage of the pipeline in reusable buffers.

use crate::frame::{FrameData, PixelFormat};

/// A borrowed 8-bit single-channel image (`stride == width`).
#[derive(Debug, Clone, Copy)]
pub struct GrayView<'a> {
    /// Pixels, row-major.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A borrowed packed RGB image (`stride == 3 * width`).
#[derive(Debug, Clone, Copy)]
pub struct RgbView<'a> {
    /// Pixels, row-major R, G, B.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// [`crate::context::FrameCtx`] bit: the stage asked for the gray view.
pub(crate) const USED_GRAY: u8 = 1;
/// [`crate::context::FrameCtx`] bit: the stage asked for the RGB view.
pub(crate) const USED_RGB: u8 = 2;

/// The per-pipeline cache of derived views.
#[derive(Debug, Default)]
pub struct Views {
    gray: Vec<u8>,
    gray_for: Option<(u64, u64, usize)>,
    rgb: Vec<u8>,
    rgb_for: Option<(u64, u64, usize)>,
    conversions: u64,
}

/// Identifies one frame: id, time and buffer (pooled buffers are reused across frame ids).
fn key(f: &FrameData) -> (u64, u64, usize) {
    (
        f.frame_id,
        f.t_ns ^ (u64::from(f.source_index) << 48),
        f.data.as_ptr() as usize,
    )
}

impl Views {
    /// How many conversions were computed so far (for tests and diagnostics).
    pub fn conversions(&self) -> u64 {
        self.conversions
    }

    /// The gray view of `frame` if it needs no conversion or is already cached (read-only
    /// access for thread stages).
    pub fn cached_gray<'a>(&'a self, frame: &'a FrameData) -> Option<GrayView<'a>> {
        let (w, h) = (frame.width, frame.height);
        let data = if frame.format == PixelFormat::Gray8 && frame.stride == w as usize {
            &frame.data[..w as usize * h as usize]
        } else if self.gray_for == Some(key(frame)) {
            &self.gray[..]
        } else {
            return None;
        };
        Some(GrayView {
            data,
            width: w,
            height: h,
        })
    }

    /// The RGB view of `frame` if it needs no conversion or is already cached.
    pub fn cached_rgb<'a>(&'a self, frame: &'a FrameData) -> Option<RgbView<'a>> {
        let (w, h) = (frame.width, frame.height);
        let data = if frame.format == PixelFormat::Rgb8 && frame.stride == 3 * w as usize {
            &frame.data[..3 * w as usize * h as usize]
        } else if self.rgb_for == Some(key(frame)) {
            &self.rgb[..]
        } else {
            return None;
        };
        Some(RgbView {
            data,
            width: w,
            height: h,
        })
    }

    /// Computes the views named by `used` ([`USED_GRAY`], [`USED_RGB`]) for `frame` now.
    pub(crate) fn prepare(&mut self, frame: &FrameData, used: u8) {
        if used & USED_GRAY != 0 {
            self.gray(frame);
        }
        if used & USED_RGB != 0 {
            self.rgb(frame);
        }
    }

    /// The gray view of `frame`, converting once per frame.
    pub fn gray<'a>(&'a mut self, frame: &'a FrameData) -> GrayView<'a> {
        let (w, h) = (frame.width, frame.height);
        if frame.format == PixelFormat::Gray8 && frame.stride == w as usize {
            return GrayView {
                data: &frame.data[..w as usize * h as usize],
                width: w,
                height: h,
            };
        }
        if self.gray_for != Some(key(frame)) {
            to_gray(frame, &mut self.gray);
            self.gray_for = Some(key(frame));
            self.conversions += 1;
        }
        GrayView {
            data: &self.gray,
            width: w,
            height: h,
        }
    }

    /// The RGB view of `frame`, converting once per frame.
    pub fn rgb<'a>(&'a mut self, frame: &'a FrameData) -> RgbView<'a> {
        let (w, h) = (frame.width, frame.height);
        if frame.format == PixelFormat::Rgb8 && frame.stride == 3 * w as usize {
            return RgbView {
                data: &frame.data[..3 * w as usize * h as usize],
                width: w,
                height: h,
            };
        }
        if self.rgb_for != Some(key(frame)) {
            to_rgb(frame, &mut self.rgb);
            self.rgb_for = Some(key(frame));
            self.conversions += 1;
        }
        RgbView {
            data: &self.rgb,
            width: w,
            height: h,
        }
    }
}

#[inline]
fn luma(r: u8, g: u8, b: u8) -> u8 {
    // BT.601 integer weights, sum 256.
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128) >> 8) as u8
}

#[inline]
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = i32::from(y) - 16;
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| x.clamp(0, 255) as u8;
    [
        clamp((298 * c + 409 * e + 128) >> 8),
        clamp((298 * c - 100 * d - 208 * e + 128) >> 8),
        clamp((298 * c + 516 * d + 128) >> 8),
    ]
}

/// Converts any supported frame to packed gray into `out` (resized, reused).
pub fn to_gray(f: &FrameData, out: &mut Vec<u8>) {
    let (w, h) = (f.width as usize, f.height as usize);
    out.resize(w * h, 0);
    for y in 0..h {
        let row = &f.data[y * f.stride..];
        let dst = &mut out[y * w..(y + 1) * w];
        match f.format {
            PixelFormat::Gray8 | PixelFormat::Nv12 => dst.copy_from_slice(&row[..w]),
            PixelFormat::Rgb8 => {
                for (d, p) in dst.iter_mut().zip(row.chunks_exact(3)) {
                    *d = luma(p[0], p[1], p[2]);
                }
            }
            PixelFormat::Bgr8 => {
                for (d, p) in dst.iter_mut().zip(row.chunks_exact(3)) {
                    *d = luma(p[2], p[1], p[0]);
                }
            }
            PixelFormat::Yuyv => {
                for (x, d) in dst.iter_mut().enumerate() {
                    *d = row[2 * x];
                }
            }
        }
    }
}

/// Converts any supported frame to packed RGB into `out` (resized, reused).
pub fn to_rgb(f: &FrameData, out: &mut Vec<u8>) {
    let (w, h) = (f.width as usize, f.height as usize);
    out.resize(w * h * 3, 0);
    let uv_plane = f.stride * h;
    for y in 0..h {
        let row = &f.data[y * f.stride..];
        let dst = &mut out[y * w * 3..(y + 1) * w * 3];
        match f.format {
            PixelFormat::Rgb8 => dst.copy_from_slice(&row[..w * 3]),
            PixelFormat::Gray8 => {
                for (d, &g) in dst.chunks_exact_mut(3).zip(row) {
                    d.copy_from_slice(&[g, g, g]);
                }
            }
            PixelFormat::Bgr8 => {
                for (d, p) in dst.chunks_exact_mut(3).zip(row.chunks_exact(3)) {
                    d.copy_from_slice(&[p[2], p[1], p[0]]);
                }
            }
            PixelFormat::Yuyv => {
                for (x, d) in dst.chunks_exact_mut(3).enumerate() {
                    let pair = &row[(x / 2) * 4..(x / 2) * 4 + 4];
                    d.copy_from_slice(&yuv_to_rgb(row[2 * x], pair[1], pair[3]));
                }
            }
            PixelFormat::Nv12 => {
                let uv = &f.data[uv_plane + (y / 2) * f.stride..];
                for (x, d) in dst.chunks_exact_mut(3).enumerate() {
                    let i = (x / 2) * 2;
                    d.copy_from_slice(&yuv_to_rgb(row[x], uv[i], uv[i + 1]));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(format: PixelFormat, w: u32, h: u32, fill: &dyn Fn(&mut FrameData)) -> FrameData {
        let mut f = FrameData::default();
        f.reshape(w, h, format);
        fill(&mut f);
        f
    }

    #[test]
    fn every_format_converts_to_gray_and_rgb() {
        let white_rgb = frame(PixelFormat::Rgb8, 4, 2, &|f| f.data.fill(255));
        let bgr = frame(PixelFormat::Bgr8, 4, 2, &|f| {
            for p in f.data.chunks_exact_mut(3) {
                p.copy_from_slice(&[255, 0, 0]); // blue
            }
        });
        let yuyv = frame(PixelFormat::Yuyv, 4, 2, &|f| {
            for p in f.data.chunks_exact_mut(4) {
                p.copy_from_slice(&[235, 128, 235, 128]); // white
            }
        });
        let nv12 = frame(PixelFormat::Nv12, 4, 2, &|f| {
            let n = 8;
            f.data[..n].fill(16); // black luma
            f.data[n..].fill(128);
        });
        let mut v = Views::default();
        assert!(v.gray(&white_rgb).data.iter().all(|&g| g == 255));
        assert!(v.rgb(&bgr).data.chunks(3).all(|p| p == [0, 0, 255]));
        assert!(v.gray(&bgr).data.iter().all(|&g| g == 29));
        assert!(v.rgb(&yuyv).data.iter().all(|&c| c == 255));
        assert!(v.gray(&yuyv).data.iter().all(|&g| g == 235));
        assert!(v.rgb(&nv12).data.iter().all(|&c| c == 0));
        assert_eq!(v.gray(&nv12).data.len(), 8);
    }

    #[test]
    fn a_view_is_computed_once_per_frame() {
        let mut f = frame(PixelFormat::Bgr8, 8, 8, &|f| f.data.fill(9));
        let mut v = Views::default();
        for _ in 0..5 {
            v.gray(&f);
        }
        assert_eq!(v.conversions(), 1);
        f.frame_id += 1;
        v.gray(&f);
        assert_eq!(v.conversions(), 2);
    }
}
