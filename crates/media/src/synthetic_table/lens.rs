//! Radial lens distortion of the synthetic camera (the Brown–Conrady radial terms, as
//! OpenCV's `k1`, `k2`): a point `u` of the ideal (pinhole) image, taken relative to the
//! image centre and divided by half the image diagonal, appears at
//! `u · (1 + k1·|u|² + k2·|u|⁴)`. `k1 < 0` is barrel distortion (a wide lens: straight
//! rails bow outwards), `k1 > 0` pincushion.
//!
//! The renderer draws the ideal image and resamples it through a [`RemapTable`] made once
//! (for every output pixel, where it comes from in the ideal image, bilinear weights);
//! the truth's pixel positions go through [`RadialLens::distort`] (the model itself is
//! `framebus_billiards::lens`, shared with the vision stages).

use framebus_billiards::RadialLens;
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
        RadialLens::problem(self.k1, self.k2).map(|p| format!("distortion {p}"))
    }

    /// The lens of a `width` × `height` camera with these coefficients.
    pub fn lens(&self, width: u32, height: u32) -> RadialLens {
        RadialLens::new(self.k1, self.k2, width, height)
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
    pub(crate) fn new(lens: &RadialLens, width: u32, height: u32) -> Self {
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
        let lens = Distortion {
            k1: -0.08,
            k2: 0.01,
        }
        .lens(1280, 720);
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
