//! Joint angles in 3D from world coordinates.

/// The angle at `b` between `b→a` and `b→c`, in degrees (0..180); `None` when a segment has
/// no length.
pub fn angle_deg(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> Option<f64> {
    let u = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let v = [c[0] - b[0], c[1] - b[1], c[2] - b[2]];
    let nu = (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]).sqrt();
    let nv = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if nu < 1e-12 || nv < 1e-12 {
        return None;
    }
    let cos = (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) / (nu * nv);
    Some(cos.clamp(-1.0, 1.0).acos().to_degrees())
}

/// The eight joint angles: name and the BlazePose indices `(a, joint, c)`.
pub const JOINTS: [(&str, [usize; 3]); 8] = [
    ("left_knee", [23, 25, 27]),
    ("right_knee", [24, 26, 28]),
    ("left_elbow", [11, 13, 15]),
    ("right_elbow", [12, 14, 16]),
    ("left_hip", [11, 23, 25]),
    ("right_hip", [12, 24, 26]),
    ("left_shoulder", [13, 11, 23]),
    ("right_shoulder", [14, 12, 24]),
];

/// The signal name of each joint angle (`left_knee_angle`).
pub const SIGNALS: [&str; 8] = [
    "left_knee_angle",
    "right_knee_angle",
    "left_elbow_angle",
    "right_elbow_angle",
    "left_hip_angle",
    "right_hip_angle",
    "left_shoulder_angle",
    "right_shoulder_angle",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_angle_and_straight() {
        let r = angle_deg([1.0, 0.0, 0.0], [0.0; 3], [0.0, 0.0, 2.0]).unwrap();
        assert!((r - 90.0).abs() < 1e-9);
        let s = angle_deg([-1.0, 0.0, 0.0], [0.0; 3], [3.0, 0.0, 0.0]).unwrap();
        assert!((s - 180.0).abs() < 1e-9);
        assert_eq!(angle_deg([0.0; 3], [0.0; 3], [1.0, 0.0, 0.0]), None);
    }
}
