//! `game_state`: the game as events, from the tracked balls — `shot_started`,
//! `ball_collision`, `cushion`, `pocketed`, `scratch`, `balls_at_rest` — and seed 002's
//! `state_updated` (the table state changed this frame) and `trajectory_calculated` (a
//! prediction is available).
//!
//! # How it works
//! Between shots every ball is at rest; the cue ball's position then is remembered. A shot
//! starts when the cue ball is more than `start_mm` from it and either more than four times
//! that, or still moving away on the next frame (a resting ball's one-frame jitter past
//! `start_mm` is not a shot); `shot_started` then carries the frame the ball first left. While balls move:
//! two balls closer than 2R + `contact_mm` with at least one moving give one
//! `ball_collision` per contact; a moving ball within R + `contact_mm` of a rail line whose
//! velocity turns away from it gives a `cushion`; a ball seen on the table since it was
//! last pocketed, now flagged pocketed, gives `pocketed` (and `scratch` for the cue ball) —
//! also when the tracker hid it for a few frames before. When every ball is at rest again, `balls_at_rest`.
//!
//! Result (namespace `game_state`): [`GameState`] — this frame's events, the last
//! [`GameState::RECENT`] events, the phase, shot count, balls on the table, the balls
//! pocketed this game and a sequence number. Signals: `shots` (so far) and `pocketed`
//! (balls pocketed on this frame), which highlight rules fire on
//! (`examples/highlights_table.toml`).
//!
//! The generic `reset` command (`POST /api/v1/game/reset`) starts a new game: shots, the
//! pocketed list and the events are cleared; balls already off the table are not reported
//! again. The sequence number keeps increasing.

use std::collections::VecDeque;

use framebus_billiards::TrackedBalls;
use framebus_core::prelude::*;

use super::geometry::{LABELS, TABLE_LENGTH, TABLE_WIDTH, ball_radius, label_number};
use super::trajectory::Prediction;

/// Params of [`GameStateStage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GameStateParams {
    /// Namespace of the tracked balls.
    pub tracks_from: String,
    /// Namespace of the trajectory prediction.
    pub trajectory_from: String,
    /// The cue ball moved this far from its rest position: a shot started, millimetres.
    #[schemars(range(min = 0.1, max = 100))]
    pub start_mm: f64,
    /// Contact tolerance for collisions and cushions, millimetres.
    #[schemars(range(min = 0, max = 50))]
    pub contact_mm: f64,
}

impl Default for GameStateParams {
    fn default() -> Self {
        Self {
            tracks_from: "ball_tracking".into(),
            trajectory_from: "trajectory".into(),
            start_mm: 1.5,
            contact_mm: 4.0,
        }
    }
}

/// One game event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct GameEvent {
    /// `shot_started`, `ball_collision`, `cushion`, `pocketed`, `scratch`, `balls_at_rest`,
    /// `state_updated`, `trajectory_calculated`.
    pub kind: &'static str,
    /// Frame it was seen in (for `shot_started`, the frame the cue ball first left its rest
    /// position; the event may be published one frame later).
    pub frame_id: u64,
    /// Capture time of that frame, ns.
    pub t_ns: u64,
    /// Balls involved ("" when none): for `cushion` the second is the rail
    /// (`left`, `top`, `right`, `bottom`).
    pub balls: [&'static str; 2],
}

/// The result of [`GameStateStage`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GameState {
    /// "idle" (balls at rest) or "moving".
    pub phase: &'static str,
    /// Shots seen.
    pub shots: u32,
    /// Balls on the table.
    pub balls_on_table: usize,
    /// Balls pocketed since the game started (or was reset), in the order they dropped.
    pub pocketed: Vec<&'static str>,
    /// Events of this frame.
    pub events: Vec<GameEvent>,
    /// The most recent events (not `state_updated`), oldest first.
    pub recent: VecDeque<GameEvent>,
    /// Increases by one every frame.
    pub sequence: u64,
}

impl GameState {
    /// Events kept in [`GameState::recent`].
    pub const RECENT: usize = 64;
}

/// Per ball number last frame: position, velocity, pocketed.
type Prev = Option<([f64; 2], [f64; 2], bool)>;
/// Per ball number this frame: position, velocity, at rest, pocketed.
type Cur = Option<([f64; 2], [f64; 2], bool, bool)>;

/// Derives game events. See the [module docs](self).
pub struct GameStateStage {
    params: GameStateParams,
    state: GameState,
    moving: bool,
    rest_pos: Option<[f64; 2]>,
    /// The cue ball left its rest position on this frame (id, time) by this much (m); not
    /// yet confirmed as a shot.
    pending_start: Option<(u64, u64, f64)>,
    /// Per ball number: position and velocity last frame, pocketed.
    prev: [Prev; 16],
    /// Per ball number: seen on the table since it was last pocketed (or the game started).
    on_table: [bool; 16],
    in_contact: [[bool; 16]; 16],
    near_rail: [[bool; 4]; 16],
    pred_active: bool,
}

impl GameStateStage {
    fn emit(&mut self, kind: &'static str, frame_id: u64, t_ns: u64, balls: [&'static str; 2]) {
        let e = GameEvent {
            kind,
            frame_id,
            t_ns,
            balls,
        };
        self.state.events.push(e);
        if kind != "state_updated" {
            if self.state.recent.len() == GameState::RECENT {
                self.state.recent.pop_front();
            }
            self.state.recent.push_back(e);
        }
    }
}

impl Stage for GameStateStage {
    type Params = GameStateParams;

    const INFO: StageInfo = StageInfo {
        id: "game_state",
        version: "0.1.0",
        description: "Pool game events (shot started, collisions, cushions, pocketed, scratch, balls at rest) from tracked balls",
        namespace: Some("game_state"),
        commands: &[],
    };

    fn new(params: GameStateParams, _init: &StageInit) -> Result<Self> {
        Ok(Self {
            params,
            state: GameState {
                phase: "idle",
                events: Vec::with_capacity(64),
                recent: VecDeque::with_capacity(GameState::RECENT),
                pocketed: Vec::with_capacity(16),
                ..Default::default()
            },
            moving: false,
            rest_pos: None,
            pending_start: None,
            prev: [None; 16],
            on_table: [false; 16],
            in_contact: [[false; 16]; 16],
            near_rail: [[false; 4]; 16],
            pred_active: false,
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let (fid, t_ns) = (ctx.frame().frame_id, ctx.frame().t_ns);
        self.state.events.clear();
        self.state.sequence += 1;
        let r = ball_radius();
        let tol = self.params.contact_mm * 1e-3;
        let mut cur: [Cur; 16] = [None; 16];
        // Per identity: an entry flagged pocketed this frame (beside, maybe, the same ball
        // back on the table: a scratched cue ball re-spotted at once).
        let mut dropped = [false; 16];
        if let Some(tb) = ctx.get::<TrackedBalls>(&self.params.tracks_from) {
            for b in &tb.balls {
                let Some(n) = label_number(&b.id) else {
                    continue;
                };
                dropped[n] |= b.pocketed;
                // One entry per identity; a ball on the table wins over a pocketed one.
                if cur[n].is_none_or(|c| c.3) {
                    cur[n] = Some(([b.x, b.y], [b.vx, b.vy], b.at_rest, b.pocketed));
                }
            }
        }
        let pred_active = ctx
            .get::<Prediction>(&self.params.trajectory_from)
            .is_some_and(|p| p.active);
        let mut changed = false;
        // Shot start: the cue ball leaves its rest position.
        let all_rest = cur.iter().flatten().all(|b| b.2);
        if !self.moving {
            let start = self.params.start_mm * 1e-3;
            match (cur[0], self.rest_pos) {
                (Some((pos, _, _, false)), Some(rest)) => {
                    let d = (pos[0] - rest[0]).hypot(pos[1] - rest[1]);
                    // Hysteresis: past `start_mm` once is a candidate; the shot starts when
                    // the ball is far past it at once, or keeps going away on the next frame.
                    // A one-frame jitter of a resting ball is dropped. The event carries the
                    // frame the ball first left.
                    let confirmed = d > 4.0 * start
                        || self
                            .pending_start
                            .is_some_and(|(_, _, d0)| d > d0 + 0.5 * start);
                    if d > start && confirmed {
                        let (f0, t0) = self
                            .pending_start
                            .map_or((fid, t_ns), |(f0, t0, _)| (f0, t0));
                        self.pending_start = None;
                        self.moving = true;
                        self.state.shots += 1;
                        self.emit("shot_started", f0, t0, ["cue", ""]);
                    } else if d > start && all_rest && self.pending_start.is_some() {
                        // Settled a little away (a nudge, or the tracker's estimate moved):
                        // the new place is the rest position.
                        self.pending_start = None;
                        self.rest_pos = Some(pos);
                    } else if d > start {
                        self.pending_start = Some((fid, t_ns, d));
                    } else {
                        self.pending_start = None;
                        if all_rest {
                            self.rest_pos = Some(pos);
                        }
                    }
                }
                (Some((pos, _, true, false)), None) if all_rest => self.rest_pos = Some(pos),
                _ => self.pending_start = None,
            }
        }
        // Pocketed: a ball seen on the table since it was last pocketed (or the game
        // started), now flagged — also when the tracker hid it for a few frames first (a
        // fast ball fades over the pocket mouth before it drops), and when the same frame
        // shows it back on the table (re-spotted).
        let mut pocketed_now = 0u32;
        for n in 0..16 {
            if let Some(c) = cur[n] {
                if dropped[n] && self.on_table[n] {
                    self.on_table[n] = false;
                    self.emit("pocketed", fid, t_ns, [LABELS[n], ""]);
                    pocketed_now += 1;
                    if !self.state.pocketed.contains(&LABELS[n]) {
                        self.state.pocketed.push(LABELS[n]);
                    }
                    if n == 0 {
                        self.emit("scratch", fid, t_ns, ["cue", ""]);
                    }
                    changed = true;
                }
                if !c.3 {
                    self.on_table[n] = true;
                }
            }
        }
        if self.moving {
            // Collisions: contacts that begin with one ball moving.
            for i in 0..16 {
                for j in i + 1..16 {
                    let (Some(a), Some(b)) = (cur[i], cur[j]) else {
                        self.in_contact[i][j] = false;
                        continue;
                    };
                    if a.3 || b.3 {
                        continue;
                    }
                    let d = (a.0[0] - b.0[0]).hypot(a.0[1] - b.0[1]);
                    let touching = d < 2.0 * r + tol;
                    if touching && !self.in_contact[i][j] && !(a.2 && b.2) {
                        self.emit("ball_collision", fid, t_ns, [LABELS[i], LABELS[j]]);
                    }
                    if touching || d > 2.0 * r + 3.0 * tol {
                        self.in_contact[i][j] = touching;
                    }
                }
            }
            // Cushions: near a rail, velocity turning away from it.
            const RAILS: [&str; 4] = ["left", "top", "right", "bottom"];
            for n in 0..16 {
                let (Some(c), Some(p)) = (cur[n], self.prev[n]) else {
                    continue;
                };
                if c.3 {
                    continue;
                }
                let gaps = [c.0[0], c.0[1], TABLE_LENGTH - c.0[0], TABLE_WIDTH - c.0[1]];
                // Velocity component towards each rail, then and now.
                let towards = |v: [f64; 2], k: usize| match k {
                    0 => -v[0],
                    1 => -v[1],
                    2 => v[0],
                    _ => v[1],
                };
                for k in 0..4 {
                    let near = gaps[k] < r + 3.0 * tol;
                    if near
                        && !self.near_rail[n][k]
                        && towards(p.1, k) > 0.02
                        && towards(c.1, k) < 0.0
                    {
                        self.emit("cushion", fid, t_ns, [LABELS[n], RAILS[k]]);
                        self.near_rail[n][k] = true;
                    }
                    if !near {
                        self.near_rail[n][k] = false;
                    }
                }
            }
            if all_rest {
                self.moving = false;
                self.rest_pos = cur[0].filter(|c| !c.3).map(|c| c.0);
                self.in_contact = [[false; 16]; 16];
                self.emit("balls_at_rest", fid, t_ns, ["", ""]);
            }
            changed = true;
        }
        if pred_active && !self.pred_active {
            self.emit("trajectory_calculated", fid, t_ns, ["cue", ""]);
        }
        self.pred_active = pred_active;
        let on_table = cur.iter().flatten().filter(|c| !c.3).count();
        if on_table != self.state.balls_on_table {
            changed = true;
        }
        self.state.balls_on_table = on_table;
        self.state.phase = if self.moving { "moving" } else { "idle" };
        if changed {
            self.emit("state_updated", fid, t_ns, ["", ""]);
        }
        for (p, c) in self.prev.iter_mut().zip(&cur) {
            *p = c.map(|c| (c.0, c.1, c.3));
        }
        let out = ctx.output::<GameState>();
        // The published buffers get the stage's capacities once (a break's many collisions
        // in one frame must not grow them later).
        if out.events.capacity() < self.state.events.capacity() {
            out.events
                .reserve(self.state.events.capacity() - out.events.len());
        }
        if out.recent.capacity() < GameState::RECENT {
            out.recent.reserve(GameState::RECENT - out.recent.len());
        }
        if out.pocketed.capacity() < 16 {
            out.pocketed.reserve(16 - out.pocketed.len());
        }
        out.phase = self.state.phase;
        out.shots = self.state.shots;
        out.balls_on_table = self.state.balls_on_table;
        out.pocketed.clone_from(&self.state.pocketed);
        out.events.clone_from(&self.state.events);
        out.recent.clone_from(&self.state.recent);
        out.sequence = self.state.sequence;
        ctx.signal("shots", f64::from(self.state.shots));
        // Balls pocketed on this frame (0 on most): what a highlight rule fires on.
        ctx.signal("pocketed", f64::from(pocketed_now));
        Ok(Flow::Continue)
    }

    /// A new game: shots, pocketed balls and events cleared, contacts forgotten. Balls that
    /// are off the table now are not reported as pocketed again (no previous frame).
    fn reset(&mut self) {
        self.moving = false;
        self.rest_pos = None;
        self.pending_start = None;
        self.prev = [None; 16];
        self.on_table = [false; 16];
        self.in_contact = [[false; 16]; 16];
        self.near_rail = [[false; 4]; 16];
        self.state.shots = 0;
        self.state.phase = "idle";
        self.state.pocketed.clear();
        self.state.events.clear();
        self.state.recent.clear();
    }
}

framebus_core::register_stage!(GameStateStage);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
