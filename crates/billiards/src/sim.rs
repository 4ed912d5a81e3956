//! The event loop: find the earliest event, move every ball analytically to it, resolve it,
//! recompute only the event times of the balls it touched (pooltool's collision cache).

use crate::detect;
use crate::motion::{self, BallState, MotionState};
use crate::params::Params;
use crate::resolve::{self, Cue};
use crate::table::Table;
use crate::vec3::V3;

/// What happened at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The cue strikes the cue ball.
    StickBall,
    /// Two balls collide.
    BallBall,
    /// A ball hits a straight cushion.
    BallLinearCushion,
    /// A ball hits a round pocket jaw.
    BallCircularCushion,
    /// A ball drops into a pocket.
    BallPocket,
    /// Sliding ends; the ball rolls.
    SlidingRolling,
    /// Rolling ends with the ball still spinning about z.
    RollingSpinning,
    /// Rolling ends at rest.
    RollingStationary,
    /// Spinning ends at rest.
    SpinningStationary,
}

impl EventKind {
    /// pooltool's name for the event type.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::StickBall => "stick_ball",
            EventKind::BallBall => "ball_ball",
            EventKind::BallLinearCushion => "ball_linear_cushion",
            EventKind::BallCircularCushion => "ball_circular_cushion",
            EventKind::BallPocket => "ball_pocket",
            EventKind::SlidingRolling => "sliding_rolling",
            EventKind::RollingSpinning => "rolling_spinning",
            EventKind::RollingStationary => "rolling_stationary",
            EventKind::SpinningStationary => "spinning_stationary",
        }
    }

    /// Whether this is a collision (not a change of motion state).
    pub fn is_collision(self) -> bool {
        matches!(
            self,
            EventKind::StickBall
                | EventKind::BallBall
                | EventKind::BallLinearCushion
                | EventKind::BallCircularCushion
                | EventKind::BallPocket
        )
    }
}

/// The second party of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum Agent {
    /// None (transitions).
    None,
    /// The cue stick.
    Cue,
    /// Another ball (index into the ball list).
    Ball(usize),
    /// A straight cushion (index into `Table::linear`).
    Linear(usize),
    /// A round jaw (index into `Table::circular`).
    Circular(usize),
    /// A pocket (index into `Table::pockets`).
    Pocket(usize),
}

/// One event of a simulated shot.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Time since the strike, s.
    pub t: f64,
    /// What happened.
    pub kind: EventKind,
    /// The ball concerned (index into the ball list).
    pub ball: usize,
    /// The other party.
    pub other: Agent,
}

/// A ball given to the simulator.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ball {
    /// Identifier ("cue", "1", …).
    pub id: String,
    /// Its state at t = 0.
    pub state: BallState,
}

impl Ball {
    /// A ball at rest at `(x, y)`.
    pub fn at_rest(id: &str, x: f64, y: f64, p: &Params) -> Ball {
        Ball {
            id: id.to_owned(),
            state: BallState::at_rest(x, y, p),
        }
    }
}

/// The result of a shot: events in time order and each ball's piecewise-analytic path.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Simulation {
    /// Events in time order (the first is the strike when there was one).
    pub events: Vec<Event>,
    /// Ball ids, in input order.
    pub ids: Vec<String>,
    /// Per ball, `(t, state)` right after each of its events, starting at t = 0; between two
    /// entries the motion is analytic (`motion::evolve`).
    pub history: Vec<Vec<(f64, BallState)>>,
    /// Whether the event budget ran out (balls then stopped where they were).
    pub truncated: bool,
}

impl Simulation {
    /// Time of the last event (when every ball is at rest or pocketed).
    pub fn duration(&self) -> f64 {
        self.events.last().map_or(0.0, |e| e.t)
    }

    /// Final states, in input order.
    pub fn final_states(&self) -> impl Iterator<Item = &BallState> + '_ {
        self.history
            .iter()
            .map(|h| &h.last().expect("every ball has a history").1)
    }

    /// State of ball `i` at time `t` (position, velocity and angular velocity; a renderer
    /// integrates `w` for the ball's orientation).
    pub fn state_at(&self, i: usize, t: f64, p: &Params) -> BallState {
        let h = &self.history[i];
        let k = h.partition_point(|(te, _)| *te <= t);
        let (t0, s0) = if k == 0 { h[0] } else { h[k - 1] };
        if t <= t0 {
            return s0;
        }
        motion::evolve(&s0, p, t - t0)
    }

    /// The names of an event's agents in pooltool's order: `["cue_stick", ball]` for the
    /// strike, `[ball]` for transitions, `[ball, other]` for collisions (ball ids, cushion
    /// and pocket ids of `table`). Returns the names and how many there are.
    pub fn agents<'a>(&'a self, e: &Event, table: &'a Table) -> ([&'a str; 2], usize) {
        let b = self.ids[e.ball].as_str();
        match e.other {
            Agent::None => ([b, ""], 1),
            Agent::Cue => (["cue_stick", b], 2),
            Agent::Ball(j) => ([b, self.ids[j].as_str()], 2),
            Agent::Linear(k) => ([b, table.linear[k].id.as_str()], 2),
            Agent::Circular(k) => ([b, table.circular[k].id.as_str()], 2),
            Agent::Pocket(k) => ([b, table.pockets[k].id.as_str()], 2),
        }
    }

    /// Whether ball `i` ended in a pocket, and which (index into `Table::pockets`).
    pub fn pocket_of(&self, i: usize) -> Option<usize> {
        self.events.iter().find_map(|e| match (e.kind, e.other) {
            (EventKind::BallPocket, Agent::Pocket(k)) if e.ball == i => Some(k),
            _ => None,
        })
    }
}

/// A reusable simulator: its buffers are kept between shots so that repeated predictions
/// (one per camera frame) do not allocate once warmed up.
#[derive(Debug, Clone)]
pub struct Simulator {
    /// Table geometry.
    pub table: Table,
    /// Physical parameters.
    pub params: Params,
    /// Event budget per shot (pooltool's `max_events`); balls are stopped when exceeded.
    pub max_events: usize,
    states: Vec<BallState>,
    trans: Vec<f64>,
    pair: Vec<f64>,
    lin: Vec<f64>,
    circ: Vec<f64>,
    pock: Vec<f64>,
    out: Simulation,
}

/// Checks a ball layout: finite positions on the playing area, no two balls overlapping.
pub fn validate_layout(balls: &[Ball], table: &Table, p: &Params) -> Result<(), String> {
    for (i, b) in balls.iter().enumerate() {
        let r = b.state.r;
        if !(r.x.is_finite() && r.y.is_finite()) {
            return Err(format!("ball {:?} has a non-finite position", b.id));
        }
        if b.state.s != MotionState::Pocketed && !table.contains(r.x, r.y, p.r) {
            return Err(format!(
                "ball {:?} at ({:.4}, {:.4}) is off the table (the playing area is [{r:.4}, {:.4}] × [{r:.4}, {:.4}] m for a ball centre)",
                b.id,
                r.x,
                r.y,
                table.w - p.r,
                table.l - p.r,
                r = p.r
            ));
        }
        for o in &balls[..i] {
            if o.id == b.id {
                return Err(format!("ball id {:?} is used twice", b.id));
            }
            let d = (o.state.r - r).norm();
            if d < 2.0 * p.r - 1e-9 {
                return Err(format!(
                    "balls {:?} and {:?} overlap ({:.2} mm apart, a ball is {:.2} mm wide)",
                    o.id,
                    b.id,
                    d * 1e3,
                    2e3 * p.r
                ));
            }
        }
    }
    Ok(())
}

/// Simulates one shot on `table` (a fresh `Simulator`; keep one to reuse buffers).
pub fn simulate(balls: &[Ball], cue: Option<&Cue>, table: &Table, params: &Params) -> Simulation {
    let mut s = Simulator::new(table.clone(), *params);
    s.run(balls, cue);
    s.out
}

const TIER_TRANSITION: u8 = 1;
const TIER_COLLISION: u8 = 2;

impl Simulator {
    /// A simulator for `table` and `params`.
    pub fn new(table: Table, params: Params) -> Simulator {
        Simulator {
            table,
            params,
            max_events: 20_000,
            states: Vec::new(),
            trans: Vec::new(),
            pair: Vec::new(),
            lin: Vec::new(),
            circ: Vec::new(),
            pock: Vec::new(),
            out: Simulation::default(),
        }
    }

    /// The last result.
    pub fn result(&self) -> &Simulation {
        &self.out
    }

    /// Simulates a shot from `balls` (optionally struck by `cue`) until every ball rests.
    pub fn run(&mut self, balls: &[Ball], cue: Option<&Cue>) -> &Simulation {
        let n = balls.len();
        let (nl, nc, np) = (
            self.table.linear.len(),
            self.table.circular.len(),
            self.table.pockets.len(),
        );
        self.states.clear();
        self.states.extend(balls.iter().map(|b| b.state));
        self.out.events.clear();
        self.out.truncated = false;
        self.out.ids.truncate(n);
        for (k, b) in balls.iter().enumerate() {
            if k < self.out.ids.len() {
                self.out.ids[k].clear();
                self.out.ids[k].push_str(&b.id);
            } else {
                self.out.ids.push(b.id.clone());
            }
        }
        self.out.history.resize_with(n, Vec::new);
        self.out.history.truncate(n);
        for (h, s) in self.out.history.iter_mut().zip(&self.states) {
            h.clear();
            h.push((0.0, *s));
        }
        self.trans.clear();
        self.trans.resize(n, f64::INFINITY);
        self.pair.clear();
        self.pair.resize(n * n, f64::INFINITY);
        self.lin.clear();
        self.lin.resize(n * nl, f64::INFINITY);
        self.circ.clear();
        self.circ.resize(n * nc, f64::INFINITY);
        self.pock.clear();
        self.pock.resize(n * np, f64::INFINITY);

        let mut t = 0.0;
        if let Some(c) = cue.filter(|c| c.ball < n) {
            resolve::cue_strike(&mut self.states[c.ball], c, &self.params);
            self.out.events.push(Event {
                t: 0.0,
                kind: EventKind::StickBall,
                ball: c.ball,
                other: Agent::Cue,
            });
            self.out.history[c.ball][0] = (0.0, self.states[c.ball]);
        }
        for i in 0..n {
            self.update_transition(i, t);
        }
        for i in 0..n {
            self.update_collisions(i, t, true);
        }
        while let Some((te, kind, i, other)) = self.next_event() {
            if self.out.events.len() >= self.max_events {
                for (k, s) in self.states.iter_mut().enumerate() {
                    if s.s != MotionState::Pocketed {
                        motion::apply_transition(s, MotionState::Stationary);
                        self.out.history[k].push((t, *s));
                    }
                }
                self.out.truncated = true;
                break;
            }
            let dt = te - t;
            if dt > 0.0 {
                for s in self.states.iter_mut() {
                    if s.s != MotionState::Stationary && s.s != MotionState::Pocketed {
                        *s = motion::evolve_in_state(s, &self.params, dt);
                    }
                }
            }
            t = te;
            let p = self.params;
            match kind {
                EventKind::BallBall => {
                    let Agent::Ball(j) = other else {
                        unreachable!()
                    };
                    let (a, b) = pair_mut(&mut self.states, i, j);
                    resolve::ball_ball(a, b, &p);
                }
                EventKind::BallLinearCushion => {
                    let Agent::Linear(k) = other else {
                        unreachable!()
                    };
                    resolve::ball_linear_cushion(
                        &mut self.states[i],
                        &self.table.linear[k],
                        self.table.cushion_height,
                        &p,
                    );
                }
                EventKind::BallCircularCushion => {
                    let Agent::Circular(k) = other else {
                        unreachable!()
                    };
                    resolve::ball_circular_cushion(
                        &mut self.states[i],
                        &self.table.circular[k],
                        self.table.cushion_height,
                        &p,
                    );
                }
                EventKind::BallPocket => {
                    let Agent::Pocket(k) = other else {
                        unreachable!()
                    };
                    resolve::ball_pocket(&mut self.states[i], &self.table.pockets[k]);
                }
                EventKind::SlidingRolling
                | EventKind::RollingSpinning
                | EventKind::RollingStationary
                | EventKind::SpinningStationary => {
                    let to = match kind {
                        EventKind::SlidingRolling => MotionState::Rolling,
                        EventKind::RollingSpinning => MotionState::Spinning,
                        _ => MotionState::Stationary,
                    };
                    motion::apply_transition(&mut self.states[i], to);
                }
                EventKind::StickBall => unreachable!("the strike is applied before the loop"),
            }
            self.out.events.push(Event {
                t,
                kind,
                ball: i,
                other,
            });
            self.out.history[i].push((t, self.states[i]));
            self.update_transition(i, t);
            if let Agent::Ball(j) = other {
                self.out.history[j].push((t, self.states[j]));
                self.update_transition(j, t);
                self.update_collisions(i, t, false);
                self.update_collisions(j, t, false);
            } else {
                self.update_collisions(i, t, false);
            }
        }
        &self.out
    }

    fn update_transition(&mut self, i: usize, t: f64) {
        self.trans[i] = t + self.states[i].transition_time(&self.params);
    }

    /// Recomputes every collision time involving ball `i` (all pairs when `init`, where the
    /// pair loop runs once per ball and only needs the later partner).
    fn update_collisions(&mut self, i: usize, t: f64, init: bool) {
        let n = self.states.len();
        let p = &self.params;
        let si = self.states[i];
        for j in 0..n {
            if j == i || (init && j < i) {
                continue;
            }
            let sj = &self.states[j];
            let horizon = self.trans[i].min(self.trans[j]) - t;
            let dt = detect::ball_ball(&si, sj, p, horizon.max(0.0));
            let te = t + dt;
            let (a, b) = (i.min(j), i.max(j));
            self.pair[a * n + b] = te;
        }
        let horizon = (self.trans[i] - t).max(0.0);
        let nl = self.table.linear.len();
        for (k, c) in self.table.linear.iter().enumerate() {
            self.lin[i * nl + k] = t + detect::ball_linear(&si, c, p, horizon);
        }
        let nc = self.table.circular.len();
        for (k, c) in self.table.circular.iter().enumerate() {
            self.circ[i * nc + k] = t + detect::ball_circular(&si, c, p, horizon);
        }
        let np = self.table.pockets.len();
        for (k, c) in self.table.pockets.iter().enumerate() {
            self.pock[i * np + k] = t + detect::ball_pocket(&si, c, p, horizon);
        }
    }

    fn next_event(&self) -> Option<(f64, EventKind, usize, Agent)> {
        let n = self.states.len();
        let mut best: Option<(f64, u8, EventKind, usize, Agent)> = None;
        let mut offer = |te: f64, tier: u8, kind: EventKind, i: usize, o: Agent| {
            if !te.is_finite() {
                return;
            }
            let better = match best {
                None => true,
                Some((bt, btier, ..)) => te < bt || (te == bt && tier < btier),
            };
            if better {
                best = Some((te, tier, kind, i, o));
            }
        };
        for i in 0..n {
            let s = &self.states[i];
            if s.s == MotionState::Stationary || s.s == MotionState::Pocketed {
                continue;
            }
            let kind = match s.s {
                MotionState::Sliding => EventKind::SlidingRolling,
                MotionState::Spinning => EventKind::SpinningStationary,
                _ => match s.next_state(&self.params) {
                    MotionState::Spinning => EventKind::RollingSpinning,
                    _ => EventKind::RollingStationary,
                },
            };
            offer(self.trans[i], TIER_TRANSITION, kind, i, Agent::None);
        }
        let np = self.table.pockets.len();
        for (idx, &te) in self.pock.iter().enumerate() {
            let (i, k) = (idx / np, idx % np);
            offer(
                te,
                TIER_TRANSITION,
                EventKind::BallPocket,
                i,
                Agent::Pocket(k),
            );
        }
        for i in 0..n {
            for j in i + 1..n {
                offer(
                    self.pair[i * n + j],
                    TIER_COLLISION,
                    EventKind::BallBall,
                    i,
                    Agent::Ball(j),
                );
            }
        }
        let nc = self.table.circular.len();
        for (idx, &te) in self.circ.iter().enumerate() {
            let (i, k) = (idx / nc, idx % nc);
            offer(
                te,
                TIER_COLLISION,
                EventKind::BallCircularCushion,
                i,
                Agent::Circular(k),
            );
        }
        let nl = self.table.linear.len();
        for (idx, &te) in self.lin.iter().enumerate() {
            let (i, k) = (idx / nl, idx % nl);
            offer(
                te,
                TIER_COLLISION,
                EventKind::BallLinearCushion,
                i,
                Agent::Linear(k),
            );
        }
        best.map(|(te, _, kind, i, o)| (te, kind, i, o))
    }
}

fn pair_mut(v: &mut [BallState], i: usize, j: usize) -> (&mut BallState, &mut BallState) {
    assert!(i < j, "ball pairs are ordered");
    let (a, b) = v.split_at_mut(j);
    (&mut a[i], &mut b[0])
}

/// Convenience: the centre position of every ball at `t` written into `out` (cleared first).
pub fn positions_at(sim: &Simulation, t: f64, p: &Params, out: &mut Vec<V3>) {
    out.clear();
    out.extend((0..sim.history.len()).map(|i| sim.state_at(i, t, p).r));
}
