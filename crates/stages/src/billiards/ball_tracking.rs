//! `ball_tracking`: one Kalman filter per ball in table metres, Hungarian assignment of
//! detections to tracks with a gate, identities held by colour votes, at-rest detection, and
//! pocketing when a track vanishes at a pocket. Publishes
//! [`TrackedBalls`](framebus_billiards::TrackedBalls), the type the `trajectory` stage reads.
//!
//! # How it works
//! State `(x, y, vx, vy)`. Prediction is friction-aware: a moving ball slows by the rolling
//! deceleration `μ·g` along its velocity (and stops rather than reverse); the process noise
//! (`accel_noise`) covers collisions. Each frame, tracks and detections are matched by the
//! Hungarian method on a cost of distance over the gate plus a penalty when the detection's
//! colour identity disagrees with the track's; a dummy column per track lets it go
//! unmatched, and pairs beyond the gate are forbidden. Matched tracks are updated and vote
//! for the detection's identity, weighted by its confidence and by how far the ball moved
//! (a resting ball shows the same face every frame, so its reads count once — a stripe
//! resting with its white cap up cannot out-vote what it showed rolling; a new track's first
//! frames count in full): the track's id is the winner, so ids stay stable through
//! collisions. A lost track is pocketed when its centre, run on from where it was lost
//! along its velocity with rolling friction, is inside a pocket circle (the physics' rule;
//! a fast ball fades over the pocket mouth, a slow one merges with the hole in the jaws),
//! at once when it was last seen on a pocket circle's rim (knocked in from there), or after
//! it has been missed near a pocket for a few frames more (stopped short of the
//! circle by the estimate); one missed elsewhere for `max_missed` frames is dropped; an unmatched
//! detection starts a track (replacing a pocketed track with its identity: a re-spotted or
//! re-racked ball) unless it overlaps a ball tracked this frame (a blur smear's second
//! peak).
//! A ball is at rest when it moved less than `rest_mm` over the last `rest_window_s`.
//!
//! Result (namespace `ball_tracking`): [`TrackedBalls`] (balls on the table and pocketed ones,
//! flagged; the cue line from `cue_detection` in table metres when it is visible).

use framebus_billiards::{CueLine, TrackedBall, TrackedBalls};
use framebus_core::prelude::*;

use super::assign::Hungarian;
use super::ball_detection::DetectedBalls;
use super::cue_detection::CueDetection;
use super::geometry::{LABELS, ball_radius, pockets};

/// Positions kept per track for the at-rest test.
const HISTORY: usize = 64;
/// Most tracks.
const MAX_TRACKS: usize = 32;
/// A track's first frames vote in full even at rest (it needs a name).
const FRESH_FRAMES: u32 = 10;
/// A new track without a name is not shown for its first frames (a ball appearing during
/// the exposure, half drawn, is read with no confidence; the next frame names it).
const TENTATIVE_FRAMES: u32 = 3;
/// Steps below this (metres per frame) are a resting ball's jitter: its votes count nothing.
const REST_STEP_M: f64 = 0.0005;
/// A fast ball lost in a pocket's mouth heading into it and unseen for this many frames has
/// dropped.
const MOUTH_FRAMES: u32 = 3;
/// Most the gate grows with a track's uncertainty, metres. A lost track is held where it
/// was lost while its covariance keeps growing; unbounded, after 20 frames its gate spans
/// the table and it takes a ball that appears anywhere (a re-spotted cue ball named after a
/// ball lost half a second before).
const MAX_GATE_GROWTH: f64 = 0.09;
/// A ball lost near a pocket whose run-on stops short of a pocket circle is called pocketed
/// once it would have stopped and has been unseen this many frames (it cannot have gone
/// anywhere else).
const LATE_POCKET_FRAMES: u32 = 8;

/// Params of [`BallTracking`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BallTrackingParams {
    /// Namespace of the detected balls.
    pub balls_from: String,
    /// Namespace of the cue detection.
    pub cue_from: String,
    /// Rolling deceleration used in prediction, m/s² (μ_r·g).
    #[schemars(range(min = 0, max = 10))]
    pub rolling_decel: f64,
    /// Process noise, m/s² (collisions change velocity suddenly).
    #[schemars(range(min = 0.01, max = 100))]
    pub accel_noise: f64,
    /// Measurement noise, metres.
    #[schemars(range(min = 0.00001, max = 0.05))]
    pub meas_noise: f64,
    /// Gate: largest distance from the prediction a detection may be matched at, metres.
    #[schemars(range(min = 0.005, max = 1))]
    pub gate_m: f64,
    /// Frames a track may go unmatched away from a pocket before it is dropped.
    #[schemars(range(min = 1, max = 10000))]
    pub max_missed: u32,
    /// At rest: moved less than this over `rest_window_s`, millimetres.
    #[schemars(range(min = 0.01, max = 100))]
    pub rest_mm: f64,
    /// At-rest window, seconds.
    #[schemars(range(min = 0.01, max = 10))]
    pub rest_window_s: f64,
}

impl Default for BallTrackingParams {
    fn default() -> Self {
        Self {
            balls_from: "ball_detection".into(),
            cue_from: "cue_detection".into(),
            rolling_decel: 0.0981,
            accel_noise: 20.0,
            meas_noise: 0.0005,
            gate_m: 0.09,
            max_missed: 30,
            rest_mm: 1.0,
            rest_window_s: 0.1,
        }
    }
}

/// Two balls on the table never share a name: when live tracks claim the same identity, the
/// one with the most votes for it keeps it; each other takes its best-voted free identity, or
/// none ("?"). Pocketed tracks keep theirs (a re-spotted ball takes it back).
fn unique_labels(tracks: &mut [Track]) {
    let on_table = |t: &Track| t.live && !t.pocketed;
    let mut owner: [Option<usize>; 16] = [None; 16];
    for i in 0..tracks.len() {
        let Some(l) = tracks[i]
            .label
            .map(usize::from)
            .filter(|_| on_table(&tracks[i]))
        else {
            continue;
        };
        match owner[l] {
            Some(j) if tracks[j].votes[l] >= tracks[i].votes[l] => {}
            _ => owner[l] = Some(i),
        }
    }
    for (i, t) in tracks.iter_mut().enumerate() {
        let Some(l) = t.label.map(usize::from).filter(|_| on_table(t)) else {
            continue;
        };
        if owner[l] == Some(i) {
            continue;
        }
        let free = (0..16)
            .filter(|&k| owner[k].is_none() && t.votes[k] > 0.0)
            .max_by(|&a, &b| t.votes[a].total_cmp(&t.votes[b]));
        t.label = free.map(|k| k as u8);
        if let Some(k) = free {
            owner[k] = Some(i);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Track {
    live: bool,
    x: [f64; 4],
    p: [[f64; 4]; 4],
    votes: [f32; 16],
    label: Option<u8>,
    missed: u32,
    age: u32,
    pocketed: bool,
    at_rest: bool,
    hist: [(f64, [f64; 2]); HISTORY],
    hist_len: usize,
    hist_head: usize,
    /// Position and velocity on the first frame it went unmatched.
    lost_at: [f64; 4],
    /// The last two measured centres and how many frames in a row it was measured.
    z_last: [f64; 2],
    z_prev: [f64; 2],
    z_run: u32,
    /// Lost near a pocket, not yet called pocketed: still shown, not at rest (the game
    /// must not call the balls at rest while one may still be dropping).
    pending_pocket: bool,
    /// Published as pocketed at least once.
    shown_pocketed: bool,
}

impl Default for Track {
    fn default() -> Self {
        Self {
            live: false,
            x: [0.0; 4],
            p: [[0.0; 4]; 4],
            votes: [0.0; 16],
            label: None,
            missed: 0,
            age: 0,
            pocketed: false,
            at_rest: false,
            hist: [(0.0, [0.0; 2]); HISTORY],
            hist_len: 0,
            hist_head: 0,
            lost_at: [0.0; 4],
            z_last: [0.0; 2],
            z_prev: [0.0; 2],
            z_run: 0,
            pending_pocket: false,
            shown_pocketed: false,
        }
    }
}

impl Track {
    fn start(&mut self, m: [f64; 2], number: u8, conf: f64, meas: f64) {
        *self = Track {
            live: true,
            x: [m[0], m[1], 0.0, 0.0],
            // Where it was last seen is where it starts (the rim rule reads it even when the
            // track is lost on its first frames; the table's origin is a pocket).
            z_last: m,
            z_prev: m,
            ..Default::default()
        };
        let pv = meas * meas;
        self.p = [
            [pv, 0.0, 0.0, 0.0],
            [0.0, pv, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        self.vote(number, conf);
    }

    /// Adds a colour vote of `weight` (the detection's confidence times how new the view
    /// is); older votes fade by 0.5 % per unit of weight. The label changes only when
    /// another identity's votes exceed the current one's by half again (hysteresis against a
    /// few misread frames).
    fn vote(&mut self, number: u8, weight: f64) {
        if number >= 16 || weight <= 0.0 {
            return;
        }
        let fade = 0.995f32.powf(weight as f32);
        for v in &mut self.votes {
            *v *= fade;
        }
        self.votes[number as usize % 16] += weight as f32;
        let (best, score) = self
            .votes
            .iter()
            .enumerate()
            .fold((0, 0.0f32), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        let current = self.label.map_or(0.0, |l| self.votes[usize::from(l)]);
        if score > 0.0 && (self.label.is_none() || score > 1.5 * current) {
            self.label = Some(best as u8);
        }
    }

    fn push_hist(&mut self, t: f64) {
        self.hist[self.hist_head] = (t, [self.x[0], self.x[1]]);
        self.hist_head = (self.hist_head + 1) % HISTORY;
        self.hist_len = (self.hist_len + 1).min(HISTORY);
    }

    /// Displacement since the newest sample at least `window` seconds old (None: too young).
    fn moved_over(&self, t: f64, window: f64) -> Option<f64> {
        let now = [self.x[0], self.x[1]];
        for k in 1..=self.hist_len {
            let (ts, p) = self.hist[(self.hist_head + HISTORY - k) % HISTORY];
            if t - ts >= window - 1e-6 {
                return Some((now[0] - p[0]).hypot(now[1] - p[1]));
            }
        }
        None
    }
}

/// Tracks balls. See the [module docs](self).
pub struct BallTracking {
    params: BallTrackingParams,
    tracks: Vec<Track>,
    last_t: Option<f64>,
    cost: Vec<f64>,
    rows: Vec<usize>,
    assignment: Vec<usize>,
    det_used: Vec<bool>,
    hungarian: Hungarian,
    out: TrackedBalls,
    cue: CueLine,
    /// The published cue line while no cue is seen (reused when it comes back).
    spare_cue: Option<CueLine>,
    /// Published balls no longer shown (reused when the count grows again).
    spare_balls: Vec<TrackedBall>,
}

/// Distance from point `p` to the segment `a`–`b`.
fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let u = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - u * dx).hypot(p[1] - a[1] - u * dy)
}

fn predict(tr: &mut Track, dt: f64, decel: f64, q: f64) {
    let (vx, vy) = (tr.x[2], tr.x[3]);
    let speed = vx.hypot(vy);
    if speed > 0.0 {
        let dv = decel * dt;
        if speed <= dv {
            let k = speed / (2.0 * decel).max(1e-9);
            tr.x[0] += vx * k;
            tr.x[1] += vy * k;
            tr.x[2] = 0.0;
            tr.x[3] = 0.0;
        } else {
            let (ux, uy) = (vx / speed, vy / speed);
            tr.x[0] += vx * dt - 0.5 * dv * dt * ux;
            tr.x[1] += vy * dt - 0.5 * dv * dt * uy;
            tr.x[2] -= dv * ux;
            tr.x[3] -= dv * uy;
        }
    }
    // P = F P Fᵀ + Q for the constant-velocity F, per axis.
    let p = &mut tr.p;
    for a in 0..2 {
        let (i, j) = (a, a + 2);
        let (pii, pij, pjj) = (p[i][i], p[i][j], p[j][j]);
        p[i][i] = pii + 2.0 * dt * pij + dt * dt * pjj + q * dt.powi(4) / 4.0;
        p[i][j] = pij + dt * pjj + q * dt.powi(3) / 2.0;
        p[j][i] = p[i][j];
        p[j][j] = pjj + q * dt * dt;
    }
}

#[allow(clippy::needless_range_loop)] // i and j index the state, a the measurement
fn update(tr: &mut Track, z: [f64; 2], r: f64) {
    // Axes are independent (no cross terms are ever created).
    for a in 0..2 {
        let (i, j) = (a, a + 2);
        let s = tr.p[i][i] + r;
        let (ki, kj) = (tr.p[i][i] / s, tr.p[j][i] / s);
        let y = z[a] - tr.x[i];
        tr.x[i] += ki * y;
        tr.x[j] += kj * y;
        let (pii, pij, pjj) = (tr.p[i][i], tr.p[i][j], tr.p[j][j]);
        tr.p[i][i] = (1.0 - ki) * pii;
        tr.p[i][j] = (1.0 - ki) * pij;
        tr.p[j][i] = tr.p[i][j];
        tr.p[j][j] = pjj - kj * pij;
    }
}

impl Stage for BallTracking {
    type Params = BallTrackingParams;

    const INFO: StageInfo = StageInfo {
        id: "ball_tracking",
        version: "0.1.0",
        description: "Kalman tracks of pool balls in table metres with Hungarian assignment, stable ids, at-rest and pocketing",
        namespace: Some("ball_tracking"),
        commands: &[],
    };

    fn new(params: BallTrackingParams, _init: &StageInit) -> Result<Self> {
        // Every entry the published lists can hold, with its id buffer, made now: the first
        // frame that shows more balls than before (a 17th track beside a pocketed one) must
        // not allocate.
        let entry = || TrackedBall {
            id: String::with_capacity(8),
            ..TrackedBall::default()
        };
        let mut out = TrackedBalls::default();
        out.balls.extend((0..MAX_TRACKS).map(|_| entry()));
        Ok(Self {
            params,
            tracks: vec![Track::default(); MAX_TRACKS],
            last_t: None,
            cost: Vec::with_capacity(MAX_TRACKS * 2 * MAX_TRACKS),
            rows: Vec::with_capacity(MAX_TRACKS),
            assignment: Vec::with_capacity(MAX_TRACKS),
            det_used: Vec::with_capacity(64),
            hungarian: Hungarian::default(),
            out,
            cue: CueLine {
                tip: [0.0; 2],
                angle_deg: 0.0,
                ball: Some(String::with_capacity(8)),
            },
            spare_cue: None,
            spare_balls: (0..MAX_TRACKS).map(|_| entry()).collect(),
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let t = ctx.frame().t_ns as f64 * 1e-9;
        let dt = match self.last_t {
            Some(prev) if t > prev => (t - prev).min(1.0),
            _ => 1.0 / 60.0,
        };
        self.last_t = Some(t);
        // Borrowed, not cloned (a clone would copy the namespace strings every frame).
        let p = &self.params;
        let q = p.accel_noise * p.accel_noise;
        let meas_r = p.meas_noise * p.meas_noise;
        let radius = ball_radius();
        let pk = pockets();
        for tr in self.tracks.iter_mut().filter(|t| t.live && !t.pocketed) {
            predict(tr, dt, p.rolling_decel, q);
        }
        let empty = DetectedBalls::default();
        let dets = ctx.get::<DetectedBalls>(&p.balls_from).unwrap_or(&empty);
        let nd = dets.balls.len();
        // Rows: live, unpocketed tracks. Columns: detections, then one dummy per row.
        self.rows.clear();
        self.rows.extend(
            self.tracks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.live && !t.pocketed)
                .map(|(i, _)| i),
        );
        let nr = self.rows.len();
        let nc = nd + nr;
        const FORBID: f64 = 1e6;
        self.cost.clear();
        for (ri, &ti) in self.rows.iter().enumerate() {
            let tr = &self.tracks[ti];
            let sigma = (tr.p[0][0] + tr.p[1][1]).sqrt();
            let gate = p.gate_m + (3.0 * sigma).min(MAX_GATE_GROWTH);
            for d in &dets.balls {
                let dist = (d.m[0] - tr.x[0]).hypot(d.m[1] - tr.x[1]);
                let c = if dist > gate {
                    FORBID
                } else {
                    let pen = match tr.label {
                        Some(l) if l != d.number && d.number < 16 => 0.8 * d.confidence.max(0.1),
                        _ => 0.0,
                    };
                    dist / gate + pen
                };
                self.cost.push(c);
            }
            for k in 0..nr {
                self.cost.push(if k == ri { 1.0 } else { FORBID });
            }
        }
        self.hungarian
            .solve(&self.cost, nr, nc, &mut self.assignment);
        self.det_used.clear();
        self.det_used.resize(nd, false);
        for (ri, &col) in self.assignment.iter().enumerate() {
            if col < nd && self.cost[ri * nc + col] < FORBID {
                self.det_used[col] = true;
            }
        }
        // Second chance: a track left unmatched takes a detection left over within its gate
        // whatever its colour — a fast ball's blurred colour is often misread, and the
        // penalty must not make it a new, misnamed track. Closest pairs first (pairs left
        // over are not ambiguous; a track earlier in the list must not take a detection
        // another track is nearer to).
        loop {
            let mut best: Option<(usize, usize, f64)> = None;
            for ri in 0..nr {
                let col = self.assignment[ri];
                if col < nd && self.cost[ri * nc + col] < FORBID {
                    continue;
                }
                let tr = &self.tracks[self.rows[ri]];
                for k in 0..nd {
                    if self.det_used[k] || self.cost[ri * nc + k] >= FORBID {
                        continue;
                    }
                    let d = &dets.balls[k];
                    let dist = (d.m[0] - tr.x[0]).hypot(d.m[1] - tr.x[1]);
                    if best.is_none_or(|b| dist < b.2) {
                        best = Some((ri, k, dist));
                    }
                }
            }
            let Some((ri, k, _)) = best else { break };
            self.assignment[ri] = k;
            self.det_used[k] = true;
        }
        for (ri, &col) in self.assignment.iter().enumerate() {
            let ti = self.rows[ri];
            let matched = col < nd && self.cost[ri * nc + col] < FORBID;
            let tr = &mut self.tracks[ti];
            if matched {
                let d = &dets.balls[col];
                let before = [tr.x[0], tr.x[1]];
                update(tr, d.m, meas_r);
                tr.pending_pocket = false;
                // A resting ball shows the same face every frame: its repeated reads are one
                // piece of evidence, not many (a stripe resting with its white cap up would
                // otherwise out-vote what it showed while rolling). A rolling ball turns a
                // new face every quarter radius; a new track's first frames all count.
                let step = (tr.x[0] - before[0]).hypot(tr.x[1] - before[1]);
                let fresh = if tr.age < FRESH_FRAMES {
                    1.0
                } else {
                    ((step - REST_STEP_M) / (0.25 * radius)).clamp(0.0, 1.0)
                };
                tr.vote(d.number, d.confidence.max(0.05) * fresh);
                (tr.z_prev, tr.z_run) = if tr.missed == 0 {
                    (tr.z_last, tr.z_run + 1)
                } else {
                    (d.m, 1)
                };
                tr.z_last = d.m;
                tr.missed = 0;
            } else {
                tr.missed += 1;
                if tr.missed == 1 {
                    tr.lost_at = [tr.x[0], tr.x[1], tr.x[2], tr.x[3]];
                    // Just after a collision the filter's velocity is still the old one
                    // (it follows a sudden change over a few frames); the last two
                    // measurements show the new one. A ball lost then (knocked into a
                    // pocket) runs on along the measured velocity.
                    if tr.z_run >= 2 {
                        let v = [
                            (tr.z_last[0] - tr.z_prev[0]) / dt,
                            (tr.z_last[1] - tr.z_prev[1]) / dt,
                        ];
                        let filt = tr.x[2].hypot(tr.x[3]);
                        if (v[0] - tr.x[2]).hypot(v[1] - tr.x[3]) > 0.15 + 0.2 * filt {
                            tr.lost_at = [
                                tr.z_last[0] + v[0] * dt,
                                tr.z_last[1] + v[1] * dt,
                                v[0],
                                v[1],
                            ];
                        }
                    }
                }
                if tr.missed >= 2 {
                    // Lost: stop coasting (it is hidden until seen again).
                    tr.x[2] = 0.0;
                    tr.x[3] = 0.0;
                }
                // Pocketed when its centre is inside a pocket circle — the physics' rule —
                // on the line it was running on when lost, slowed by rolling friction (a
                // fast ball blurs and fades over the pocket mouth; a slow one is lost in
                // the jaws, merged with the hole, before it drops), at the middle of this
                // frame's exposure. Never earlier: a ball missed by the jaws that stops short
                // is called pocketed only after `LATE_POCKET_FRAMES` more frames unseen.
                let tau = f64::from(tr.missed - 1) * dt + 0.25 * dt;
                let [lx, ly, lvx, lvy] = tr.lost_at;
                let speed = lvx.hypot(lvy);
                let t_stop = speed / p.rolling_decel.max(1e-9);
                let end = if speed > 1e-9 {
                    let tt = tau.min(t_stop);
                    let s = speed * tt - 0.5 * p.rolling_decel * tt * tt;
                    [lx + lvx / speed * s, ly + lvy / speed * s]
                } else {
                    [lx, ly]
                };
                // The run-on must reach a quarter of a ball inside the circle (the estimate of
                // a ball lost in the jaws runs a little fast: it rubs the jaw, and an early
                // call is worse than a frame late); a ball that vanishes at a circle's edge
                // has dropped (its tracked centre lags the true one by a frame's travel). So
                // has one last seen there: a ball resting on the rim knocked in by another
                // (its filter, pulled by the hit, may already point out of the mouth).
                let [zx, zy] = tr.z_last;
                let into_pocket = pk.iter().any(|(c, r)| {
                    segment_distance(*c, [lx, ly], end) < r - 0.25 * radius
                        || (c[0] - lx).hypot(c[1] - ly) < r + 0.15 * radius
                        || (c[0] - zx).hypot(c[1] - zy) < r + 0.2 * radius
                });
                let near_pocket = pk.iter().any(|(c, r)| {
                    (c[0] - end[0]).hypot(c[1] - end[1]) < r + 2.5 * radius
                        || (c[0] - tr.x[0]).hypot(c[1] - tr.x[1]) < r + 2.5 * radius
                });
                let stopped = tau >= t_stop;
                // A fast ball lost in a pocket's mouth heading into it, unseen since: it hit a
                // jaw and dropped (its run-on, a straight line, misses the circle). A ball
                // that rebounds off the jaw is back in view sooner.
                // One lost in the mouth whose run-on heads out of it (knocked in from beside
                // the pocket: the filter has not caught its new velocity) and unseen for
                // `LATE_POCKET_FRAMES` has dropped too (late). One heading in slowly may hang
                // in the jaws before it drops: its run-on decides.
                let mouth = |inward: bool| {
                    pk.iter().any(|(c, r)| {
                        let (dx, dy) = (c[0] - lx, c[1] - ly);
                        dx.hypot(dy) < r + 1.5 * radius && (dx * lvx + dy * lvy > 0.0) == inward
                    })
                };
                let in_mouth = (tr.missed >= MOUTH_FRAMES && speed >= 0.3 && mouth(true))
                    || (tr.missed > LATE_POCKET_FRAMES && mouth(false));
                tr.pending_pocket = near_pocket;
                if into_pocket
                    || in_mouth
                    || (near_pocket && stopped && tr.missed > LATE_POCKET_FRAMES)
                {
                    tr.pocketed = true;
                    tr.pending_pocket = false;
                    tr.x[2] = 0.0;
                    tr.x[3] = 0.0;
                } else if tr.missed > p.max_missed {
                    tr.live = false;
                }
            }
            tr.age += 1;
        }
        // New tracks for unmatched detections.
        for (k, d) in dets.balls.iter().enumerate() {
            if self.det_used[k] {
                continue;
            }
            // Overlapping a ball tracked this frame: a second peak of the same ball (a long
            // motion-blur smear), not a new one — two balls are never closer than 2 R.
            let ghost = self.tracks.iter().any(|t| {
                t.live
                    && !t.pocketed
                    && t.missed == 0
                    && (t.x[0] - d.m[0]).hypot(t.x[1] - d.m[1]) < 1.5 * radius
            });
            if ghost {
                continue;
            }
            // A pocketed (or lost) ball with this identity has come back: replace it. One
            // lost at a pocket dropped (a scratched cue ball is re-spotted as soon as the
            // balls rest): it is shown pocketed this frame, and retired once shown.
            for tr in self.tracks.iter_mut() {
                if !(tr.live && d.number < 16 && tr.label == Some(d.number)) {
                    continue;
                }
                if tr.pending_pocket {
                    tr.pocketed = true;
                    tr.pending_pocket = false;
                } else if tr.pocketed {
                    tr.live = !tr.shown_pocketed;
                } else if tr.missed > 0 {
                    tr.live = false;
                }
            }
            if let Some(tr) = self.tracks.iter_mut().find(|t| !t.live) {
                tr.start(d.m, d.number, d.confidence, p.meas_noise);
            }
        }
        // At rest and history.
        for tr in self.tracks.iter_mut().filter(|t| t.live && !t.pocketed) {
            tr.push_hist(t);
            tr.at_rest = match tr.moved_over(t, p.rest_window_s) {
                Some(m) => m < p.rest_mm * 1e-3,
                None => false,
            };
        }
        // A ball seen this frame named like a lost one (by at least half a confident read):
        // the lost one is not on the table.
        // One lost at a pocket has dropped (a scratched cue ball re-spotted while its track
        // still waited at the pocket; without this the old track kept the name — it had
        // more votes — and the re-spotted ball showed its second-best name); one lost
        // elsewhere is dropped.
        for i in 0..self.tracks.len() {
            let t = &self.tracks[i];
            if !(t.live && !t.pocketed && t.missed > 0 && t.label.is_some()) {
                continue;
            }
            let l = t.label.map_or(0, usize::from);
            let seen = self.tracks.iter().any(|o| {
                o.live && !o.pocketed && o.missed == 0 && o.label == t.label && o.votes[l] >= 0.5
            });
            if seen {
                let t = &mut self.tracks[i];
                if t.pending_pocket {
                    t.pocketed = true;
                    t.pending_pocket = false;
                    t.x[2] = 0.0;
                    t.x[3] = 0.0;
                } else {
                    t.live = false;
                }
            }
        }
        unique_labels(&mut self.tracks);
        // A pocketed track already shown whose identity is back on the table: retired.
        for i in 0..self.tracks.len() {
            let t = &self.tracks[i];
            if !(t.live && t.pocketed && t.shown_pocketed) {
                continue;
            }
            let back = self
                .tracks
                .iter()
                .any(|o| o.live && !o.pocketed && o.missed == 0 && o.label == t.label);
            if back {
                self.tracks[i].live = false;
            }
        }
        // Publish, ordered by identity.
        let out = &mut self.out;
        let mut n = 0;
        for number in 0..=16usize {
            for tr in self.tracks.iter().filter(|t| {
                t.live
                    && (t.pocketed || t.missed == 0 || t.pending_pocket)
                    && (t.label.is_some() || t.age >= TENTATIVE_FRAMES)
            }) {
                let lab = tr.label.map_or(16, usize::from);
                if lab != number {
                    continue;
                }
                if out.balls.len() <= n {
                    out.balls.push(TrackedBall::default());
                }
                let b = &mut out.balls[n];
                b.id.clear();
                b.id.push_str(if lab < 16 { LABELS[lab] } else { "?" });
                b.x = tr.x[0];
                b.y = tr.x[1];
                (b.vx, b.vy) = if tr.at_rest || tr.pocketed {
                    (0.0, 0.0)
                } else {
                    (tr.x[2], tr.x[3])
                };
                b.at_rest = (tr.at_rest && !tr.pending_pocket) || tr.pocketed;
                b.pocketed = tr.pocketed;
                n += 1;
            }
        }
        for tr in self.tracks.iter_mut().filter(|t| t.live && t.pocketed) {
            tr.shown_pocketed = true;
        }
        // Entries past `n` are kept (their id buffers), not truncated.
        let shown = &out.balls[..n];
        let cue = ctx
            .get::<CueDetection>(&p.cue_from)
            .copied()
            .unwrap_or_default();
        if cue.visible {
            self.cue.tip = cue.tip_m;
            self.cue.angle_deg = cue.angle_deg;
            let toward_cue_ball = shown
                .iter()
                .find(|b| b.id == "cue" && !b.pocketed)
                .is_some_and(|b| {
                    let (s, c) = cue.angle_deg.to_radians().sin_cos();
                    let (dx, dy) = (b.x - cue.tip_m[0], b.y - cue.tip_m[1]);
                    (dx * s - dy * c).abs() < 2.0 * radius && dx * c + dy * s > 0.0
                });
            if let Some(id) = &mut self.cue.ball {
                id.clear();
                if toward_cue_ball {
                    id.push_str("cue");
                }
            }
        }
        let on_table = shown.iter().filter(|b| !b.pocketed).count();
        let moving = shown.iter().filter(|b| !b.at_rest).count();
        // Copy out keeping the destination's buffers (the cue line allocates only the first
        // time the cue appears).
        let o = ctx.output::<TrackedBalls>();
        // Resized through a spare list so a ball that comes back reuses an id buffer.
        if o.balls.capacity() < MAX_TRACKS {
            o.balls.reserve(MAX_TRACKS - o.balls.len());
        }
        while o.balls.len() > n {
            if let Some(b) = o.balls.pop() {
                self.spare_balls.push(b);
            }
        }
        while o.balls.len() < n {
            o.balls.push(self.spare_balls.pop().unwrap_or_default());
        }
        for (d, s) in o.balls.iter_mut().zip(&self.out.balls[..n]) {
            d.clone_from(s);
        }
        match (&mut o.cue, cue.visible) {
            (Some(c), true) => {
                c.tip = self.cue.tip;
                c.angle_deg = self.cue.angle_deg;
                c.ball.clone_from(&self.cue.ball);
            }
            (slot @ None, true) => {
                // The line kept when the cue last left (its id buffer), else a new one.
                let mut c = self.spare_cue.take().unwrap_or_else(|| self.cue.clone());
                c.tip = self.cue.tip;
                c.angle_deg = self.cue.angle_deg;
                c.ball.clone_from(&self.cue.ball);
                *slot = Some(c);
            }
            (slot, false) => {
                if let Some(c) = slot.take() {
                    self.spare_cue = Some(c);
                }
            }
        }
        ctx.signal("balls_on_table", on_table as f64);
        ctx.signal("balls_moving", moving as f64);
        Ok(Flow::Continue)
    }

    fn reset(&mut self) {
        for t in &mut self.tracks {
            t.live = false;
        }
        self.last_t = None;
    }
}

framebus_core::register_stage!(BallTracking);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(label: u8, votes: &[(usize, f32)]) -> Track {
        let mut t = Track {
            live: true,
            label: Some(label),
            ..Track::default()
        };
        for &(k, v) in votes {
            t.votes[k] = v;
        }
        t
    }

    #[test]
    fn two_tracks_never_share_a_name_on_the_table() {
        // A white-capped 11 voted "cue" more often than the cue ball did; the cue ball keeps
        // its name only if it has more votes, so here 11 keeps "cue" and the cue ball, with
        // no other votes, becomes unnamed; a third track keeps its own name.
        let mut tracks = vec![
            track(0, &[(0, 3.0)]),
            track(0, &[(0, 5.0), (11, 2.0)]),
            track(4, &[(4, 1.0)]),
        ];
        unique_labels(&mut tracks);
        assert_eq!(tracks[1].label, Some(0));
        assert_eq!(tracks[0].label, None);
        assert_eq!(tracks[2].label, Some(4));
        // The loser takes its best-voted free name.
        let mut tracks = vec![
            track(0, &[(0, 5.0)]),
            track(0, &[(0, 2.0), (4, 1.5), (11, 1.0)]),
            track(4, &[(4, 1.0)]),
        ];
        unique_labels(&mut tracks);
        assert_eq!(tracks[0].label, Some(0));
        assert_eq!(tracks[1].label, Some(11), "4 is taken");
        assert_eq!(tracks[2].label, Some(4));
        // Pocketed and dead tracks hold no claim.
        let mut tracks = vec![track(0, &[(0, 9.0)]), track(0, &[(0, 1.0)])];
        tracks[0].pocketed = true;
        unique_labels(&mut tracks);
        assert_eq!(tracks[1].label, Some(0));
        tracks[0].pocketed = false;
        tracks[0].live = false;
        unique_labels(&mut tracks);
        assert_eq!(tracks[1].label, Some(0));
    }
}
