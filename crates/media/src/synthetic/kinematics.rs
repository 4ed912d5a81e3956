//! Where the rider's joints are at a given frame: a fixed hip on the saddle, a pedal on the
//! crank circle, the knee from two-link inverse kinematics, hands on the bars with a slight
//! breathing motion of the shoulder.
//!
//! Geometry is laid out on a 640 × 480 reference canvas (x forward, y down, in pixel-index
//! units: pixel `(x, y)` is centred on `(x, y)`) and mapped to the frame by a uniform scale
//! with the scene centred ([`Layout`]).

use super::SyntheticRiderParams;

/// Marker names, in the order of [`RiderPose::markers`].
pub const MARKER_NAMES: [&str; 6] = ["shoulder", "elbow", "wrist", "hip", "knee", "ankle"];

/// Nominal frame rate used for timing when the source runs unpaced (`fps = 0`).
pub(crate) const NOMINAL_FPS: f64 = 30.0;

/// Reference canvas size.
pub(crate) const REF_W: f64 = 640.0;
pub(crate) const REF_H: f64 = 480.0;

/// A point on the reference canvas or in frame pixels.
pub(crate) type Pt = (f64, f64);

// Body and bike dimensions on the reference canvas (1 px ≈ 3.9 mm).
pub(crate) const THIGH: f64 = 112.0;
pub(crate) const SHANK: f64 = 110.0;
pub(crate) const CRANK: f64 = 42.0;
pub(crate) const UPPER_ARM: f64 = 85.0;
pub(crate) const FOREARM: f64 = 75.0;
pub(crate) const BOTTOM_BRACKET: Pt = (305.0, 370.0);
/// Ankle relative to the pedal spindle (a little behind and above it).
pub(crate) const ANKLE_OFFSET: Pt = (-6.0, -16.0);
pub(crate) const HIP: Pt = (248.15, 192.31);
pub(crate) const SHOULDER: Pt = (363.0, 96.0);
pub(crate) const WRIST: Pt = (462.0, 212.0);
/// Marker radius on the reference canvas.
pub(crate) const MARKER_RADIUS: f64 = 6.5;

/// The ground truth of one frame: marker centres in frame pixels and the knee angle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiderPose {
    /// The frame this pose belongs to.
    pub frame_id: u64,
    /// `(name, x, y)` of each marker centre in frame pixels, in [`MARKER_NAMES`] order.
    /// Pixel `(x, y)` is centred on `(x, y)`, so the mean of the indices of a marker's
    /// pixels is its centre.
    pub markers: [(&'static str, f64, f64); 6],
    /// Interior hip–knee–ankle angle in degrees (about 70° at the top of the stroke,
    /// 145° near the bottom).
    pub knee_angle_deg: f64,
    /// Crank angle in degrees, 0 at top dead centre, increasing as the pedal moves forward.
    pub crank_angle_deg: f64,
    /// Marker radius in frame pixels.
    pub marker_radius: f64,
}

impl RiderPose {
    /// The centre of the marker called `name`.
    pub fn marker(&self, name: &str) -> Option<(f64, f64)> {
        self.markers
            .iter()
            .find(|m| m.0 == name)
            .map(|m| (m.1, m.2))
    }
}

/// The ground-truth pose of frame `frame_id` (1-based) for `params`.
pub fn rider_pose(params: &SyntheticRiderParams, frame_id: u64) -> RiderPose {
    let layout = Layout::new(params.width, params.height);
    let s = Skeleton::at(params, frame_id);
    let pts = [s.shoulder, s.elbow, s.wrist, s.hip, s.knee, s.ankle];
    let mut markers = [("", 0.0, 0.0); 6];
    for (m, (name, p)) in markers.iter_mut().zip(MARKER_NAMES.iter().zip(pts)) {
        let (x, y) = layout.map(p);
        *m = (name, x, y);
    }
    RiderPose {
        frame_id,
        markers,
        knee_angle_deg: interior_angle_deg(s.hip, s.knee, s.ankle),
        crank_angle_deg: s.crank.to_degrees().rem_euclid(360.0),
        marker_radius: layout.marker_radius(),
    }
}

/// Maps the reference canvas onto a frame: uniform scale, centred.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) scale: f64,
    pub(crate) ox: f64,
    pub(crate) oy: f64,
}

impl Layout {
    pub(crate) fn new(width: u32, height: u32) -> Self {
        let (w, h) = (f64::from(width), f64::from(height));
        let scale = (w / REF_W).min(h / REF_H);
        Self {
            scale,
            ox: (w - REF_W * scale) / 2.0,
            oy: (h - REF_H * scale) / 2.0,
        }
    }

    /// A reference point in frame pixels.
    pub(crate) fn map(&self, p: Pt) -> Pt {
        (self.ox + p.0 * self.scale, self.oy + p.1 * self.scale)
    }

    /// A reference length in frame pixels.
    pub(crate) fn len(&self, l: f64) -> f64 {
        l * self.scale
    }

    pub(crate) fn marker_radius(&self) -> f64 {
        self.len(MARKER_RADIUS).max(2.0)
    }
}

/// Every joint of the rider on the reference canvas, near and far side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Skeleton {
    pub(crate) crank: f64,
    pub(crate) pedal: Pt,
    pub(crate) far_pedal: Pt,
    pub(crate) hip: Pt,
    pub(crate) knee: Pt,
    pub(crate) ankle: Pt,
    pub(crate) far_knee: Pt,
    pub(crate) far_ankle: Pt,
    pub(crate) shoulder: Pt,
    pub(crate) elbow: Pt,
    pub(crate) wrist: Pt,
}

impl Skeleton {
    pub(crate) fn at(params: &SyntheticRiderParams, frame_id: u64) -> Self {
        let fps = if params.fps > 0.0 {
            params.fps
        } else {
            NOMINAL_FPS
        };
        let t = frame_id.saturating_sub(1) as f64 / fps;
        let crank = std::f64::consts::TAU * params.cadence_rpm / 60.0 * t;
        let pedal_at = |a: f64| {
            (
                BOTTOM_BRACKET.0 + CRANK * a.sin(),
                BOTTOM_BRACKET.1 - CRANK * a.cos(),
            )
        };
        let pedal = pedal_at(crank);
        let far_pedal = pedal_at(crank + std::f64::consts::PI);
        let ankle = add(pedal, ANKLE_OFFSET);
        let far_ankle = add(far_pedal, ANKLE_OFFSET);
        // Knee in front of the hip–ankle line: bend towards +x.
        let knee = two_link(HIP, ankle, THIGH, SHANK, -1.0);
        let far_knee = two_link(HIP, far_ankle, THIGH, SHANK, -1.0);
        // Breathing: the shoulder rises and falls by about a pixel every ~3 s.
        let breath = 1.2 * (std::f64::consts::TAU * 0.3 * t).sin();
        let shoulder = (SHOULDER.0, SHOULDER.1 + breath);
        // Elbow bent down and back, as on the hoods.
        let elbow = two_link(shoulder, WRIST, UPPER_ARM, FOREARM, 1.0);
        Self {
            crank,
            pedal,
            far_pedal,
            hip: HIP,
            knee,
            ankle,
            far_knee,
            far_ankle,
            shoulder,
            elbow,
            wrist: WRIST,
        }
    }
}

pub(crate) fn add(a: Pt, b: Pt) -> Pt {
    (a.0 + b.0, a.1 + b.1)
}

/// The middle joint of a two-link chain from `a` to `b` with link lengths `l1`, `l2`;
/// `side` (±1) picks which side of the line `a → b` it bends to.
pub(crate) fn two_link(a: Pt, b: Pt, l1: f64, l2: f64, side: f64) -> Pt {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let d = dx.hypot(dy).clamp((l1 - l2).abs() + 1e-9, l1 + l2 - 1e-9);
    let along = (l1 * l1 - l2 * l2 + d * d) / (2.0 * d);
    let h = (l1 * l1 - along * along).max(0.0).sqrt();
    let (ux, uy) = (dx / d, dy / d);
    (
        a.0 + ux * along - side * uy * h,
        a.1 + uy * along + side * ux * h,
    )
}

/// The interior angle at `b` between `b → a` and `b → c`, in degrees.
pub(crate) fn interior_angle_deg(a: Pt, b: Pt, c: Pt) -> f64 {
    let (v1, v2) = ((a.0 - b.0, a.1 - b.1), (c.0 - b.0, c.1 - b.1));
    let cos = (v1.0 * v2.0 + v1.1 * v2.1) / (v1.0.hypot(v1.1) * v2.0.hypot(v2.1));
    cos.clamp(-1.0, 1.0).acos().to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stroke(params: &SyntheticRiderParams) -> impl Iterator<Item = RiderPose> + '_ {
        // 90 rpm at 30 fps: 20 frames per revolution; take two revolutions.
        (1..=40).map(|id| rider_pose(params, id))
    }

    #[test]
    fn knee_angle_spans_a_real_pedal_stroke() {
        let p = SyntheticRiderParams::default();
        let (lo, hi) = stroke(&p).fold((f64::MAX, f64::MIN), |(lo, hi), q| {
            (lo.min(q.knee_angle_deg), hi.max(q.knee_angle_deg))
        });
        assert!((65.0..80.0).contains(&lo), "min knee angle {lo}");
        assert!((138.0..150.0).contains(&hi), "max knee angle {hi}");
    }

    #[test]
    fn markers_stay_apart_and_inside_the_frame() {
        for (w, h) in [(640, 480), (320, 240), (1280, 720), (480, 640)] {
            let p = SyntheticRiderParams {
                width: w,
                height: h,
                ..Default::default()
            };
            for q in stroke(&p) {
                let r = q.marker_radius;
                for (i, a) in q.markers.iter().enumerate() {
                    assert!(
                        a.1 > r + 2.0 && a.1 < f64::from(w) - r - 2.0,
                        "{a:?} in {w}x{h}"
                    );
                    assert!(
                        a.2 > r + 2.0 && a.2 < f64::from(h) - r - 2.0,
                        "{a:?} in {w}x{h}"
                    );
                    for b in &q.markers[i + 1..] {
                        let d = (a.1 - b.1).hypot(a.2 - b.2);
                        assert!(d > 4.0 * r, "{} and {} only {d:.1} px apart", a.0, b.0);
                    }
                }
            }
        }
    }

    #[test]
    fn limbs_keep_their_lengths_and_the_knee_is_in_front() {
        let p = SyntheticRiderParams::default();
        for id in 1..=20 {
            let s = Skeleton::at(&p, id);
            let dist = |a: Pt, b: Pt| (a.0 - b.0).hypot(a.1 - b.1);
            assert!((dist(s.hip, s.knee) - THIGH).abs() < 1e-6);
            assert!((dist(s.knee, s.ankle) - SHANK).abs() < 1e-6);
            assert!((dist(s.shoulder, s.elbow) - UPPER_ARM).abs() < 1e-6);
            assert!(s.knee.0 > s.hip.0 && s.knee.0 > s.ankle.0 - 30.0);
        }
    }

    #[test]
    fn unpaced_uses_the_nominal_timing() {
        let paced = SyntheticRiderParams {
            fps: 30.0,
            ..Default::default()
        };
        let unpaced = SyntheticRiderParams {
            fps: 0.0,
            ..Default::default()
        };
        for id in [1, 7, 33] {
            assert_eq!(rider_pose(&paced, id), rider_pose(&unpaced, id));
        }
        assert_eq!(rider_pose(&paced, 1).crank_angle_deg, 0.0);
    }
}
