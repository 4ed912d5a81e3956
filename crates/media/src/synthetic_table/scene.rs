//! The scripted scene: racks, shots (from a script or random), the cue stick's aim, stroke
//! and withdrawal, and the balls' motion between shots. Everything is a function of the seed
//! and of the times asked for, which only move forward.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::motion::{Motion, Strike};
use super::table::{BALL_RADIUS, BALLS, TABLE_LENGTH, TABLE_WIDTH};
use super::truth::{EventKind, EventLog};

/// Cue stick length, metres.
pub(crate) const CUE_LENGTH: f64 = 1.47;
/// Gap left between racked balls, metres.
const RACK_GAP: f64 = 0.0004;
/// Tip distance from the ball surface while aiming, metres.
const AIM_DIST: f64 = 0.12;
/// Tip distance at the end of the backswing, metres.
const BACKSWING: f64 = 0.20;
/// Backswing duration, seconds.
const BACKSWING_S: f64 = 0.25;
/// Follow-through duration, seconds.
const FOLLOW_S: f64 = 0.1;
/// Withdrawal speed after the follow-through, m/s.
const WITHDRAW_SPEED: f64 = 1.0;
/// Distance withdrawn before the cue leaves the view, metres.
const WITHDRAW_DIST: f64 = 0.6;

/// One scripted shot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ShotSpec {
    /// Cue stick speed at impact, m/s (a centre hit gives the ball about 1.5 × this).
    #[serde(rename = "V0")]
    #[schemars(range(min = 0.1, max = 6.0))]
    pub v0: f64,
    /// Aim direction in degrees (table axes: 0 = +x, 90 = +y); `null` aims at `target`.
    pub phi: Option<f64>,
    /// Object ball to aim at when `phi` is null; `null` picks one at random.
    pub target: Option<u8>,
    /// Cut added to the aim at `target`, degrees.
    pub cut: f64,
    /// Cue elevation, degrees.
    #[schemars(range(min = 0, max = 80))]
    pub theta: f64,
    /// Side english as a fraction of the radius (positive = left).
    #[schemars(range(min = -0.5, max = 0.5))]
    pub a: f64,
    /// Top (+) or bottom (−) spin as a fraction of the radius.
    #[schemars(range(min = -0.5, max = 0.5))]
    pub b: f64,
}

impl Default for ShotSpec {
    fn default() -> Self {
        Self {
            v0: 1.0,
            phi: None,
            target: None,
            cut: 0.0,
            theta: 0.0,
            a: 0.0,
            b: 0.0,
        }
    }
}

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Aim {
        t0: f64,
        strike: Strike,
        origin: [f64; 2],
    },
    Rolling {
        t_strike: f64,
        phi: f64,
        origin: [f64; 2],
    },
    Pause {
        t0: f64,
    },
}

/// Timing of a scene.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) aim_s: f64,
    pub(crate) pause_s: f64,
}

/// The cue stick at one instant: tip position (metres) and aim angle (degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CuePose {
    pub(crate) tip: [f64; 2],
    pub(crate) angle_deg: f64,
}

/// The whole scene.
pub(crate) struct Scene {
    pub(crate) motion: Motion,
    pub(crate) log: EventLog,
    phase: Phase,
    rng: Rng,
    script: Vec<ShotSpec>,
    next_shot: usize,
    pub(crate) shots: u32,
    timing: Timing,
}

impl Scene {
    pub(crate) fn new(seed: u64, script: Vec<ShotSpec>, timing: Timing) -> Self {
        let mut s = Self {
            motion: Motion::new(0.0),
            log: EventLog::new(),
            phase: Phase::Pause { t0: 0.0 },
            rng: Rng::new(seed),
            script,
            next_shot: 0,
            shots: 0,
            timing,
        };
        s.rack(0.0);
        // The first aim starts after half a pause.
        s.phase = Phase::Pause {
            t0: -0.5 * timing.pause_s,
        };
        s
    }

    /// Racks all balls: cue ball on the head spot, object balls in a triangle on the foot
    /// spot, 8 in the middle, the others shuffled.
    fn rack(&mut self, t: f64) {
        let mut order: [u8; 14] = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15];
        for i in (1..order.len()).rev() {
            let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let step = 2.0 * BALL_RADIUS + RACK_GAP;
        let apex = [0.75 * TABLE_LENGTH, 0.5 * TABLE_WIDTH];
        let mut next = order.iter();
        for row in 0..5 {
            for j in 0..=row {
                let n = if row == 2 && j == 1 {
                    8
                } else {
                    *next.next().expect("14 balls")
                } as usize;
                let jitter = [self.rng.range(-2e-4, 2e-4), self.rng.range(-2e-4, 2e-4)];
                let b = &mut self.motion.balls[n];
                *b = Default::default();
                b.pos = [
                    apex[0] + row as f64 * step * 0.75f64.sqrt() + jitter[0],
                    apex[1] + (j as f64 - row as f64 / 2.0) * step + jitter[1],
                ];
                // A random orientation, so stripes and numbers face different ways.
                let w = [self.rng.range(-1.0, 1.0), self.rng.range(-1.0, 1.0), 0.3];
                super::motion::rotate(&mut b.rot, w, self.rng.range(0.0, 3.0));
            }
        }
        self.motion.balls[0] = Default::default();
        self.motion.balls[0].pos = [0.25 * TABLE_LENGTH, 0.5 * TABLE_WIDTH];
        self.log.push(t, EventKind::Rack, 0, 0);
    }

    /// Puts the cue ball back on the head spot (or the nearest free place below it).
    fn respot_cue(&mut self) {
        let mut pos = [0.25 * TABLE_LENGTH, 0.5 * TABLE_WIDTH];
        while self.motion.balls[1..]
            .iter()
            .any(|b| b.on_table && (b.pos[0] - pos[0]).hypot(b.pos[1] - pos[1]) < 2.2 * BALL_RADIUS)
        {
            pos[1] += 0.5 * BALL_RADIUS;
            if pos[1] > TABLE_WIDTH - BALL_RADIUS {
                pos = [pos[0] - 3.0 * BALL_RADIUS, BALL_RADIUS * 1.5];
            }
        }
        self.motion.balls[0] = Default::default();
        self.motion.balls[0].pos = pos;
    }

    /// The next shot.
    fn plan_shot(&mut self) -> Strike {
        let spec = if self.script.is_empty() {
            ShotSpec {
                v0: self.rng.range(0.5, 1.4),
                phi: None,
                target: None,
                cut: self.rng.range(-12.0, 12.0),
                theta: 0.0,
                a: self.rng.range(-0.2, 0.2),
                b: self.rng.range(-0.3, 0.3),
            }
        } else {
            let s = self.script[self.next_shot % self.script.len()];
            self.next_shot += 1;
            s
        };
        let strike = |angle_deg| Strike {
            v0: spec.v0,
            angle_deg,
            theta: spec.theta,
            a: spec.a,
            b: spec.b,
        };
        if let Some(phi) = spec.phi {
            return strike(phi);
        }
        let on_table = |n: usize| n < BALLS && n > 0 && self.motion.balls[n].on_table;
        let target = match spec.target.map(usize::from) {
            Some(n) if on_table(n) => n,
            _ => {
                let count = (1..BALLS).filter(|&n| on_table(n)).count().max(1);
                let k = (self.rng.next_u64() % count as u64) as usize;
                (1..BALLS).filter(|&n| on_table(n)).nth(k).unwrap_or(1)
            }
        };
        let (c, o) = (self.motion.balls[0].pos, self.motion.balls[target].pos);
        strike((o[1] - c[1]).atan2(o[0] - c[0]).to_degrees() + spec.cut)
    }

    fn strike_time(&self, t0: f64, speed: f64) -> f64 {
        t0 + self.timing.aim_s + BACKSWING_S + BACKSWING / speed.max(0.5)
    }

    /// Advances the scene to time `t` (seconds; never earlier than the last call).
    pub(crate) fn advance_to(&mut self, t: f64) {
        loop {
            match self.phase {
                Phase::Pause { t0 } => {
                    let start = t0 + self.timing.pause_s;
                    if t < start {
                        self.motion.advance_to(t, &mut self.log);
                        return;
                    }
                    self.motion.advance_to(start, &mut self.log);
                    let strike = self.plan_shot();
                    self.phase = Phase::Aim {
                        t0: start,
                        strike,
                        origin: self.motion.balls[0].pos,
                    };
                }
                Phase::Aim { t0, strike, origin } => {
                    let ts = self.strike_time(t0, strike.v0);
                    if t < ts {
                        self.motion.advance_to(t, &mut self.log);
                        return;
                    }
                    self.motion.advance_to(ts, &mut self.log);
                    self.motion.strike(ts, strike);
                    let phi = strike.angle_deg;
                    self.log.push(ts, EventKind::ShotStarted, 0, 0);
                    self.shots += 1;
                    self.phase = Phase::Rolling {
                        t_strike: ts,
                        phi,
                        origin,
                    };
                }
                Phase::Rolling { .. } => {
                    let Some(t_rest) = self.motion.advance_to(t, &mut self.log) else {
                        return;
                    };
                    self.log.push(t_rest, EventKind::BallsAtRest, 0, 0);
                    if !self.motion.balls[1..].iter().any(|b| b.on_table) {
                        self.rack(t_rest);
                    } else if !self.motion.balls[0].on_table {
                        self.respot_cue();
                    }
                    self.phase = Phase::Pause { t0: t_rest };
                }
            }
        }
    }

    /// The cue stick at time `t` (within the current phase), if it is in view.
    pub(crate) fn cue_at(&self, t: f64) -> Option<CuePose> {
        let (origin, angle, d) = match self.phase {
            Phase::Aim { t0, strike, origin } => {
                let (phi, speed) = (strike.angle_deg, strike.v0);
                let tau = t - t0;
                let half = 0.5 * self.timing.aim_s;
                let aim = self.timing.aim_s;
                if tau < half {
                    let u = (tau / half).clamp(0.0, 1.0);
                    let ease = u * u * (3.0 - 2.0 * u);
                    (origin, phi + 4.0 * (1.0 - ease), AIM_DIST)
                } else if tau < aim {
                    let u = (tau - half) / half;
                    (origin, phi, AIM_DIST - (AIM_DIST - 0.03) * u)
                } else if tau < aim + BACKSWING_S {
                    let u = (tau - aim) / BACKSWING_S;
                    (origin, phi, 0.03 + (BACKSWING - 0.03) * u)
                } else {
                    let d = BACKSWING - (tau - aim - BACKSWING_S) * speed.max(0.5);
                    (origin, phi, d.max(0.0))
                }
            }
            Phase::Rolling {
                t_strike,
                phi,
                origin,
            } => {
                let tau = t - t_strike;
                if tau < FOLLOW_S {
                    (origin, phi, -0.05 * tau / FOLLOW_S)
                } else {
                    let d = -0.05 + (tau - FOLLOW_S) * WITHDRAW_SPEED;
                    if d > WITHDRAW_DIST {
                        return None;
                    }
                    (origin, phi, d)
                }
            }
            Phase::Pause { .. } => return None,
        };
        let (s, c) = angle.to_radians().sin_cos();
        let back = BALL_RADIUS + d;
        Some(CuePose {
            tip: [origin[0] - back * c, origin[1] - back * s],
            angle_deg: angle,
        })
    }
}
