//! Radial lens distortion of the synthetic camera (the Brown–Conrady radial terms, as
//! OpenCV's `k1`, `k2`): a point `u` of the ideal (pinhole) image, taken relative to the
//! image centre and divided by half the image diagonal, appears at
//! `u · (1 + k1·|u|² + k2·|u|⁴)`. `k1 < 0` is barrel distortion (a wide lens: straight
//! rails bow outwards), `k1 > 0` pincushion.
//!
//! The renderer draws the ideal image and resamples it through a [`RemapTable`] made once
//! (for every output pixel, where it comes from in the ideal image, bilinear weights);
//! the truth's pixel positions go through [`Lens::distort`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Radial distortion coefficients (see the [module docs](self)); zero = an ideal lens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Distortion {
    /// Second-order radial coefficient (negative: barrel).
    #[schemars(range(min = -0.5, max = 0.5))]
    pub k1: f64,
    /// Fourth-order radial coefficient.
    #[schemars(range(min = -0.5, max = 0.5))]
    pub k2: f64,
}

impl Distortion {
    /// True when both coefficients are zero.
    pub fn is_none(&self) -> bool {
        self.k1 == 0.0 && self.k2 == 0.0
    }

    /// Why these coefficients cannot be used, if they cannot: out of ±0.5, or the mapping
    /// folds over (is not increasing in the radius) within the image.
    pub fn problem(&self) -> Option<String> {
        if !(self.k1.is_finite() && self.k2.is_finite())
            || self.k1.abs() > 0.5
            || self.k2.abs() > 0.5
        {
            return Some(format!(
                "distortion k1 = {}, k2 = {} outside -0.5..=0.5",
                self.k1, self.k2
            ));
        }
        // d/dr [r (1 + k1 r² + k2 r⁴)] = 1 + 3 k1 r² + 5 k2 r⁴ must stay positive up to the
        // corners (r = 1) and a little past them.
        let folds = (0..=60).any(|i| {
            let r2 = (f64::from(i) / 50.0).powi(2);
            1.0 + 3.0 * self.k1 * r2 + 5.0 * self.k2 * r2 * r2 <= 0.05
        });
        folds.then(|| {
            format!(
                "distortion k1 = {}, k2 = {} folds the image over (the radial map is not increasing)",
                self.k1, self.k2
            )
        })
    }
}

/// The distortion of a `width` × `height` camera: centre and scale of its normalised
/// coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lens {
    /// The coefficients.
    pub coeffs: Distortion,
    /// Image centre in pixels (`(w − 1) / 2`, `(h − 1) / 2`: pixel centres at integers).
    pub centre: [f64; 2],
    /// Half the image diagonal, pixels (the unit of the normalised radius).
    pub norm: f64,
}

impl Lens {
    /// The lens of a `width` × `height` camera.
    pub fn new(coeffs: Distortion, width: u32, height: u32) -> Self {
        let (w, h) = (f64::from(width), f64::from(height));
        Self {
            coeffs,
            centre: [(w - 1.0) / 2.0, (h - 1.0) / 2.0],
            norm: 0.5 * w.hypot(h),
        }
    }

    fn factor(&self, r2: f64) -> f64 {
        1.0 + self.coeffs.k1 * r2 + self.coeffs.k2 * r2 * r2
    }

    /// Where an ideal-image point appears in the distorted image (pixels).
    pub fn distort(&self, p: [f64; 2]) -> [f64; 2] {
        let u = [
            (p[0] - self.centre[0]) / self.norm,
            (p[1] - self.centre[1]) / self.norm,
        ];
        let f = self.factor(u[0] * u[0] + u[1] * u[1]);
        [
            self.centre[0] + self.norm * u[0] * f,
            self.centre[1] + self.norm * u[1] * f,
        ]
    }

    /// The ideal-image point that appears at `p` in the distorted image (Newton on the
    /// radius; exact to far below a pixel for coefficients [`Distortion::problem`] accepts).
    pub fn undistort(&self, p: [f64; 2]) -> [f64; 2] {
        let d = [
            (p[0] - self.centre[0]) / self.norm,
            (p[1] - self.centre[1]) / self.norm,
        ];
        let rd = d[0].hypot(d[1]);
        if rd == 0.0 || self.coeffs.is_none() {
            return p;
        }
        let (k1, k2) = (self.coeffs.k1, self.coeffs.k2);
        let mut r = rd;
        for _ in 0..20 {
            let r2 = r * r;
            let g = r * (1.0 + k1 * r2 + k2 * r2 * r2) - rd;
            let dg = 1.0 + 3.0 * k1 * r2 + 5.0 * k2 * r2 * r2;
            let step = g / dg;
            r -= step;
            if step.abs() < 1e-12 {
                break;
            }
        }
        let s = r / rd;
        [
            self.centre[0] + self.norm * d[0] * s,
            self.centre[1] + self.norm * d[1] * s,
        ]
    }
}

/// For every output pixel, the ideal-image pixel block it samples and the bilinear weights
/// (made once; resampling a frame then allocates nothing).
pub(crate) struct RemapTable {
    /// Index of the top-left source pixel, or `u32::MAX` outside the ideal image.
    src: Vec<u32>,
    /// Horizontal and vertical weights of the right and lower neighbours, 0..=256.
    wts: Vec<[u16; 2]>,
    width: usize,
}

impl RemapTable {
    pub(crate) fn new(lens: &Lens, width: u32, height: u32) -> Self {
        let (w, h) = (width as usize, height as usize);
        let mut src = Vec::with_capacity(w * h);
        let mut wts = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let [ux, uy] = lens.undistort([x as f64, y as f64]);
                let (fx, fy) = (ux.floor(), uy.floor());
                if fx < 0.0 || fy < 0.0 || fx >= (w - 1) as f64 || fy >= (h - 1) as f64 {
                    src.push(u32::MAX);
                    wts.push([0, 0]);
                    continue;
                }
                src.push((fy as usize * w + fx as usize) as u32);
                wts.push([
                    ((ux - fx) * 256.0).round() as u16,
                    ((uy - fy) * 256.0).round() as u16,
                ]);
            }
        }
        Self { src, wts, width: w }
    }

    /// Resamples the ideal RGB image `ideal` into `out` (same size); pixels whose source
    /// falls outside it are the ideal image's floor colour `outside`.
    pub(crate) fn apply(&self, ideal: &[u8], out: &mut [u8], outside: [u8; 3]) {
        let w = self.width;
        for (i, (&s, &[wx, wy])) in self.src.iter().zip(&self.wts).enumerate() {
            let o = &mut out[3 * i..3 * i + 3];
            if s == u32::MAX {
                o.copy_from_slice(&outside);
                continue;
            }
            let s = s as usize;
            let (wx, wy) = (u32::from(wx), u32::from(wy));
            for c in 0..3 {
                let p00 = u32::from(ideal[3 * s + c]);
                let p01 = u32::from(ideal[3 * (s + 1) + c]);
                let p10 = u32::from(ideal[3 * (s + w) + c]);
                let p11 = u32::from(ideal[3 * (s + w + 1) + c]);
                let top = p00 * (256 - wx) + p01 * wx;
                let bottom = p10 * (256 - wx) + p11 * wx;
                o[c] = ((top * (256 - wy) + bottom * wy + 32768) >> 16) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undistort_inverts_distort_and_barrel_pulls_corners_in() {
        let lens = Lens::new(
            Distortion {
                k1: -0.08,
                k2: 0.01,
            },
            1280,
            720,
        );
        for p in [[0.0, 0.0], [1279.0, 719.0], [640.0, 10.0], [300.0, 500.0]] {
            let d = lens.distort(p);
            let u = lens.undistort(d);
            assert!(
                (u[0] - p[0]).abs() < 1e-6 && (u[1] - p[1]).abs() < 1e-6,
                "{p:?} → {d:?} → {u:?}"
            );
        }
        let c = lens.distort([0.0, 0.0]);
        assert!(
            c[0] > 20.0 && c[1] > 10.0,
            "barrel moves the corner inwards: {c:?}"
        );
        let mid = lens.distort(lens.centre);
        assert_eq!(mid, lens.centre);
    }

    #[test]
    fn problems_name_the_coefficients() {
        assert!(Distortion::default().problem().is_none());
        assert!(Distortion { k1: -0.1, k2: 0.0 }.problem().is_none());
        let p = Distortion { k1: 0.7, k2: 0.0 }.problem().unwrap();
        assert!(p.contains("k1 = 0.7"), "{p}");
        let p = Distortion { k1: -0.45, k2: 0.0 }.problem().unwrap();
        assert!(p.contains("folds"), "{p}");
    }
}
