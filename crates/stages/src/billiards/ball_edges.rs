//! The pixel-level parts of `ball_detection`: an RGB image sampled in ideal (undistorted)
//! coordinates, chromaticity, the half-coverage edge along a ray (wide and narrow searches),
//! the algebraic circle fit, a 3×3 solver and the 3-4 chamfer distance transform.

use super::geometry::RadialLens;

/// Chromaticity (RGB over their sum) and the sum.
pub(super) fn chroma_of(p: [f64; 3]) -> ([f64; 3], f64) {
    let s = (p[0] + p[1] + p[2]).max(1.0);
    ([p[0] / s, p[1] / s, p[2] / s], s)
}

/// L1 distance of two colours.
pub(super) fn l1(a: [f64; 3], b: [f64; 3]) -> f64 {
    (a[0] - b[0]).abs() + (a[1] - b[1]).abs() + (a[2] - b[2]).abs()
}

/// An RGB frame with the camera's lens.
pub(super) struct Img<'a> {
    pub(super) rgb: &'a [u8],
    pub(super) w: usize,
    pub(super) h: usize,
    /// The camera's lens: [`Img::sample`] takes ideal-image coordinates (balls are circles
    /// there), [`Img::at`] image pixels.
    pub(super) lens: RadialLens,
}

impl Img<'_> {
    pub(super) fn at(&self, x: usize, y: usize) -> [f64; 3] {
        let i = 3 * (y * self.w + x);
        [
            f64::from(self.rgb[i]),
            f64::from(self.rgb[i + 1]),
            f64::from(self.rgb[i + 2]),
        ]
    }

    /// Bilinear sample at a point of the ideal (undistorted) image; `None` outside.
    pub(super) fn sample(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let [x, y] = self.lens.distort([x, y]);
        if x < 0.0 || y < 0.0 || x >= (self.w - 1) as f64 || y >= (self.h - 1) as f64 {
            return None;
        }
        let (x0, y0) = (x as usize, y as usize);
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let (a, b, c, d) = (
            self.at(x0, y0),
            self.at(x0 + 1, y0),
            self.at(x0, y0 + 1),
            self.at(x0 + 1, y0 + 1),
        );
        let mut o = [0.0; 3];
        for k in 0..3 {
            o[k] =
                (a[k] * (1.0 - fx) + b[k] * fx) * (1.0 - fy) + (c[k] * (1.0 - fx) + d[k] * fx) * fy;
        }
        Some(o)
    }
}

/// Distance along the ray from `(x, y)` in direction `(dx, dy)` to the half-coverage edge.
pub(super) fn ray_edge(img: &Img<'_>, x: f64, y: f64, dx: f64, dy: f64, r: f64) -> Option<f64> {
    // Outside colour F well beyond the edge (blur widens it), inside colour B from the
    // outermost "inside" region found walking inward.
    let reach = r + 0.45 * r;
    let f = img.sample(x + reach * dx, y + reach * dy)?;
    // Walk inward from `reach` to find where the colour leaves F.
    let mut step = reach;
    let mut leave = None;
    while step > 0.3 * r {
        let p = img.sample(x + step * dx, y + step * dy)?;
        if l1(p, f) > 60.0 {
            leave = Some(step);
            break;
        }
        step -= 0.5;
    }
    let leave = leave?;
    let bpos = leave - 2.0;
    let b = img.sample(x + bpos * dx, y + bpos * dy)?;
    let bf = [b[0] - f[0], b[1] - f[1], b[2] - f[2]];
    let n2 = bf[0] * bf[0] + bf[1] * bf[1] + bf[2] * bf[2];
    if n2 < 40.0 * 40.0 {
        return None;
    }
    half_crossing(img, (x, y, dx, dy), f, b, bpos, leave + 3.0)
}

/// Distance along the ray to the half-coverage edge near `rho`: outside colour 3 px beyond,
/// inside colour 2.5 px within.
pub(super) fn ray_edge_narrow(
    img: &Img<'_>,
    x: f64,
    y: f64,
    dx: f64,
    dy: f64,
    rho: f64,
) -> Option<f64> {
    let f = img.sample(x + (rho + 2.5) * dx, y + (rho + 2.5) * dy)?;
    // Inside colour extrapolated to the rim from two samples (shading darkens the limb).
    let b1 = img.sample(x + (rho - 1.5) * dx, y + (rho - 1.5) * dy)?;
    let b2 = img.sample(x + (rho - 3.0) * dx, y + (rho - 3.0) * dy)?;
    let b = [
        b1[0] + (b1[0] - b2[0]) / 1.5,
        b1[1] + (b1[1] - b2[1]) / 1.5,
        b1[2] + (b1[2] - b2[2]) / 1.5,
    ];
    let bf = [b[0] - f[0], b[1] - f[1], b[2] - f[2]];
    if bf[0] * bf[0] + bf[1] * bf[1] + bf[2] * bf[2] < 30.0 * 30.0 {
        return None;
    }
    half_crossing(img, (x, y, dx, dy), f, b, rho - 1.5, rho + 2.5)
}

/// Walks the ray `(x, y) + s·(dx, dy)` outward in quarter pixels from `from` to `to` and
/// returns where the colour, as a fraction of the way from outside `f` to inside `b`, first
/// falls below one half (linear between samples); `None` when it does not or the ray leaves
/// the image.
fn half_crossing(
    img: &Img<'_>,
    (x, y, dx, dy): (f64, f64, f64, f64),
    f: [f64; 3],
    b: [f64; 3],
    from: f64,
    to: f64,
) -> Option<f64> {
    let bf = [b[0] - f[0], b[1] - f[1], b[2] - f[2]];
    let n2 = bf[0] * bf[0] + bf[1] * bf[1] + bf[2] * bf[2];
    let alpha = |s: f64| -> Option<f64> {
        let p = img.sample(x + s * dx, y + s * dy)?;
        Some(((p[0] - f[0]) * bf[0] + (p[1] - f[1]) * bf[1] + (p[2] - f[2]) * bf[2]) / n2)
    };
    let mut s = from;
    let mut prev = alpha(s)?;
    while s < to {
        let ns = s + 0.25;
        let a = alpha(ns)?;
        if prev >= 0.5 && a < 0.5 {
            return Some(s + 0.25 * (prev - 0.5) / (prev - a));
        }
        prev = a;
        s = ns;
    }
    None
}

/// Solves a 3×3 linear system (Cramer's rule).
pub(super) fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    if d.abs() < 1e-9 {
        return None;
    }
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut m = a;
        for i in 0..3 {
            m[i][k] = b[i];
        }
        *o = det(m) / d;
    }
    Some(out)
}

/// Algebraic circle fit, refitted without points more than 1 px off. (x, y, r).
pub(super) fn fit_circle(pts: &mut Vec<[f64; 2]>) -> Option<(f64, f64, f64)> {
    let mut res = None;
    for _ in 0..3 {
        if pts.len() < 6 {
            return None;
        }
        let n = pts.len() as f64;
        let (mx, my) = pts
            .iter()
            .fold((0.0, 0.0), |a, p| (a.0 + p[0] / n, a.1 + p[1] / n));
        let (mut suu, mut svv, mut suv, mut suuu, mut svvv, mut suvv, mut svuu) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for p in pts.iter() {
            let (u, v) = (p[0] - mx, p[1] - my);
            suu += u * u;
            svv += v * v;
            suv += u * v;
            suuu += u * u * u;
            svvv += v * v * v;
            suvv += u * v * v;
            svuu += v * u * u;
        }
        let det = suu * svv - suv * suv;
        if det.abs() < 1e-9 {
            return None;
        }
        let (b1, b2) = (0.5 * (suuu + suvv), 0.5 * (svvv + svuu));
        let uc = (b1 * svv - b2 * suv) / det;
        let vc = (suu * b2 - suv * b1) / det;
        let r = (uc * uc + vc * vc + (suu + svv) / n).sqrt();
        let (cx, cy) = (mx + uc, my + vc);
        let before = pts.len();
        pts.retain(|p| ((p[0] - cx).hypot(p[1] - cy) - r).abs() < 1.0);
        res = Some((cx, cy, r));
        if pts.len() == before {
            break;
        }
    }
    res
}

/// Two-pass 3-4 chamfer distance to the nearest zero of `mask` (out of range = 0).
pub(super) fn chamfer(mask: &[u8], dt: &mut [u16], w: usize, h: usize) {
    const BIG: u16 = u16::MAX / 2;
    for i in 0..w * h {
        dt[i] = if mask[i] != 0 { BIG } else { 0 };
    }
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if dt[i] == 0 {
                continue;
            }
            let mut v = dt[i];
            if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
                dt[i] = 3;
                continue;
            }
            v = v
                .min(dt[i - 1] + 3)
                .min(dt[i - w] + 3)
                .min(dt[i - w - 1] + 4)
                .min(dt[i - w + 1] + 4);
            dt[i] = v;
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let i = y * w + x;
            if dt[i] == 0 || x == 0 || y == 0 || x == w - 1 || y == h - 1 {
                continue;
            }
            let v = dt[i]
                .min(dt[i + 1] + 3)
                .min(dt[i + w] + 3)
                .min(dt[i + w + 1] + 4)
                .min(dt[i + w - 1] + 4);
            dt[i] = v;
        }
    }
}
