//! Affine crops with bilinear sampling: the detector's letterbox and the landmark model's
//! rotated square, written straight into a reused NHWC `f32` tensor.
//!
//! Sampling follows MediaPipe's `ImageToTensorCalculator` (OpenCV `warpAffine` /
//! `warpPerspective`, `INTER_LINEAR`): the region's corners map to the tensor's corners, tensor
//! pixel `(u, v)` reads the image at `m.apply(u, v)` taken as a pixel *index* (pixel `i` has its
//! centre at `i`), positions are rounded to 1/32 pixel, weights are exact multiples of 1/1024
//! and each value is rounded to a byte before scaling, as OpenCV does on 8-bit images. The
//! result matches MediaPipe's tensors value for value, which is what keeps our keypoints
//! within a pixel of MediaPipe's (a half-pixel shift of the sampling grid moved the detector's
//! region by tens of pixels on close-ups). Positions step in 16.16 fixed point per column
//! (no per-pixel multiply); nothing is allocated.
//!
//! Landmarks decoded in tensor pixels map back with [`Affine::apply`] (continuous, as
//! MediaPipe's `LandmarkProjectionCalculator`).

/// An affine map from tensor coordinates `(u, v)` to image coordinates `(x, y)`:
/// `x = a·u + b·v + tx`, `y = c·u + d·v + ty`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// x per u.
    pub a: f64,
    /// x per v.
    pub b: f64,
    /// y per u.
    pub c: f64,
    /// y per v.
    pub d: f64,
    /// x offset.
    pub tx: f64,
    /// y offset.
    pub ty: f64,
}

impl Affine {
    /// The image point of tensor point `(u, v)`.
    pub fn apply(&self, u: f64, v: f64) -> (f64, f64) {
        (
            self.a * u + self.b * v + self.tx,
            self.c * u + self.d * v + self.ty,
        )
    }

    /// The whole `w`×`h` image fitted into an `n`×`n` tensor, aspect kept, centred (the zero
    /// border fills the rest).
    pub fn letterbox(w: u32, h: u32, n: usize) -> Self {
        Self::letterbox_rect(0.0, 0.0, f64::from(w), f64::from(h), n)
    }

    /// The `w`×`h` rectangle with its top-left corner at `(x0, y0)` fitted into an `n`×`n`
    /// tensor, aspect kept, centred.
    pub fn letterbox_rect(x0: f64, y0: f64, w: f64, h: f64, n: usize) -> Self {
        let s = w.max(h) / n as f64;
        let n = n as f64;
        Self {
            a: s,
            b: 0.0,
            c: 0.0,
            d: s,
            tx: x0 - (n * s - w) / 2.0,
            ty: y0 - (n * s - h) / 2.0,
        }
    }

    /// A square of side `size` image pixels centred on `(cx, cy)` and rotated by `rot`
    /// radians, onto an `n`×`n` tensor.
    pub fn rotated_square(cx: f64, cy: f64, size: f64, rot: f64, n: usize) -> Self {
        let k = size / n as f64;
        let (s, c) = rot.sin_cos();
        let (a, b, cc, d) = (c * k, -s * k, s * k, c * k);
        let h = n as f64 / 2.0;
        Self {
            a,
            b,
            c: cc,
            d,
            tx: cx - (a + b) * h,
            ty: cy - (cc + d) * h,
        }
    }
}

/// What a sample outside the image reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black (the detector's letterbox, OpenCV `BORDER_CONSTANT`).
    Zero,
    /// The nearest edge pixel (MediaPipe's landmark crop, `BORDER_REPLICATE`).
    Replicate,
}

/// Fractional bits of a sample position (OpenCV `INTER_BITS`).
const SUB: i64 = 5;
/// Fractional bits of the per-column stepping.
const FIX: i64 = 16;

/// Fills `out` (`n`×`n`×3, NHWC) with `rgb` (`w`×`h` packed RGB) sampled bilinearly at
/// `m.apply(u, v)` for each tensor pixel `(u, v)` (see the module docs for the convention),
/// each byte value `b` stored as `b · scale + offset`. Allocates nothing.
#[allow(clippy::too_many_arguments)]
pub fn warp_rgb(
    rgb: &[u8],
    w: usize,
    h: usize,
    m: &Affine,
    out: &mut [f32],
    n: usize,
    scale: f32,
    offset: f32,
    border: Border,
) {
    assert_eq!(out.len(), n * n * 3, "tensor size");
    assert!(w > 0 && h > 0 && rgb.len() >= w * h * 3, "image size");
    let mut lut = [0.0f32; 256];
    for (i, l) in lut.iter_mut().enumerate() {
        *l = i as f32 * scale + offset;
    }
    let one = (1i64 << FIX) as f64;
    let (sx, sy) = ((m.a * one).round() as i64, (m.c * one).round() as i64);
    let (wi, hi) = (w as i64, h as i64);
    // Rounds a 16.16 position to 1/32 pixel.
    let half = 1i64 << (FIX - SUB - 1);
    for (v, row) in out.chunks_exact_mut(n * 3).enumerate() {
        let vf = v as f64;
        let mut xf = ((m.b * vf + m.tx) * one).round() as i64;
        let mut yf = ((m.d * vf + m.ty) * one).round() as i64;
        // A row wholly above or below the image (the letterbox's bars): zeros.
        let y_row = ((yf + half) >> (FIX - SUB)) >> SUB;
        if border == Border::Zero && sy == 0 && (y_row < -1 || y_row >= hi) {
            row.fill(lut[0]);
            continue;
        }
        for px in row.chunks_exact_mut(3) {
            let xq = (xf + half) >> (FIX - SUB);
            let yq = (yf + half) >> (FIX - SUB);
            xf += sx;
            yf += sy;
            let (x0, y0) = (xq >> SUB, yq >> SUB);
            let (ax, ay) = ((xq & 31) as u32, (yq & 31) as u32);
            let w00 = (32 - ax) * (32 - ay);
            let w01 = ax * (32 - ay);
            let w10 = (32 - ax) * ay;
            let w11 = ax * ay;
            if x0 >= 0 && y0 >= 0 && x0 + 1 < wi && y0 + 1 < hi {
                let i00 = (y0 as usize * w + x0 as usize) * 3;
                let i10 = i00 + w * 3;
                let (a, b) = (&rgb[i00..i00 + 6], &rgb[i10..i10 + 6]);
                for ch in 0..3 {
                    let s = u32::from(a[ch]) * w00
                        + u32::from(a[ch + 3]) * w01
                        + u32::from(b[ch]) * w10
                        + u32::from(b[ch + 3]) * w11;
                    px[ch] = lut[usize::from(((s + 512) >> 10) as u8)]; // ≤ 255: the weights sum to 1024.
                }
                continue;
            }
            // At or beyond an edge.
            let at = |x: i64, y: i64| -> Option<usize> {
                match border {
                    Border::Zero => (x >= 0 && y >= 0 && x < wi && y < hi)
                        .then(|| (y as usize * w + x as usize) * 3),
                    Border::Replicate => {
                        Some((y.clamp(0, hi - 1) as usize * w + x.clamp(0, wi - 1) as usize) * 3)
                    }
                }
            };
            let taps = [
                (at(x0, y0), w00),
                (at(x0 + 1, y0), w01),
                (at(x0, y0 + 1), w10),
                (at(x0 + 1, y0 + 1), w11),
            ];
            for ch in 0..3 {
                let s: u32 = taps
                    .iter()
                    .map(|&(i, wt)| i.map_or(0, |i| u32::from(rgb[i + ch]) * wt))
                    .sum();
                px[ch] = lut[usize::from(((s + 512) >> 10) as u8)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_crop_copies_pixels() {
        let (w, h) = (4, 3);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| i as u8).collect();
        let m = Affine::rotated_square(2.0, 1.5, 3.0, 0.0, 3);
        let mut out = vec![0.0; 27];
        warp_rgb(&rgb, w, h, &m, &mut out, 3, 1.0, 0.0, Border::Replicate);
        // Corner to corner: tensor pixel (1,1) reads image index (1.5, 1.0), between pixels
        // (1,1) and (2,1); the sum is rounded to a byte as OpenCV does.
        let sum = u32::from(rgb[(4 + 1) * 3]) + u32::from(rgb[(4 + 2) * 3]);
        let want = sum.div_ceil(2) as f32;
        let got = out[(3 + 1) * 3];
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        // Tensor pixel (0,0) reads index (0.5, 0.0).
        let sum = u32::from(rgb[0]) + u32::from(rgb[3]);
        assert_eq!(out[0], sum.div_ceil(2) as f32);
    }

    #[test]
    fn rotated_square_maps_corners() {
        let m = Affine::rotated_square(100.0, 50.0, 20.0, std::f64::consts::FRAC_PI_2, 10);
        let (x, y) = m.apply(5.0, 5.0);
        assert!((x - 100.0).abs() < 1e-9 && (y - 50.0).abs() < 1e-9);
        // u grows along image +y after a quarter turn.
        let (x, y) = m.apply(10.0, 5.0);
        assert!((x - 100.0).abs() < 1e-9 && (y - 60.0).abs() < 1e-9);
    }

    #[test]
    fn letterbox_zero_border() {
        let (w, h) = (4, 2);
        let rgb = vec![200u8; w * h * 3];
        let m = Affine::letterbox(w as u32, h as u32, 4);
        let mut out = vec![0.0; 48];
        warp_rgb(&rgb, w, h, &m, &mut out, 4, 1.0, -1.0, Border::Zero);
        // Row v reads image row v − 1: rows 0 and 3 are border, rows 1 and 2 the image; the
        // last column reads x = 3 (inside), no column reads past it.
        assert!(out[..12].iter().all(|&v| v == -1.0));
        assert!(out[12..36].iter().all(|&v| v == 199.0), "{out:?}");
        assert!(out[36..].iter().all(|&v| v == -1.0));
        // A half-pixel step into the black border blends half of it.
        let m = Affine {
            ty: -0.5,
            ..Affine::letterbox(w as u32, h as u32, 4)
        };
        warp_rgb(&rgb, w, h, &m, &mut out, 4, 1.0, 0.0, Border::Zero);
        assert_eq!(out[0], 100.0);
        // Replicate: the edge continues.
        warp_rgb(&rgb, w, h, &m, &mut out, 4, 1.0, 0.0, Border::Replicate);
        assert!(out.iter().all(|&v| v == 200.0));
    }
}
