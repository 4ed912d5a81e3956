//! Shared geometry of the billiards stages: the table model in the table frame (metres,
//! `x` along the long side, `y` along the short side, origin at a playing-area corner), ball
//! labels, and plane homographies between pixels and table metres.

use framebus_billiards::tracked::from_physics;
use framebus_billiards::{Params, Table};

/// Playing area length (x), metres.
pub const TABLE_LENGTH: f64 = 1.9812;
/// Playing area width (y), metres.
pub const TABLE_WIDTH: f64 = 0.9906;
/// Cushion width from the nose to the rail, metres (the physics 7-ft table's: its pocket
/// jaws end there).
pub const CUSHION_WIDTH: f64 = 0.0508;

/// Ball radius, metres (the physics default).
pub fn ball_radius() -> f64 {
    Params::default().r
}

/// Pocket centres and radii in the table frame (those of the physics 7-ft table). Computed
/// once (building the table allocates its cushion names); per-frame callers copy them.
pub fn pockets() -> [([f64; 2], f64); 6] {
    static POCKETS: std::sync::OnceLock<[([f64; 2], f64); 6]> = std::sync::OnceLock::new();
    *POCKETS.get_or_init(|| {
        let t = Table::seven_foot();
        let mut out = [([0.0; 2], 0.0); 6];
        for (o, p) in out.iter_mut().zip(&t.pockets) {
            *o = (from_physics(p.center), p.radius);
        }
        out
    })
}

/// Ball labels by number: "cue", "1" … "15".
pub const LABELS: [&str; 16] = [
    "cue", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

/// The number of a ball label, if it is one.
pub fn label_number(label: &str) -> Option<usize> {
    LABELS.iter().position(|l| *l == label)
}

/// A plane homography (row-major 3×3).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    /// The homography taking `from[i]` to `to[i]` (four point pairs, no three collinear).
    pub fn from_points(from: &[[f64; 2]; 4], to: &[[f64; 2]; 4]) -> Option<Self> {
        // Solve the 8×8 DLT system with h33 = 1.
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let ([x, y], [u, v]) = (from[i], to[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        for col in 0..8 {
            let piv = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
            if a[piv][col].abs() < 1e-12 {
                return None;
            }
            a.swap(col, piv);
            for row in 0..8 {
                if row != col {
                    let f = a[row][col] / a[col][col];
                    let pivot = a[col];
                    for (x, p) in a[row][col..].iter_mut().zip(&pivot[col..]) {
                        *x -= f * p;
                    }
                }
            }
        }
        let mut h = [0.0; 9];
        for i in 0..8 {
            h[i] = a[i][8] / a[i][i];
        }
        h[8] = 1.0;
        Some(Self(h))
    }

    /// Maps a point.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let h = &self.0;
        let w = h[6] * p[0] + h[7] * p[1] + h[8];
        [
            (h[0] * p[0] + h[1] * p[1] + h[2]) / w,
            (h[3] * p[0] + h[4] * p[1] + h[5]) / w,
        ]
    }

    /// The inverse homography.
    pub fn inverse(&self) -> Option<Self> {
        let m = &self.0;
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
            + m[2] * (m[3] * m[7] - m[4] * m[6]);
        if det.abs() < 1e-15 {
            return None;
        }
        let inv = [
            (m[4] * m[8] - m[5] * m[7]) / det,
            (m[2] * m[7] - m[1] * m[8]) / det,
            (m[1] * m[5] - m[2] * m[4]) / det,
            (m[5] * m[6] - m[3] * m[8]) / det,
            (m[0] * m[8] - m[2] * m[6]) / det,
            (m[2] * m[3] - m[0] * m[5]) / det,
            (m[3] * m[7] - m[4] * m[6]) / det,
            (m[1] * m[6] - m[0] * m[7]) / det,
            (m[0] * m[4] - m[1] * m[3]) / det,
        ];
        Some(Self(inv))
    }
}

pub use framebus_billiards::RadialLens;

/// Why four points are not a usable calibration quadrilateral, or `None` if they are one
/// (finite, convex, not degenerate, in one turning direction).
pub fn quad_problem(c: &[[f64; 2]; 4]) -> Option<String> {
    if c.iter().flatten().any(|v| !v.is_finite()) {
        return Some("a corner coordinate is not a finite number".into());
    }
    let mut sign = 0.0f64;
    for i in 0..4 {
        let (a, b, d) = (c[i], c[(i + 1) % 4], c[(i + 2) % 4]);
        let cross = (b[0] - a[0]) * (d[1] - b[1]) - (b[1] - a[1]) * (d[0] - b[0]);
        if cross.abs() < 1e-6 {
            return Some(format!(
                "corners {}, {} and {} are collinear (or repeated)",
                i + 1,
                (i + 1) % 4 + 1,
                (i + 2) % 4 + 1
            ));
        }
        if sign == 0.0 {
            sign = cross.signum();
        } else if cross.signum() != sign {
            return Some(format!(
                "the corners are not a convex quadrilateral: the turn at corner {} goes the other way (give them in order around the table)",
                (i + 1) % 4 + 1
            ));
        }
    }
    let area = 0.5
        * (0..4)
            .map(|i| c[i][0] * c[(i + 1) % 4][1] - c[(i + 1) % 4][0] * c[i][1])
            .sum::<f64>()
            .abs();
    if area < 100.0 {
        return Some(format!("the quadrilateral is too small ({area:.1} px²)"));
    }
    None
}

/// Whether `p` lies inside the convex quadrilateral `c` (either orientation).
pub fn inside_quad(c: &[[f64; 2]; 4], p: [f64; 2]) -> bool {
    let mut sign = 0.0f64;
    for i in 0..4 {
        let (a, b) = (c[i], c[(i + 1) % 4]);
        let cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_maps_corners_and_inverts() {
        let px = [
            [100.0, 50.0],
            [1180.0, 60.0],
            [1190.0, 640.0],
            [90.0, 630.0],
        ];
        let m = [
            [0.0, 0.0],
            [TABLE_LENGTH, 0.0],
            [TABLE_LENGTH, TABLE_WIDTH],
            [0.0, TABLE_WIDTH],
        ];
        let h = Homography::from_points(&px, &m).unwrap();
        let inv = h.inverse().unwrap();
        for i in 0..4 {
            let q = h.apply(px[i]);
            assert!((q[0] - m[i][0]).abs() < 1e-9 && (q[1] - m[i][1]).abs() < 1e-9);
            let b = inv.apply(q);
            assert!((b[0] - px[i][0]).abs() < 1e-6 && (b[1] - px[i][1]).abs() < 1e-6);
        }
    }

    #[test]
    fn quad_problems_are_named() {
        let good = [[0.0, 0.0], [100.0, 0.0], [100.0, 50.0], [0.0, 50.0]];
        assert_eq!(quad_problem(&good), None);
        let bowtie = [[0.0, 0.0], [100.0, 50.0], [100.0, 0.0], [0.0, 50.0]];
        assert!(quad_problem(&bowtie).unwrap().contains("not a convex"));
        let dent = [[0.0, 0.0], [100.0, 0.0], [20.0, 10.0], [0.0, 50.0]];
        assert!(quad_problem(&dent).unwrap().contains("not a convex"));
        let line = [[0.0, 0.0], [50.0, 0.0], [100.0, 0.0], [0.0, 50.0]];
        assert!(quad_problem(&line).unwrap().contains("collinear"));
        let nan = [[f64::NAN, 0.0], [100.0, 0.0], [100.0, 50.0], [0.0, 50.0]];
        assert!(quad_problem(&nan).unwrap().contains("finite"));
        assert!(inside_quad(&good, [50.0, 25.0]));
        assert!(!inside_quad(&good, [150.0, 25.0]));
    }
}
