//! Times of the next collisions from the current states, solved exactly: each ball's centre
//! follows `r(t) = r + v·t + a·t²` until its next transition, so ball–ball, ball–jaw and
//! ball–pocket contacts are roots of quartics and ball–rail contacts roots of quadratics.

use crate::motion::{BallState, MotionState};
use crate::params::Params;
use crate::roots::{contact_time, first_root};
use crate::table::{CircularCushion, LinearCushion, Pocket, Side};

const EPS: f64 = f64::EPSILON * 100.0;

/// Time until balls 1 and 2 touch, within `horizon` (the earlier of their transitions).
pub(crate) fn ball_ball(s1: &BallState, s2: &BallState, p: &Params, horizon: f64) -> f64 {
    if s1.s == MotionState::Pocketed || s2.s == MotionState::Pocketed {
        return f64::INFINITY;
    }
    if !s1.s.translating() && !s2.s.translating() {
        return f64::INFINITY;
    }
    let d = s1.r - s2.r;
    if d.norm() < 2.0 * p.r {
        return 0.0;
    }
    let a = s1.path_accel(p) - s2.path_accel(p);
    let b = s1.v - s2.v;
    contact_time([a.x, a.y], [b.x, b.y], [d.x, d.y], 2.0 * p.r, horizon)
}

/// Time until the ball touches a round jaw, within `horizon`.
pub(crate) fn ball_circular(s: &BallState, c: &CircularCushion, p: &Params, horizon: f64) -> f64 {
    if !s.s.translating() {
        return f64::INFINITY;
    }
    let a = s.path_accel(p);
    let d = s.r - c.center;
    contact_time(
        [a.x, a.y],
        [s.v.x, s.v.y],
        [d.x, d.y],
        c.radius + p.r,
        horizon,
    )
}

/// Time until the ball's centre enters a pocket circle, within `horizon`.
pub(crate) fn ball_pocket(s: &BallState, pk: &Pocket, p: &Params, horizon: f64) -> f64 {
    if !s.s.translating() {
        return f64::INFINITY;
    }
    let a = s.path_accel(p);
    let d = s.r - pk.center;
    contact_time([a.x, a.y], [s.v.x, s.v.y], [d.x, d.y], pk.radius, horizon)
}

/// Time until the ball touches a straight cushion segment (its centre R from the line, the
/// contact point between the segment's ends), within `horizon`.
pub(crate) fn ball_linear(s: &BallState, c: &LinearCushion, p: &Params, horizon: f64) -> f64 {
    if !s.s.translating() {
        return f64::INFINITY;
    }
    let a = s.path_accel(p);
    let qa = c.lx * a.x + c.ly * a.y;
    let qb = c.lx * s.v.x + c.ly * s.v.y;
    let base = c.l0 + c.lx * s.r.x + c.ly * s.r.y;
    let rn = p.r * (c.lx * c.lx + c.ly * c.ly).sqrt();
    let mut best = f64::INFINITY;
    let mut consider = |cc: f64| {
        let (lo, hi) = (EPS, horizon);
        // The line function crosses ∓R·|l|: roots of qa t² + qb t + cc.
        let mut t = lo;
        loop {
            let root = first_root(&[cc, qb, qa, 0.0, 0.0], t, hi);
            if !root.is_finite() {
                break;
            }
            let pos = s.r + s.v * root + a * (root * root);
            let ax = c.p2 - c.p1;
            let sc = -(c.p1 - pos).dot(ax) / ax.dot(ax);
            if (0.0..=1.0).contains(&sc) {
                best = best.min(root);
                break;
            }
            t = root * (1.0 + 1e-12) + 1e-15;
        }
    };
    match c.side {
        Side::Negative => consider(base + rn),
        Side::Positive => consider(base - rn),
        Side::Both => {
            consider(base + rn);
            consider(base - rn);
        }
    }
    best
}
