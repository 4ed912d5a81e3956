//! How the balls move: a small fixed-step simulation (rolling with friction, equal-mass
//! ball–ball collisions with restitution, cushions with restitution, pockets). Orientation is
//! integrated from the rolling angular velocity so stripes turn as balls roll.

use super::table::{BALL_RADIUS, BALLS, CORNER_JAW, POCKETS, SIDE_JAW, TABLE_LENGTH, TABLE_WIDTH};
use super::truth::{EventKind, EventLog};

/// Simulation step, seconds.
const DT: f64 = 0.000_5;
/// Rolling deceleration, m/s² (μ_r·g with μ_r ≈ 0.012).
const ROLL_DECEL: f64 = 0.12;
/// Ball–ball normal restitution.
const E_BALL: f64 = 0.95;
/// Cushion normal restitution.
const E_CUSHION: f64 = 0.75;
/// A ball slower than this (m/s) stops.
const STOP_SPEED: f64 = 0.004;
/// Capture distance from a pocket centre, metres.
const CAPTURE: f64 = 0.055;

/// The state of one ball.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BallState {
    /// Centre, table metres.
    pub(crate) pos: [f64; 2],
    /// Velocity, m/s.
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

/// Sixteen balls and the time they were last advanced to.
#[derive(Debug, Clone)]
pub(crate) struct Motion {
    pub(crate) balls: [BallState; BALLS],
    t: f64,
}

impl Motion {
    /// Balls at `positions` (`None` = off the table), at rest, at time `t`.
    pub(crate) fn new(t: f64) -> Self {
        Self {
            balls: [BallState::default(); BALLS],
            t,
        }
    }

    /// True while any ball on the table moves.
    pub(crate) fn moving(&self) -> bool {
        self.balls
            .iter()
            .any(|b| b.on_table && (b.vel[0] != 0.0 || b.vel[1] != 0.0))
    }

    /// Gives the cue ball speed `v` (m/s) in direction `phi_deg` (table frame) at time `t`.
    pub(crate) fn strike(&mut self, t: f64, v: f64, phi_deg: f64) {
        self.t = t;
        let phi = phi_deg.to_radians();
        self.balls[0].vel = [v * phi.cos(), v * phi.sin()];
    }

    /// Advances to time `t`, logging events. Returns the time the last ball stopped if
    /// that happened during this call.
    pub(crate) fn advance_to(&mut self, t: f64, log: &mut EventLog) -> Option<f64> {
        let mut stopped = None;
        while self.t + DT <= t {
            self.t += DT;
            if self.moving() {
                self.step(log);
                if !self.moving() {
                    stopped = Some(self.t);
                }
            }
        }
        stopped
    }

    fn step(&mut self, log: &mut EventLog) {
        let t = self.t;
        for b in self.balls.iter_mut().filter(|b| b.on_table) {
            let speed = b.vel[0].hypot(b.vel[1]);
            if speed == 0.0 {
                continue;
            }
            let new_speed = speed - ROLL_DECEL * DT;
            if new_speed < STOP_SPEED {
                b.vel = [0.0; 2];
                continue;
            }
            let k = new_speed / speed;
            b.vel = [b.vel[0] * k, b.vel[1] * k];
            b.pos[0] += b.vel[0] * DT;
            b.pos[1] += b.vel[1] * DT;
            // Rolling: ω = (v_y, −v_x, 0)/R in a frame with z into the table.
            let w = [b.vel[1] / BALL_RADIUS, -b.vel[0] / BALL_RADIUS, 0.0];
            rotate(&mut b.rot, w, DT);
        }
        self.collide_balls(t, log);
        self.cushions_and_pockets(t, log);
    }

    fn collide_balls(&mut self, t: f64, log: &mut EventLog) {
        let d2 = (2.0 * BALL_RADIUS).powi(2);
        for i in 0..BALLS {
            for j in i + 1..BALLS {
                let (a, b) = (self.balls[i], self.balls[j]);
                if !a.on_table || !b.on_table {
                    continue;
                }
                let n = [b.pos[0] - a.pos[0], b.pos[1] - a.pos[1]];
                let dist2 = n[0] * n[0] + n[1] * n[1];
                if dist2 >= d2 || dist2 == 0.0 {
                    continue;
                }
                let dist = dist2.sqrt();
                let n = [n[0] / dist, n[1] / dist];
                let rel = (a.vel[0] - b.vel[0]) * n[0] + (a.vel[1] - b.vel[1]) * n[1];
                if rel <= 0.0 {
                    continue;
                }
                let j_imp = 0.5 * (1.0 + E_BALL) * rel;
                let (ba, bb) = (&mut self.balls[i].vel, n);
                ba[0] -= j_imp * bb[0];
                ba[1] -= j_imp * bb[1];
                let vb = &mut self.balls[j].vel;
                vb[0] += j_imp * n[0];
                vb[1] += j_imp * n[1];
                // Separate overlapping balls symmetrically.
                let push = 0.5 * (2.0 * BALL_RADIUS - dist);
                self.balls[i].pos[0] -= push * n[0];
                self.balls[i].pos[1] -= push * n[1];
                self.balls[j].pos[0] += push * n[0];
                self.balls[j].pos[1] += push * n[1];
                log.push(t, EventKind::BallCollision, i as u8, j as u8);
            }
        }
    }

    fn cushions_and_pockets(&mut self, t: f64, log: &mut EventLog) {
        for (i, b) in self.balls.iter_mut().enumerate() {
            if !b.on_table || (b.vel[0] == 0.0 && b.vel[1] == 0.0) {
                continue;
            }
            if let Some(p) = POCKETS
                .iter()
                .position(|p| (b.pos[0] - p[0]).hypot(b.pos[1] - p[1]) < CAPTURE)
            {
                b.on_table = false;
                b.vel = [0.0; 2];
                log.push(t, EventKind::Pocketed, i as u8, p as u8);
                if i == 0 {
                    log.push(t, EventKind::Scratch, 0, p as u8);
                }
                continue;
            }
            let [x, y] = b.pos;
            let corner_x = !(CORNER_JAW..=TABLE_LENGTH - CORNER_JAW).contains(&x);
            let corner_y = !(CORNER_JAW..=TABLE_WIDTH - CORNER_JAW).contains(&y);
            let side = (x - TABLE_LENGTH / 2.0).abs() < SIDE_JAW;
            let r = BALL_RADIUS;
            if !corner_y {
                if x < r && b.vel[0] < 0.0 {
                    b.vel[0] *= -E_CUSHION;
                    log.push(t, EventKind::Cushion, i as u8, 0);
                } else if x > TABLE_LENGTH - r && b.vel[0] > 0.0 {
                    b.vel[0] *= -E_CUSHION;
                    log.push(t, EventKind::Cushion, i as u8, 2);
                }
            }
            if !corner_x && !side {
                if y < r && b.vel[1] < 0.0 {
                    b.vel[1] *= -E_CUSHION;
                    log.push(t, EventKind::Cushion, i as u8, 1);
                } else if y > TABLE_WIDTH - r && b.vel[1] > 0.0 {
                    b.vel[1] *= -E_CUSHION;
                    log.push(t, EventKind::Cushion, i as u8, 3);
                }
            }
        }
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
