//! The rotated region a landmark model reads, and mapping its outputs back to the image.

use std::f64::consts::PI;

use super::warp::Affine;

/// A rotated square in image pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Roi {
    /// Centre x.
    pub cx: f64,
    /// Centre y.
    pub cy: f64,
    /// Side.
    pub size: f64,
    /// Rotation in radians (clockwise on screen, y down), in `[-π, π)`.
    pub rot: f64,
}

impl Roi {
    /// MediaPipe's `AlignmentPointsRectsCalculator` (target angle 90°) followed by
    /// `RectTransformationCalculator` (square, `scale`): centred on `p0`, turned so `p0 → p1`
    /// points up in the crop, side `2·|p1 − p0|·scale`.
    pub fn from_alignment(p0: (f64, f64), p1: (f64, f64), scale: f64) -> Self {
        let (dx, dy) = (p1.0 - p0.0, p1.1 - p0.1);
        Self {
            cx: p0.0,
            cy: p0.1,
            size: 2.0 * dx.hypot(dy) * scale,
            rot: normalize_angle(PI / 2.0 - (-dy).atan2(dx)),
        }
    }

    /// The map from an `n`×`n` crop of this region to the image.
    pub fn affine(&self, n: usize) -> Affine {
        Affine::rotated_square(self.cx, self.cy, self.size, self.rot, n)
    }
}

/// `a` wrapped into `[-π, π)`.
pub fn normalize_angle(a: f64) -> f64 {
    a - 2.0 * PI * ((a + PI) / (2.0 * PI)).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upright_body_has_no_rotation() {
        // Hip centre below the scale point (shoulders): upright.
        let r = Roi::from_alignment((100.0, 200.0), (100.0, 100.0), 1.25);
        assert!(r.rot.abs() < 1e-12);
        assert!((r.size - 250.0).abs() < 1e-9);
        // Lying with the head to the right: the crop turns a quarter.
        let r = Roi::from_alignment((100.0, 200.0), (200.0, 200.0), 1.0);
        assert!((r.rot - PI / 2.0).abs() < 1e-12);
        assert!((normalize_angle(3.5 * PI) + 0.5 * PI).abs() < 1e-12);
    }
}
