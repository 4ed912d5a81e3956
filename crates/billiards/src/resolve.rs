//! What happens at an event: the cue strike, ball–ball and ball–cushion impulses, pocketing.
//! Each follows the model pooltool 0.6.0 uses for it (named per function).

use crate::motion::{BallState, MotionState};
use crate::params::Params;
use crate::table::{CircularCushion, LinearCushion, Pocket};
use crate::vec3::V3;

/// Gap left between touching bodies after a collision (pooltool's `MIN_DIST`), m.
pub(crate) const MIN_DIST: f64 = 1e-6;
const EPS: f64 = f64::EPSILON * 100.0;

/// A cue strike in pooltool's conventions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cue {
    /// Index of the struck ball in the ball list.
    pub ball: usize,
    /// Cue stick speed at impact, m/s (a centre hit gives the ball ≈ 1.54·V0 with default masses).
    #[serde(rename = "V0")]
    pub v0: f64,
    /// Aim direction, degrees anticlockwise from +x.
    pub phi: f64,
    /// Cue elevation above the cloth, degrees (0 = level).
    pub theta: f64,
    /// Side english as a fraction of R; positive is left english.
    pub a: f64,
    /// Top (+) / bottom (−) spin as a fraction of R.
    pub b: f64,
}

impl Cue {
    /// Checks the strike is physically possible; names the first problem.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.v0.is_finite() && self.v0 > 0.0 && self.v0 <= 10.0) {
            return Err(format!("V0 must be within (0, 10] m/s, got {}", self.v0));
        }
        if !self.phi.is_finite() {
            return Err("phi must be a finite angle in degrees".into());
        }
        if !(self.theta.is_finite() && (0.0..=90.0).contains(&self.theta)) {
            return Err(format!(
                "theta must be within [0, 90] degrees, got {}",
                self.theta
            ));
        }
        if !(self.a.is_finite() && self.b.is_finite()) || self.a * self.a + self.b * self.b > 0.25 {
            return Err(format!(
                "english (a, b) = ({}, {}) must lie within half a radius of the centre (a² + b² ≤ 0.25; beyond that the cue miscues)",
                self.a, self.b
            ));
        }
        Ok(())
    }
}

/// Instantaneous point strike (Alciatore TP A-30) with squirt, pooltool's `InstantaneousPoint`.
pub(crate) fn cue_strike(st: &mut BallState, cue: &Cue, p: &Params) {
    let theta = cue.theta.to_radians();
    let phi = cue.phi.to_radians();
    let cue_c = (1.0 - cue.a * cue.a - cue.b * cue.b).sqrt();
    let ball_a = cue.a;
    let ball_c = theta.cos() * cue_c - theta.sin() * cue.b;
    let ball_b = theta.sin() * cue_c + theta.cos() * cue.b;
    let (a, c, b) = (p.r * ball_a, p.r * ball_c, p.r * ball_b);
    let i_m = 2.0 / 5.0 * p.r * p.r;
    let (st_, ct) = theta.sin_cos();
    let temp = a * a + (b * ct).powi(2) + (c * st_).powi(2) - 2.0 * b * c * ct * st_;
    let v = 2.0 * cue.v0 / (1.0 + p.m / p.cue_mass + temp / i_m);
    let v_b = V3::new(0.0, -v * ct, 0.0);
    let w_b = V3::new(-c * st_ + b * ct, a * st_, -a * ct) * (v / i_m);
    let rot = phi + std::f64::consts::FRAC_PI_2;
    let mut v_t = v_b.rotate_z(rot);
    let w_t = w_b.rotate_z(rot);
    // Squirt (cue ball deflection), pooltool's get_squirt_angle.
    let m_r = p.m / p.cue_end_mass;
    let aa = 1.0 - ball_a * ball_a;
    let alpha = -p.squirt_throttle * (2.5 * ball_a * aa.sqrt()).atan2(1.0 + m_r + 2.5 * aa);
    v_t = v_t.rotate_z(alpha);
    st.v = v_t;
    st.w = w_t * p.english_throttle;
    st.s = MotionState::Sliding;
}

/// Moves two balls along their velocities so they are `2R + MIN_DIST` apart (pooltool's
/// `make_kiss`), undoing the overlap or gap left by finite-precision event times.
fn make_kiss(s1: &mut BallState, s2: &mut BallState, p: &Params) {
    let spacer = MIN_DIST;
    let fallback = |s1: &mut BallState, s2: &mut BallState| {
        let d = s2.r - s1.r;
        let corr = 2.0 * p.r - d.norm() + spacer;
        let u = d.unit();
        s1.r -= u * (corr / 2.0);
        s2.r += u * (corr / 2.0);
    };
    if !s1.s.translating() && !s2.s.translating() {
        fallback(s1, s2);
        return;
    }
    let bv = s2.v - s1.v;
    let cv = s2.r - s1.r;
    let alpha = bv.dot(bv);
    let beta = 2.0 * bv.dot(cv);
    let target = 2.0 * p.r + spacer;
    let gamma = cv.dot(cv) - target * target;
    let Some(t) = smallest_abs_real_root(alpha, beta, gamma) else {
        fallback(s1, s2);
        return;
    };
    let r1 = s1.r + s1.v * t;
    let r2 = s2.r + s2.v * t;
    let mid = (s1.r + s2.r) * 0.5;
    let mid_c = (r1 + r2) * 0.5;
    if (mid - mid_c).norm() > 5.0 * spacer {
        fallback(s1, s2);
    } else {
        s1.r = r1;
        s2.r = r2;
    }
}

/// The real root of `a t² + b t + c` with the smallest magnitude (pooltool's filtered
/// `solve_complex` followed by `argmin(|t|)`).
fn smallest_abs_real_root(a: f64, b: f64, c: f64) -> Option<f64> {
    if a == 0.0 {
        if b == 0.0 {
            return None;
        }
        return Some(-c / b);
    }
    let d = b * b - 4.0 * a * c;
    if d < 0.0 {
        // Complex pair: pooltool keeps it only if nearly real (|im|/|re| < 1e-3).
        let re = -b / (2.0 * a);
        let im = (-d).sqrt() / (2.0 * a).abs();
        return if re != 0.0 && im / re.abs() < 1e-3 {
            Some(re)
        } else {
            None
        };
    }
    let sq = d.sqrt();
    let sign = if b >= 0.0 { 1.0 } else { -1.0 };
    let r1 = (-b - sign * sq) / (2.0 * a);
    let r2 = if r1.abs() < 1e-14 {
        (-b + sq) / (2.0 * a)
    } else {
        (c / a) / r1
    };
    Some(if r1.abs() <= r2.abs() { r1 } else { r2 })
}

fn surface_velocity(st: &BallState, d: V3, radius: f64) -> V3 {
    st.v + st.w.cross(d * radius)
}

/// Ball–ball collision, pooltool's `frictional_inelastic` (Alciatore TP ):
/// normal velocities exchanged with restitution `e_b`, tangential impulse from ball–ball
/// friction `u_b(v_rel)` capped at the no-slip impulse. Both balls leave sliding.
pub(crate) fn ball_ball(s1: &mut BallState, s2: &mut BallState, p: &Params) {
    make_kiss(s1, s2, p);
    // Alciatore's friction curve on the relative tangential surface speed.
    let n = (s2.r - s1.r).unit();
    let tsv = |st: &BallState, d: V3| st.v - d * st.v.dot(d) + st.w.cross(d * p.r);
    let vrel = (tsv(s1, n) - tsv(s2, -n)).norm();
    let u_b = p.u_b_a + p.u_b_b * (-p.u_b_c * vrel).exp();
    let e_b = p.e_b;
    let r = p.r;
    let ux = V3::new(1.0, 0.0, 0.0);
    let theta = (s2.r - s1.r).angle();
    let mut a = *s1;
    let mut b = *s2;
    a.v = a.v.rotate_z(-theta);
    a.w = a.w.rotate_z(-theta);
    b.v = b.v.rotate_z(-theta);
    b.w = b.w.rotate_z(-theta);
    let v1n = 0.5 * ((1.0 - e_b) * a.v.x + (1.0 + e_b) * b.v.x);
    let v2n = 0.5 * ((1.0 + e_b) * a.v.x + (1.0 - e_b) * b.v.x);
    let dvn = (v2n - v1n).abs();
    let (w1n, w2n) = (a.w.x, b.w.x);
    a.v.x = 0.0;
    b.v.x = 0.0;
    a.w.x = 0.0;
    b.w.x = 0.0;
    let mut af = a;
    let mut bf = b;
    let v12c = surface_velocity(&a, ux, r) - surface_velocity(&b, -ux, r);
    let has_rel = v12c.norm() > EPS;
    let mut slip_ok = false;
    if has_rel {
        let dv1t = -v12c.unit() * (u_b * dvn);
        let dw1 = ux.cross(dv1t) * (2.5 / r);
        af.v = a.v + dv1t;
        af.w = a.w + dw1;
        bf.v = b.v - dv1t;
        bf.w = b.w + dw1;
        let v12c_slip = surface_velocity(&af, ux, r) - surface_velocity(&bf, -ux, r);
        slip_ok = v12c.dot(v12c_slip) > 0.0;
    }
    if !slip_ok {
        let dv1t = (a.v - b.v + (a.w + b.w).cross(ux) * r) * (-1.0 / 7.0);
        let dw1 = (ux.cross(a.v - b.v) * (1.0 / r) + a.w + b.w) * (-5.0 / 14.0);
        af.v = a.v + dv1t;
        af.w = a.w + dw1;
        bf.v = b.v - dv1t;
        bf.w = b.w + dw1;
    }
    af.v.x = v1n;
    bf.v.x = v2n;
    af.w.x = w1n;
    bf.w.x = w2n;
    s1.v = af.v.rotate_z(theta);
    s1.w = af.w.rotate_z(theta);
    s2.v = bf.v.rotate_z(theta);
    s2.w = bf.w.rotate_z(theta);
    s1.v.z = 0.0;
    s2.v.z = 0.0;
    s1.s = MotionState::Sliding;
    s2.s = MotionState::Sliding;
    continually_touching(s1, s2);
}

/// pooltool's guard against endless collisions of balls moving together along their line of
/// centres: the chased ball takes 10 % of the chaser's radial speed.
fn continually_touching(s1: &mut BallState, s2: &mut BallState) {
    let (n1, n2) = (s1.v.norm(), s2.v.norm());
    if !(n1 > 0.0 && n2 > 0.0) {
        return;
    }
    let loc = (s2.r - s1.r).unit();
    let v1l = s1.v.dot(loc);
    let v2l = s2.v.dot(loc);
    let aligned = s1.v.dot(s2.v) / (n1 * n2) > 0.9;
    if (v2l - v1l).abs() < 0.01 && aligned {
        let (n1l, n2l) = if v1l > v2l {
            (v1l - v1l * 0.1, v2l + v1l * 0.1)
        } else {
            (v1l + v2l * 0.1, v2l - v2l * 0.1)
        };
        s1.v = s1.v - loc * v1l + loc * n1l;
        s2.v = s2.v - loc * v2l + loc * n2l;
    }
}

/// Han (2005) "Dynamics in carom and three cushion billiards": impulse at the cushion nose
/// (height h above the cloth), restitution `e_c`, friction `f_c`, sliding or sticking.
fn han_2005(st: &mut BallState, normal_xy: V3, h: f64, p: &Params) {
    let psi = normal_xy.angle();
    let mut v = st.v.rotate_z(-psi);
    let mut w = st.w.rotate_z(-psi);
    let (r, m, e, mu) = (p.r, p.m, p.e_c, p.f_c);
    let theta_a = (h / r - 1.0).asin();
    let (sa, ca) = theta_a.sin_cos();
    let sx = v.x * sa - v.z * ca + r * w.y;
    let sy = -v.y - r * w.z * ca + r * w.x * sa;
    let c = -v.x * ca;
    let ii = 2.0 / 5.0 * m * r * r;
    let a_ = 7.0 / 2.0 / m;
    let b_ = 1.0 / m;
    let pze = -(1.0 + e) * c / b_;
    let s0 = (sx * sx + sy * sy).sqrt();
    let pzs = s0 / a_;
    let (pxe, pye) = if pzs <= mu * pze {
        (sx / a_, sy / a_)
    } else {
        (mu * pze * sx / s0, mu * pze * sy / s0)
    };
    let px = -pxe * sa - pze * ca;
    let py = pye;
    let pz = pxe * ca - pze * sa;
    v.x += px / m;
    v.y += py / m;
    w.x += -r / ii * py * sa;
    w.y += r / ii * (px * sa - pz * ca);
    w.z += r / ii * py * ca;
    st.v = v.rotate_z(psi);
    st.w = w.rotate_z(psi);
    st.s = MotionState::Sliding;
}

/// Ball–straight-cushion collision: kiss (pooltool's linear `make_kiss`), then Han 2005.
pub(crate) fn ball_linear_cushion(st: &mut BallState, c: &LinearCushion, h: f64, p: &Params) {
    let spacer = MIN_DIST;
    let n0 = c.normal();
    let n = if n0.dot(st.v) > 0.0 { n0 } else { -n0 };
    let fallback = |st: &mut BallState| {
        let ax = c.p2 - c.p1;
        let tproj = (st.r - c.p1).dot(ax) / ax.dot(ax);
        let mut q = c.p1 + ax * tproj;
        q.z = st.r.z;
        let dir = (st.r - q).unit();
        st.r = q + dir * (p.r + spacer);
    };
    if !st.s.translating() {
        fallback(st);
    } else {
        let mut p1 = c.p1;
        p1.z = st.r.z;
        let d0 = (st.r - p1).dot(n);
        let vn = st.v.dot(n);
        let t1 = (p.r + spacer - d0) / vn;
        let t2 = (-(p.r + spacer) - d0) / vn;
        let t = if t1.abs() < t2.abs() { t1 } else { t2 };
        if (st.v * t).norm() > 5.0 * spacer {
            fallback(st);
        } else {
            st.r += st.v * t;
        }
    }
    han_2005(st, n, h, p);
}

/// Ball–round-cushion (jaw) collision: kiss (pooltool's circular `make_kiss`), then Han 2005
/// with the radial normal.
pub(crate) fn ball_circular_cushion(st: &mut BallState, c: &CircularCushion, h: f64, p: &Params) {
    let spacer = MIN_DIST;
    let center = V3::new(c.center.x, c.center.y, st.r.z);
    let target = p.r + c.radius + spacer;
    let fallback = |st: &mut BallState| {
        let dir = (st.r - center).unit();
        st.r = center + dir * target;
    };
    if !st.s.translating() {
        fallback(st);
    } else {
        let diff = st.r - center;
        let alpha = st.v.x * st.v.x + st.v.y * st.v.y;
        let beta = 2.0 * (diff.x * st.v.x + diff.y * st.v.y);
        let gamma = diff.x * diff.x + diff.y * diff.y - target * target;
        match smallest_abs_real_root(alpha, beta, gamma) {
            Some(t) if (st.v * t).norm() <= 5.0 * spacer => st.r += st.v * t,
            _ => fallback(st),
        }
    }
    let mut n = st.r - c.center;
    n.z = 0.0;
    let n = n.unit();
    let n = if n.dot(st.v) > 0.0 { n } else { -n };
    han_2005(st, n, h, p);
}

/// The ball drops into the pocket: moved to its centre, below the cloth, at rest.
pub(crate) fn ball_pocket(st: &mut BallState, pk: &Pocket) {
    st.r = V3::new(pk.center.x, pk.center.y, -pk.depth);
    st.v = V3::ZERO;
    st.w = V3::ZERO;
    st.s = MotionState::Pocketed;
}
