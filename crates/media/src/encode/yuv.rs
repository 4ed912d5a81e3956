//! Pixel conversion into a reused I420 (planar 4:2:0) buffer, the input of the H.264 encoder.
//!
//! Every frame format converts into the same [`I420`] buffer, which keeps its planes between
//! frames: converting allocates only when the picture size grows. Colours use BT.601 limited
//! range (Y 16..235), what decoders assume without other signalling. Odd widths and heights
//! are cropped by one column or row (4:2:0 needs even sizes).

use framebus_core::frame::{FrameData, PixelFormat};
use openh264::formats::YUVSource;

/// A planar 4:2:0 picture whose planes are reused from frame to frame.
#[derive(Debug, Default, Clone)]
pub struct I420 {
    width: usize,
    height: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

/// BT.601 limited-range luma of an RGB pixel (fixed point, 8 fractional bits).
#[inline]
fn luma(r: i32, g: i32, b: i32) -> u8 {
    (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
}

/// BT.601 limited-range chroma (Cb, Cr) of an RGB pixel.
#[inline]
fn chroma(r: i32, g: i32, b: i32) -> (u8, u8) {
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    (u.clamp(0, 255) as u8, v.clamp(0, 255) as u8)
}

impl I420 {
    /// An empty picture; planes grow on the first conversion.
    pub fn new() -> Self {
        Self::default()
    }

    /// Width in pixels (even).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels (even).
    pub fn height(&self) -> usize {
        self.height
    }

    /// The luma plane (`width` bytes per row).
    pub fn y_plane(&self) -> &[u8] {
        &self.y
    }

    fn reshape(&mut self, width: u32, height: u32) {
        self.width = (width & !1) as usize;
        self.height = (height & !1) as usize;
        let (w, h) = (self.width, self.height);
        self.y.resize(w * h, 0);
        self.u.resize((w / 2) * (h / 2), 0);
        self.v.resize((w / 2) * (h / 2), 0);
    }

    /// Converts `frame` into this picture (no allocation once the planes are big enough).
    pub fn convert(&mut self, frame: &FrameData) {
        self.reshape(frame.width, frame.height);
        match frame.format {
            PixelFormat::Gray8 => self.read_gray(frame),
            PixelFormat::Rgb8 => self.read_packed(frame, [0, 1, 2]),
            PixelFormat::Bgr8 => self.read_packed(frame, [2, 1, 0]),
            PixelFormat::Yuyv => self.read_yuyv(frame),
            PixelFormat::Nv12 => self.read_nv12(frame),
        }
    }

    fn read_gray(&mut self, f: &FrameData) {
        let w = self.width;
        for (y, out) in self.y.chunks_exact_mut(w.max(1)).enumerate() {
            let row = &f.data[y * f.stride..y * f.stride + w];
            for (o, &g) in out.iter_mut().zip(row) {
                *o = luma(g.into(), g.into(), g.into());
            }
        }
        self.u.fill(128);
        self.v.fill(128);
    }

    fn read_packed(&mut self, f: &FrameData, [ri, gi, bi]: [usize; 3]) {
        let (w, h) = (self.width, self.height);
        let cw = w / 2;
        for y in 0..h {
            let row = &f.data[y * f.stride..y * f.stride + w * 3];
            let out = &mut self.y[y * w..(y + 1) * w];
            for (o, px) in out.iter_mut().zip(row.chunks_exact(3)) {
                *o = luma(px[ri].into(), px[gi].into(), px[bi].into());
            }
        }
        for cy in 0..h / 2 {
            let r0 = &f.data[2 * cy * f.stride..];
            let r1 = &f.data[(2 * cy + 1) * f.stride..];
            for cx in 0..cw {
                let (mut r, mut g, mut b) = (0i32, 0i32, 0i32);
                for row in [r0, r1] {
                    for px in [&row[6 * cx..6 * cx + 3], &row[6 * cx + 3..6 * cx + 6]] {
                        r += i32::from(px[ri]);
                        g += i32::from(px[gi]);
                        b += i32::from(px[bi]);
                    }
                }
                let (u, v) = chroma((r + 2) >> 2, (g + 2) >> 2, (b + 2) >> 2);
                self.u[cy * cw + cx] = u;
                self.v[cy * cw + cx] = v;
            }
        }
    }

    fn read_yuyv(&mut self, f: &FrameData) {
        let (w, h) = (self.width, self.height);
        let cw = w / 2;
        for y in 0..h {
            let row = &f.data[y * f.stride..y * f.stride + w * 2];
            for (o, px) in self.y[y * w..(y + 1) * w]
                .iter_mut()
                .zip(row.chunks_exact(2))
            {
                *o = px[0];
            }
        }
        for cy in 0..h / 2 {
            let r0 = &f.data[2 * cy * f.stride..];
            let r1 = &f.data[(2 * cy + 1) * f.stride..];
            for cx in 0..cw {
                let i = 4 * cx;
                self.u[cy * cw + cx] =
                    (u16::from(r0[i + 1]) + u16::from(r1[i + 1])).div_ceil(2) as u8;
                self.v[cy * cw + cx] =
                    (u16::from(r0[i + 3]) + u16::from(r1[i + 3])).div_ceil(2) as u8;
            }
        }
    }

    fn read_nv12(&mut self, f: &FrameData) {
        let (w, h) = (self.width, self.height);
        let cw = w / 2;
        for y in 0..h {
            self.y[y * w..(y + 1) * w].copy_from_slice(&f.data[y * f.stride..y * f.stride + w]);
        }
        let uv = &f.data[f.stride * f.height as usize..];
        for cy in 0..h / 2 {
            let row = &uv[cy * f.stride..];
            for cx in 0..cw {
                self.u[cy * cw + cx] = row[2 * cx];
                self.v[cy * cw + cx] = row[2 * cx + 1];
            }
        }
    }
}

impl YUVSource for I420 {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }
    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }
    fn y(&self) -> &[u8] {
        &self.y
    }
    fn u(&self) -> &[u8] {
        &self.u
    }
    fn v(&self) -> &[u8] {
        &self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(format: PixelFormat, w: u32, h: u32, fill: &[u8]) -> FrameData {
        let mut f = FrameData::default();
        f.reshape(w, h, format);
        for (i, b) in f.data.iter_mut().enumerate() {
            *b = fill[i % fill.len()];
        }
        f
    }

    #[test]
    fn white_and_black_map_to_limited_range() {
        let mut p = I420::new();
        p.convert(&frame(PixelFormat::Rgb8, 4, 2, &[255]));
        assert!(p.y.iter().all(|&y| y == 235), "{:?}", p.y);
        assert!(p.u.iter().chain(&p.v).all(|&c| c == 128));
        p.convert(&frame(PixelFormat::Bgr8, 4, 2, &[0]));
        assert!(p.y.iter().all(|&y| y == 16));
    }

    #[test]
    fn red_has_high_cr_in_rgb_and_bgr() {
        let mut p = I420::new();
        p.convert(&frame(PixelFormat::Rgb8, 2, 2, &[255, 0, 0]));
        let (y, u, v) = (p.y[0], p.u[0], p.v[0]);
        assert_eq!((y, u, v), (82, 90, 240));
        p.convert(&frame(PixelFormat::Bgr8, 2, 2, &[0, 0, 255]));
        assert_eq!((p.y[0], p.u[0], p.v[0]), (82, 90, 240));
    }

    #[test]
    fn odd_sizes_are_cropped_to_even() {
        let mut p = I420::new();
        p.convert(&frame(PixelFormat::Gray8, 5, 3, &[200]));
        assert_eq!(p.dimensions(), (4, 2));
        assert_eq!(p.y.len(), 8);
        assert_eq!(p.u.len(), 2);
    }

    #[test]
    fn yuyv_and_nv12_keep_their_samples() {
        let mut p = I420::new();
        p.convert(&frame(PixelFormat::Yuyv, 4, 2, &[50, 60, 70, 80]));
        assert_eq!(p.y, vec![50, 70, 50, 70, 50, 70, 50, 70]);
        assert_eq!((p.u[0], p.v[0]), (60, 80));
        let mut f = frame(PixelFormat::Nv12, 4, 2, &[99]);
        let luma_len = 8;
        f.data[luma_len..].copy_from_slice(&[10, 20, 30, 40]);
        p.convert(&f);
        assert!(p.y.iter().all(|&y| y == 99));
        assert_eq!(
            (p.u.as_slice(), p.v.as_slice()),
            (&[10u8, 30][..], &[20u8, 40][..])
        );
    }

    #[test]
    fn converting_again_does_not_grow() {
        let mut p = I420::new();
        let f = frame(PixelFormat::Rgb8, 64, 32, &[1, 2, 3]);
        p.convert(&f);
        let caps = (p.y.capacity(), p.u.capacity(), p.v.capacity());
        p.convert(&f);
        assert_eq!(caps, (p.y.capacity(), p.u.capacity(), p.v.capacity()));
    }
}
