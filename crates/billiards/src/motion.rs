//! Analytic ball motion between events: the sliding, rolling and spinning equations of
//! Leckie & Greenspan (2006) / Alciatore as written in pooltool's `physics.evolve`.

use crate::params::Params;
use crate::vec3::V3;

/// A ball's motion state; between events every ball is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MotionState {
    /// At rest.
    Stationary,
    /// Not translating, turning about the vertical axis only.
    Spinning,
    /// The contact point slips on the cloth (after a strike or a collision).
    Sliding,
    /// Rolling without slipping.
    Rolling,
    /// In a pocket.
    Pocketed,
}

impl MotionState {
    /// Whether the ball's centre moves in this state.
    pub fn translating(self) -> bool {
        matches!(self, MotionState::Sliding | MotionState::Rolling)
    }
}

/// Position, velocity and angular velocity of a ball with its motion state.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BallState {
    /// Centre position, m (z = R on the table).
    pub r: V3,
    /// Velocity, m/s.
    pub v: V3,
    /// Angular velocity, rad/s.
    pub w: V3,
    /// Motion state.
    pub s: MotionState,
}

impl BallState {
    /// A ball at rest at `(x, y)` on the cloth.
    pub fn at_rest(x: f64, y: f64, p: &Params) -> BallState {
        BallState {
            r: V3::new(x, y, p.r),
            v: V3::ZERO,
            w: V3::ZERO,
            s: MotionState::Stationary,
        }
    }

    /// Velocity of the contact point with the cloth relative to the cloth (non-zero iff sliding).
    pub fn rel_velocity(&self, radius: f64) -> V3 {
        self.v + self.w.cross(V3::new(0.0, 0.0, -radius))
    }

    /// Kinetic energy (linear plus rotational), J.
    pub fn energy(&self, p: &Params) -> f64 {
        let lin = p.m * self.v.dot(self.v) / 2.0;
        let rot = (2.0 / 5.0 * p.m * p.r * p.r) * self.w.dot(self.w) / 2.0;
        lin + rot
    }

    /// The acceleration term `a` of the centre's path `r(t) = r + v·t + a·t²` in the current state
    /// (zero when not translating).
    pub fn path_accel(&self, p: &Params) -> V3 {
        match self.s {
            MotionState::Sliding => {
                let rel = self.rel_velocity(p.r);
                let u = if rel.is_zero() {
                    unit_or_x(self.v)
                } else {
                    rel.unit()
                };
                u * (-0.5 * p.u_s * p.g)
            }
            MotionState::Rolling => unit_or_x(self.v) * (-0.5 * p.u_r * p.g),
            _ => V3::ZERO,
        }
    }

    /// Time until the current state ends by itself (slide → roll, roll → spin/rest,
    /// spin → rest); infinite at rest or in a pocket.
    pub fn transition_time(&self, p: &Params) -> f64 {
        match self.s {
            MotionState::Sliding => slide_time(self, p),
            MotionState::Rolling => roll_time(self, p),
            MotionState::Spinning => spin_time(self, p),
            _ => f64::INFINITY,
        }
    }

    /// The state this one changes to when its transition time is reached.
    pub fn next_state(&self, p: &Params) -> MotionState {
        match self.s {
            MotionState::Sliding => MotionState::Rolling,
            MotionState::Rolling => {
                if spin_time(self, p) > roll_time(self, p) {
                    MotionState::Spinning
                } else {
                    MotionState::Stationary
                }
            }
            MotionState::Spinning => MotionState::Stationary,
            s => s,
        }
    }
}

fn unit_or_x(v: V3) -> V3 {
    if v.is_zero() {
        V3::new(1.0, 0.0, 0.0)
    } else {
        v.unit()
    }
}

/// Sliding duration: `2|u|/(7 u_s g)` with `u` the contact point's slip velocity.
pub fn slide_time(st: &BallState, p: &Params) -> f64 {
    2.0 * st.rel_velocity(p.r).norm() / (7.0 * p.u_s * p.g)
}

/// Rolling duration: `|v|/(u_r g)`.
pub fn roll_time(st: &BallState, p: &Params) -> f64 {
    st.v.norm() / (p.u_r * p.g)
}

/// Spinning duration: `|w_z|·2R/(5 u_sp g)`.
pub fn spin_time(st: &BallState, p: &Params) -> f64 {
    st.w.z.abs() * 2.0 / 5.0 * p.r / p.u_sp() / p.g
}

fn evolve_wz(wz: f64, p: &Params, t: f64) -> f64 {
    if t == 0.0 || wz.abs() < f64::EPSILON * 100.0 {
        return wz;
    }
    let alpha = 5.0 * p.u_sp() * p.g / (2.0 * p.r);
    let t = t.min(wz.abs() / alpha);
    wz - wz.signum() * alpha * t
}

fn evolve_slide(st: &BallState, p: &Params, t: f64) -> BallState {
    if t == 0.0 {
        return *st;
    }
    let phi = st.v.angle();
    let v_b = st.v.rotate_z(-phi);
    let w_b = st.w.rotate_z(-phi);
    let u0 = st.rel_velocity(p.r).unit().rotate_z(-phi);
    let k = p.u_s * p.g;
    let r_b = V3::new(
        v_b.x * t - 0.5 * k * t * t * u0.x,
        -0.5 * k * t * t * u0.y,
        0.0,
    );
    let v_new = v_b - u0 * (k * t);
    let mut w_new = w_b - u0.cross(V3::new(0.0, 0.0, 1.0)) * (2.5 / p.r * k * t);
    w_new.z = evolve_wz(w_b.z, p, t);
    BallState {
        r: r_b.rotate_z(phi) + st.r,
        v: v_new.rotate_z(phi),
        w: w_new.rotate_z(phi),
        s: st.s,
    }
}

fn evolve_roll(st: &BallState, p: &Params, t: f64) -> BallState {
    if t == 0.0 {
        return *st;
    }
    let vh = st.v.unit();
    let k = p.u_r * p.g;
    let r = st.r + st.v * t - vh * (0.5 * k * t * t);
    let v = st.v - vh * (k * t);
    let mut w = (v * (1.0 / p.r)).rotate_z(std::f64::consts::FRAC_PI_2);
    w.z = evolve_wz(st.w.z, p, t);
    BallState { r, v, w, s: st.s }
}

/// The state `t` seconds later, crossing slide → roll → spin → rest as they come (pooltool's
/// `evolve_ball_motion`). The returned state's `s` is the state reached.
pub fn evolve(st: &BallState, p: &Params, mut t: f64) -> BallState {
    let mut cur = *st;
    if cur.s == MotionState::Sliding {
        let ts = slide_time(&cur, p);
        if t >= ts {
            cur = evolve_slide(&cur, p, ts);
            cur.s = MotionState::Rolling;
            t -= ts;
        } else {
            return evolve_slide(&cur, p, t);
        }
    }
    if cur.s == MotionState::Rolling {
        let tr = roll_time(&cur, p);
        if t >= tr {
            cur = evolve_roll(&cur, p, tr);
            cur.s = MotionState::Spinning;
            t -= tr;
        } else {
            return evolve_roll(&cur, p, t);
        }
    }
    if cur.s == MotionState::Spinning {
        let tsp = spin_time(&cur, p);
        if t >= tsp {
            cur.w.z = evolve_wz(cur.w.z, p, tsp);
            cur.s = MotionState::Stationary;
            cur.v = V3::ZERO;
            cur.w = V3::ZERO;
        } else {
            cur.w.z = evolve_wz(cur.w.z, p, t);
        }
    }
    cur
}

/// Evolves without ever changing the motion state (the engine's step between two events,
/// which never crosses a transition: transitions are events).
pub(crate) fn evolve_in_state(st: &BallState, p: &Params, t: f64) -> BallState {
    match st.s {
        MotionState::Sliding => evolve_slide(st, p, t),
        MotionState::Rolling => evolve_roll(st, p, t),
        MotionState::Spinning => {
            let mut c = *st;
            c.w.z = evolve_wz(c.w.z, p, t);
            c
        }
        _ => *st,
    }
}

/// Applies a transition that has been reached: velocity and spin components that the new
/// state cannot have are set to exactly zero (pooltool's canonical transition).
pub(crate) fn apply_transition(st: &mut BallState, to: MotionState) {
    st.s = to;
    match to {
        MotionState::Spinning => {
            st.v = V3::ZERO;
            st.w.x = 0.0;
            st.w.y = 0.0;
        }
        MotionState::Stationary => {
            st.v = V3::ZERO;
            st.w = V3::ZERO;
        }
        _ => {}
    }
}
