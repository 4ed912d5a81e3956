//! Affine crops with bilinear sampling: the detector's letterbox and the landmark model's
//! rotated square, written straight into a reused NHWC `f32` tensor.
//!
//! Coordinates are continuous: pixel `i` covers `[i, i+1)` and its centre is `i + 0.5`, in the
//! image and in the tensor alike, so a point maps the same way in both directions.

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
        let s = f64::from(w.max(h)) / n as f64;
        let n = n as f64;
        Self {
            a: s,
            b: 0.0,
            c: 0.0,
            d: s,
            tx: -(n * s - f64::from(w)) / 2.0,
            ty: -(n * s - f64::from(h)) / 2.0,
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
    /// Black (the detector's letterbox).
    Zero,
    /// The nearest edge pixel (MediaPipe's landmark crop).
    Replicate,
}

/// Fills `out` (`n`×`n`×3, NHWC) with `rgb` (`w`×`h` packed RGB) sampled bilinearly at the
/// image points of the tensor pixel centres under `m`, each value mapped to
/// `value · scale + offset`. When one tensor pixel spans more than 1.5 image pixels and
/// `max_ss > 1`, each is the mean of `k`×`k` bilinear samples spread over it (`k` = the span,
/// rounded up, at most `max_ss`), so shrinking does not alias. Allocates nothing.
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
    max_ss: usize,
) {
    let span = m.a.hypot(m.c).max(m.b.hypot(m.d));
    let k = if span > 1.5 {
        (span.ceil() as usize).min(max_ss.max(1))
    } else {
        1
    };
    if k == 1 {
        warp_once(rgb, w, h, m, out, n, scale, offset, border, 0.5, 0.5, false);
        return;
    }
    let inv = 1.0 / (k * k) as f32;
    for sy in 0..k {
        for sx in 0..k {
            let (du, dv) = ((sx as f64 + 0.5) / k as f64, (sy as f64 + 0.5) / k as f64);
            let first = sx == 0 && sy == 0;
            warp_once(
                rgb,
                w,
                h,
                m,
                out,
                n,
                scale * inv,
                offset * inv,
                border,
                du,
                dv,
                !first,
            );
        }
    }
}

/// One bilinear sample per tensor pixel at `(u + du, v + dv)`; adds to `out` when `add`.
#[allow(clippy::too_many_arguments)]
fn warp_once(
    rgb: &[u8],
    w: usize,
    h: usize,
    m: &Affine,
    out: &mut [f32],
    n: usize,
    scale: f32,
    offset: f32,
    border: Border,
    du: f64,
    dv: f64,
    add: bool,
) {
    debug_assert_eq!(out.len(), n * n * 3);
    debug_assert!(rgb.len() >= w * h * 3);
    let (wf, hf) = (w as f64, h as f64);
    for v in 0..n {
        let vc = v as f64 + dv;
        // Image point of (du, vc), stepping by (a, c) per tensor column; -0.5 to pixel index.
        let mut x = m.a * du + m.b * vc + m.tx - 0.5;
        let mut y = m.c * du + m.d * vc + m.ty - 0.5;
        let row = &mut out[v * n * 3..(v + 1) * n * 3];
        for px in row.chunks_exact_mut(3) {
            let inside = x > -1.0 && y > -1.0 && x < wf && y < hf;
            if !inside && border == Border::Zero {
                if add {
                    px.iter_mut().for_each(|p| *p += offset);
                } else {
                    px.fill(offset);
                }
            } else {
                let xc = x.clamp(0.0, wf - 1.0);
                let yc = y.clamp(0.0, hf - 1.0);
                let (x0, y0) = (xc.floor() as usize, yc.floor() as usize);
                let (fx, fy) = ((xc - x0 as f64) as f32, (yc - y0 as f64) as f32);
                let x1 = (x0 + 1).min(w - 1);
                let y1 = (y0 + 1).min(h - 1);
                let (mut wx0, mut wx1, mut wy0, mut wy1) = (1.0 - fx, fx, 1.0 - fy, fy);
                if border == Border::Zero {
                    // Partly outside: the missing neighbours are black.
                    if x < 0.0 {
                        (wx0, wx1) = (0.0, 1.0 + x as f32);
                    } else if x > wf - 1.0 {
                        (wx0, wx1) = ((wf - x) as f32, 0.0);
                    }
                    if y < 0.0 {
                        (wy0, wy1) = (0.0, 1.0 + y as f32);
                    } else if y > hf - 1.0 {
                        (wy0, wy1) = ((hf - y) as f32, 0.0);
                    }
                }
                let i00 = (y0 * w + x0) * 3;
                let i01 = (y0 * w + x1) * 3;
                let i10 = (y1 * w + x0) * 3;
                let i11 = (y1 * w + x1) * 3;
                for ch in 0..3 {
                    let top = f32::from(rgb[i00 + ch]) * wx0 + f32::from(rgb[i01 + ch]) * wx1;
                    let bot = f32::from(rgb[i10 + ch]) * wx0 + f32::from(rgb[i11 + ch]) * wx1;
                    let val = (top * wy0 + bot * wy1) * scale + offset;
                    if add {
                        px[ch] += val;
                    } else {
                        px[ch] = val;
                    }
                }
            }
            x += m.a;
            y += m.c;
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
        warp_rgb(&rgb, w, h, &m, &mut out, 3, 1.0, 0.0, Border::Replicate, 1);
        // Tensor pixel (1,1) has centre (1.5,1.5) → image (2.0,1.5) → between pixels (1,1), (2,1).
        let want = (f32::from(rgb[(4 + 1) * 3]) + f32::from(rgb[(4 + 2) * 3])) / 2.0;
        let got = out[(3 + 1) * 3];
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
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
        warp_rgb(&rgb, w, h, &m, &mut out, 4, 1.0, -1.0, Border::Zero, 1);
        // Rows 0 and 3 are border, rows 1 and 2 the image.
        assert!(out[..12].iter().all(|&v| v == -1.0));
        assert!(out[12..36].iter().all(|&v| (v - 199.0).abs() < 1e-3));
        assert!(out[36..].iter().all(|&v| v == -1.0));
    }
}
