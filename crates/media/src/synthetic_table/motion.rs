//! How the balls move: each shot is simulated once by the event-based engine of
//! `framebus-billiards` (sliding, rolling, spinning, ball–ball, Han 2005 cushions, pockets),
//! then sampled at the times the camera asks for. Orientation is integrated from the angular
//! velocity the engine gives, so stripes and number spots turn as balls roll, skid and spin.

use framebus_billiards::tracked::{aim_to_phi, from_physics, to_physics};
use framebus_billiards::{
    Agent, Ball, Cue, EventKind as PhysEvent, MotionState, Params, Simulator, Table,
};

use super::table::BALLS;
use super::truth::{EventKind, EventLog};

/// Largest step of the orientation integration, seconds.
const ROT_STEP: f64 = 0.001;

/// The state of one ball as drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BallState {
    /// Centre, table metres.
    pub(crate) pos: [f64; 2],
    /// Velocity, m/s (table frame).
    pub(crate) vel: [f64; 2],
    /// Orientation: body → world rotation, row-major (world x right, y down, z into table).
    pub(crate) rot: [[f64; 3]; 3],
    /// Still on the table (not pocketed).
    pub(crate) on_table: bool,
}

impl Default for BallState {
    fn default() -> Self {
        Self {
            pos: [0.0; 2],
            vel: [0.0; 2],
            rot: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            on_table: true,
        }
    }
}

/// A cue strike in the table frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Strike {
    /// Cue stick speed, m/s.
    pub(crate) v0: f64,
    /// Aim, degrees, `atan2(dy, dx)` in the table frame.
    pub(crate) angle_deg: f64,
    /// Cue elevation, degrees.
    pub(crate) theta: f64,
    /// Side english, fraction of R.
    pub(crate) a: f64,
    /// Top/bottom spin, fraction of R.
    pub(crate) b: f64,
}

/// Sixteen balls, the shot in progress and the time they were last advanced to.
pub(crate) struct Motion {
    pub(crate) balls: [BallState; BALLS],
    sim: Simulator,
    params: Params,
    /// Scratch for the simulator's input.
    input: Vec<Ball>,
    /// Ball number of each simulated ball.
    numbers: Vec<usize>,
    /// Shot in progress: strike time and index of the next event to log.
    shot: Option<(f64, usize)>,
    t: f64,
}

impl Motion {
    /// Balls at the origin, at rest, at time `t` (place them before the first shot).
    pub(crate) fn new(t: f64) -> Self {
        let ids = [
            "cue", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
        ];
        let params = Params::default();
        Self {
            balls: [BallState::default(); BALLS],
            sim: Simulator::new(Table::seven_foot(), params),
            input: ids
                .iter()
                .map(|id| Ball::at_rest(id, 0.0, 0.0, &params))
                .collect(),
            numbers: Vec::with_capacity(BALLS),
            params,
            shot: None,
            t,
        }
    }

    /// Strikes the cue ball at time `t`.
    pub(crate) fn strike(&mut self, t: f64, s: Strike) {
        self.t = t;
        self.input.clear();
        self.numbers.clear();
        let ids = [
            "cue", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
        ];
        for (n, b) in self.balls.iter().enumerate().filter(|(_, b)| b.on_table) {
            let r = to_physics(b.pos[0], b.pos[1]);
            self.input
                .push(Ball::at_rest(ids[n], r.x, r.y, &self.params));
            self.numbers.push(n);
        }
        let Some(cue_index) = self.numbers.iter().position(|&n| n == 0) else {
            return;
        };
        let cue = Cue {
            ball: cue_index,
            v0: s.v0,
            phi: aim_to_phi(s.angle_deg),
            theta: s.theta,
            a: s.a,
            b: s.b,
        };
        self.sim.run(&self.input, Some(&cue));
        self.shot = Some((t, 0));
    }

    /// Advances to time `t`, logging events. Returns the time the last ball stopped if
    /// that happened during this call.
    pub(crate) fn advance_to(&mut self, t: f64, log: &mut EventLog) -> Option<f64> {
        let Some((t0, mut next_event)) = self.shot else {
            self.t = self.t.max(t);
            return None;
        };
        let sim = self.sim.result();
        let end = t0 + sim.duration();
        let target = t.min(end);
        // Integrate orientations in small steps up to `target`.
        while self.t < target {
            let step = (target - self.t).min(ROT_STEP);
            let tm = self.t + 0.5 * step - t0;
            for (k, &n) in self.numbers.iter().enumerate() {
                let st = sim.state_at(k, tm.max(0.0), &self.params);
                let w = [st.w.y, st.w.x, -st.w.z];
                rotate(&mut self.balls[n].rot, w, step);
            }
            self.t += step;
        }
        // States and events are taken at the same simulation time: `(t0 + d) − t0` can fall
        // an ulp short of `d`, and a pocket that is a shot's last event was once logged while
        // the ball stayed drawn on the pocket's lip (and played on in the next shots).
        let ts = (target - t0).max(0.0);
        for (k, &n) in self.numbers.iter().enumerate() {
            let st = sim.state_at(k, ts, &self.params);
            let b = &mut self.balls[n];
            b.pos = from_physics(st.r);
            b.vel = [st.v.y, st.v.x];
            b.on_table = st.s != MotionState::Pocketed;
        }
        while let Some(e) = sim.events.get(next_event) {
            if e.t > ts {
                break;
            }
            let te = t0 + e.t;
            let a = self.numbers[e.ball] as u8;
            match (e.kind, e.other) {
                (PhysEvent::BallBall, Agent::Ball(j)) => {
                    log.push(te, EventKind::BallCollision, a, self.numbers[j] as u8);
                }
                (PhysEvent::BallLinearCushion, Agent::Linear(j))
                | (PhysEvent::BallCircularCushion, Agent::Circular(j)) => {
                    log.push(te, EventKind::Cushion, a, j as u8);
                }
                (PhysEvent::BallPocket, Agent::Pocket(j)) => {
                    log.push(te, EventKind::Pocketed, a, j as u8);
                    if a == 0 {
                        log.push(te, EventKind::Scratch, 0, j as u8);
                    }
                }
                _ => {}
            }
            next_event += 1;
        }
        if t >= end {
            for b in &mut self.balls {
                b.vel = [0.0; 2];
            }
            self.shot = None;
            self.t = t;
            return Some(end);
        }
        self.shot = Some((t0, next_event));
        self.t = t;
        None
    }
}

/// Rotates `rot` (body → world) by angular velocity `w` over `dt` (Rodrigues), then
/// re-orthonormalises it.
pub(crate) fn rotate(rot: &mut [[f64; 3]; 3], w: [f64; 3], dt: f64) {
    let speed = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt();
    let angle = speed * dt;
    if angle == 0.0 {
        return;
    }
    let k = [w[0] / speed, w[1] / speed, w[2] / speed];
    let (s, c) = angle.sin_cos();
    let v = 1.0 - c;
    let r = [
        [
            c + k[0] * k[0] * v,
            k[0] * k[1] * v - k[2] * s,
            k[0] * k[2] * v + k[1] * s,
        ],
        [
            k[1] * k[0] * v + k[2] * s,
            c + k[1] * k[1] * v,
            k[1] * k[2] * v - k[0] * s,
        ],
        [
            k[2] * k[0] * v - k[1] * s,
            k[2] * k[1] * v + k[0] * s,
            c + k[2] * k[2] * v,
        ],
    ];
    let old = *rot;
    for i in 0..3 {
        for j in 0..3 {
            rot[i][j] = (0..3).map(|m| r[i][m] * old[m][j]).sum();
        }
    }
    orthonormalise(rot);
}

fn orthonormalise(m: &mut [[f64; 3]; 3]) {
    // Columns are the body axes in world coordinates.
    let col = |m: &[[f64; 3]; 3], j: usize| [m[0][j], m[1][j], m[2][j]];
    let norm = |v: [f64; 3]| {
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        [v[0] / n, v[1] / n, v[2] / n]
    };
    let x = norm(col(m, 0));
    let y0 = col(m, 1);
    let d = x[0] * y0[0] + x[1] * y0[1] + x[2] * y0[2];
    let y = norm([y0[0] - d * x[0], y0[1] - d * x[1], y0[2] - d * x[2]]);
    let z = [
        x[1] * y[2] - x[2] * y[1],
        x[2] * y[0] - x[0] * y[2],
        x[0] * y[1] - x[1] * y[0],
    ];
    for i in 0..3 {
        m[i] = [x[i], y[i], z[i]];
    }
}
