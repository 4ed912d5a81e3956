//! Radial lens distortion, shared by the synthetic table camera (`framebus-media`, which
//! distorts what it draws) and the billiards vision stages (`framebus-stages`, which undo it
//! before fitting the table and the balls).

use serde::Serialize;

/// Radial lens distortion (Brown–Conrady `k1`, `k2`, as OpenCV's and `synthetic_table`'s
/// `distortion`): a point `u` of the ideal image, relative to the image centre in units of
/// half the image diagonal, appears at `u · (1 + k1·|u|² + k2·|u|⁴)`. Zero: an ideal lens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RadialLens {
    /// Second-order coefficient (negative: barrel).
    pub k1: f64,
    /// Fourth-order coefficient.
    pub k2: f64,
    /// Image centre, pixels.
    pub centre: [f64; 2],
    /// Half the image diagonal, pixels.
    pub norm: f64,
}

impl RadialLens {
    /// The lens of a `width` × `height` image.
    pub fn new(k1: f64, k2: f64, width: u32, height: u32) -> Self {
        let (w, h) = (f64::from(width), f64::from(height));
        Self {
            k1,
            k2,
            centre: [(w - 1.0) / 2.0, (h - 1.0) / 2.0],
            norm: 0.5 * w.hypot(h),
        }
    }

    /// Why `k1`, `k2` are not usable, if they are not: outside ±0.5, or the radial map folds
    /// over (stops increasing) within the image.
    pub fn problem(k1: f64, k2: f64) -> Option<String> {
        if !(k1.is_finite() && k2.is_finite()) || k1.abs() > 0.5 || k2.abs() > 0.5 {
            return Some(format!("k1 = {k1}, k2 = {k2} outside -0.5..=0.5"));
        }
        let folds = (0..=60).any(|i| {
            let r2 = (f64::from(i) / 50.0).powi(2);
            1.0 + 3.0 * k1 * r2 + 5.0 * k2 * r2 * r2 <= 0.05
        });
        folds.then(|| {
            format!("k1 = {k1}, k2 = {k2} folds the image over (the radial map is not increasing)")
        })
    }

    fn is_ideal(&self) -> bool {
        self.k1 == 0.0 && self.k2 == 0.0
    }

    /// Where an ideal-image point appears in the image.
    pub fn distort(&self, p: [f64; 2]) -> [f64; 2] {
        if self.is_ideal() {
            return p;
        }
        let u = [
            (p[0] - self.centre[0]) / self.norm,
            (p[1] - self.centre[1]) / self.norm,
        ];
        let r2 = u[0] * u[0] + u[1] * u[1];
        let f = 1.0 + self.k1 * r2 + self.k2 * r2 * r2;
        [
            self.centre[0] + self.norm * u[0] * f,
            self.centre[1] + self.norm * u[1] * f,
        ]
    }

    /// The ideal-image point seen at `p` (Newton on the radius).
    pub fn undistort(&self, p: [f64; 2]) -> [f64; 2] {
        if self.is_ideal() {
            return p;
        }
        let d = [
            (p[0] - self.centre[0]) / self.norm,
            (p[1] - self.centre[1]) / self.norm,
        ];
        let rd = d[0].hypot(d[1]);
        if rd == 0.0 {
            return p;
        }
        let mut r = rd;
        for _ in 0..20 {
            let r2 = r * r;
            let g = r * (1.0 + self.k1 * r2 + self.k2 * r2 * r2) - rd;
            let step = g / (1.0 + 3.0 * self.k1 * r2 + 5.0 * self.k2 * r2 * r2);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lens_undistort_inverts_distort() {
        let lens = RadialLens::new(-0.06, 0.01, 960, 540);
        for p in [[0.0, 0.0], [959.0, 539.0], [480.0, 3.0], [100.0, 400.0]] {
            let u = lens.undistort(lens.distort(p));
            assert!((u[0] - p[0]).abs() < 1e-6 && (u[1] - p[1]).abs() < 1e-6);
        }
        assert!(RadialLens::problem(-0.06, 0.0).is_none());
        assert!(RadialLens::problem(0.6, 0.0).unwrap().contains("k1 = 0.6"));
        assert!(RadialLens::problem(-0.45, 0.0).unwrap().contains("fold"));
    }
}
