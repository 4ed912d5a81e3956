//! The result the ball tracker publishes and the trajectory stage reads, and the mapping
//! between the camera's table frame and the physics frame.
//!
//! Two frames, both in metres with the origin at a corner of the playing area:
//! - the **table frame** (stages, UI, synthetic camera): `x` along the long side (right in
//!   the image), `y` along the short side (down in the image); angles are `atan2(dy, dx)` in
//!   degrees;
//! - the **physics frame** (this crate, pooltool's): `x` across the short side, `y` along the
//!   long side, `phi` anticlockwise from +x seen from above.
//!
//! The map swaps the axes (`x_phys = y_table`, `y_phys = x_table`; with z flipped it is a
//! proper rotation), so the corner at the table frame's origin is pooltool's pocket `lb`.

use crate::vec3::V3;

/// One tracked ball in the table frame.
#[derive(Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TrackedBall {
    /// Stable identity: "cue", "8", "1" … "15" (by colour), or a track number.
    pub id: String,
    /// Centre x (along the long side), m.
    pub x: f64,
    /// Centre y (along the short side), m.
    pub y: f64,
    /// Velocity x, m/s.
    pub vx: f64,
    /// Velocity y, m/s.
    pub vy: f64,
    /// The tracker considers the ball at rest.
    pub at_rest: bool,
    /// Pocketed (no longer on the table).
    #[serde(default)]
    pub pocketed: bool,
}

// A clone that reuses the destination's id buffer (results are copied every frame).
impl Clone for TrackedBall {
    fn clone(&self) -> Self {
        TrackedBall {
            id: self.id.clone(),
            ..*self
        }
    }
    fn clone_from(&mut self, src: &Self) {
        self.id.clone_from(&src.id);
        self.x = src.x;
        self.y = src.y;
        self.vx = src.vx;
        self.vy = src.vy;
        self.at_rest = src.at_rest;
        self.pocketed = src.pocketed;
    }
}

/// The cue stick over the table, in the table frame.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct CueLine {
    /// Tip centre, m.
    pub tip: [f64; 2],
    /// Aim direction (butt → tip), degrees, `atan2(dy, dx)` in the table frame.
    pub angle_deg: f64,
    /// Id of the ball the cue points at, when the detector knows it.
    #[serde(default)]
    pub ball: Option<String>,
}

/// What `ball_tracking` publishes each frame (`ctx` result `"ball_tracking"`).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TrackedBalls {
    /// Balls on the table (and pocketed ones, flagged).
    pub balls: Vec<TrackedBall>,
    /// The cue, when one is over the table.
    #[serde(default)]
    pub cue: Option<CueLine>,
}

/// Table frame `(x, y)` → physics frame position (z = 0).
pub fn to_physics(x: f64, y: f64) -> V3 {
    V3::new(y, x, 0.0)
}

/// Physics frame position → table frame `(x, y)`.
pub fn from_physics(r: V3) -> [f64; 2] {
    [r.y, r.x]
}

/// Table-frame aim angle (degrees) → pooltool's `phi` (degrees, in `[0, 360)`).
pub fn aim_to_phi(angle_deg: f64) -> f64 {
    (90.0 - angle_deg).rem_euclid(360.0)
}

/// pooltool's `phi` → table-frame aim angle (degrees, in `(-180, 180]`).
pub fn phi_to_aim(phi: f64) -> f64 {
    let a = (90.0 - phi).rem_euclid(360.0);
    if a > 180.0 { a - 360.0 } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_angles_follow_the_axes() {
        let r = to_physics(1.5, 0.25);
        assert_eq!(from_physics(r), [1.5, 0.25]);
        // Aiming along the table frame's +x (long side) is pooltool's +y: phi = 90°.
        assert_eq!(aim_to_phi(0.0), 90.0);
        // Along the table frame's +y (short side) is pooltool's +x: phi = 0°.
        assert_eq!(aim_to_phi(90.0), 0.0);
        for a in [-170.0, -90.0, -1.0, 0.0, 33.0, 180.0] {
            let back = phi_to_aim(aim_to_phi(a));
            assert!(
                (back - a).abs() < 1e-9 || (a == -180.0 && back == 180.0),
                "{a} -> {back}"
            );
        }
    }
}
