//! Scoring a ball tracker and a game-event detector against the synthetic table's ground
//! truth: identity switches (a true ball whose tracked name changes), identity errors, and
//! how far detected `shot_started`, `pocketed` and `balls_at_rest` events are from the
//! truth's (frames for the first two, seconds for the last), plus detected events with no
//! true event near them. Used by the billiards tests and `framebus bench --only billiards`.
//!
//! Feed it every frame ([`TrackingScore::frame`]) and every detected event
//! ([`TrackingScore::event`]); then [`TrackingScore::report`] with the source's
//! [`EventLog`].

use std::collections::VecDeque;
use std::fmt;

use framebus_billiards::TrackedBalls;

use super::truth::{EventKind, EventLog, TableTruth};

/// Ball radius, metres (a tracked ball farther than this from a true one is not it).
const RADIUS: f64 = 0.028575;

/// The events scored, in [`TrackingReport`]'s array order.
pub const SCORED: [&str; 3] = ["shot_started", "pocketed", "balls_at_rest"];

/// Tolerances: `shot_started` 1 frame, `pocketed` 2 frames, `balls_at_rest` 0.2 s.
pub const TOLERANCE: [f64; 3] = [1.0, 2.0, 0.2];

/// Identity switches described in [`TrackingReport::switch_log`], at most.
pub const SWITCH_LOG: usize = 64;

/// Frames of context kept for [`TrackingReport::switch_detail`] (the switch frame and the
/// ones before it).
const TRACE_FRAMES: usize = 12;

/// One frame as the trace keeps it: truth, tracked balls, detections.
#[derive(Debug, Clone, Default)]
struct TraceFrame {
    frame_id: u64,
    /// (number, metres, velocity m/s, pocketed).
    truth: Vec<(u8, [f64; 2], [f64; 2], bool)>,
    /// (tracked name as a number, metres, pocketed).
    tracked: Vec<(u8, [f64; 2], bool)>,
    /// (detected number, metres, confidence).
    detections: Vec<(u8, [f64; 2], f64)>,
}

/// A ball number as the tracker names it ("cue", "7", "?" for unnamed).
fn name(n: u8) -> String {
    match n {
        0 => "cue".into(),
        16.. => "?".into(),
        n => n.to_string(),
    }
}

/// Ball number of a tracker name: "cue" → 0, "1".."15"; anything else → 16 (unnamed).
fn number(id: &str) -> u8 {
    match id {
        "cue" => 0,
        s => s.parse::<u8>().ok().filter(|&n| n < 16).unwrap_or(16),
    }
}

/// Accumulates per-frame identities and detected events. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct TrackingScore {
    fps: f64,
    frames: u64,
    /// The first frame scored (a scene may be joined part way, `SyntheticTable::skip_to`).
    first: Option<u64>,
    last_id: [Option<u8>; 16],
    switches: u64,
    switches_by_ball: [u64; 16],
    id_errors: u64,
    id_errors_by_ball: [u64; 16],
    checks: u64,
    /// Identity switches as (frame id, true number, previous name, new name); the first
    /// [`SWITCH_LOG`] kept.
    switch_log: Vec<(u64, u8, u8, u8)>,
    /// (scored kind index, frame id, ball number).
    detected: Vec<(usize, u64, u8)>,
    /// The last frames, kept when tracing ([`TrackingScore::trace`]).
    trace: Option<VecDeque<TraceFrame>>,
    /// Detections handed in for the next frame (tracing only).
    pending_dets: Vec<(u8, [f64; 2], f64)>,
    /// Context of each logged switch.
    switch_detail: Vec<String>,
}

impl TrackingScore {
    /// A score for a camera at `fps` (the scene's frame rate).
    pub fn new(fps: f64) -> Self {
        Self {
            fps,
            frames: 0,
            first: None,
            last_id: [None; 16],
            switches: 0,
            switches_by_ball: [0; 16],
            id_errors: 0,
            id_errors_by_ball: [0; 16],
            checks: 0,
            switch_log: Vec::new(),
            detected: Vec::new(),
            trace: None,
            pending_dets: Vec::new(),
            switch_detail: Vec::new(),
        }
    }

    /// Keeps the last frames (truth, tracked balls, and detections given to
    /// [`TrackingScore::detections`]) and describes each logged switch with them in
    /// [`TrackingReport::switch_detail`]: for the switched ball, frame by frame, its true
    /// position and velocity, the true balls, tracked balls and detections within three
    /// radii of it.
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on.then(VecDeque::new);
        self
    }

    /// The detector's balls for the next [`TrackingScore::frame`] as `(number (16 =
    /// unknown), [x, y] metres, confidence)`; kept only when tracing.
    pub fn detections(&mut self, dets: impl Iterator<Item = (u8, [f64; 2], f64)>) {
        if self.trace.is_some() {
            self.pending_dets.clear();
            self.pending_dets.extend(dets);
        }
    }

    /// Describes the traced frames around ball `ball` (see [`TrackingScore::trace`]).
    fn describe(&self, ball: u8) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let Some(frames) = &self.trace else {
            return out;
        };
        let mm = |a: [f64; 2], b: [f64; 2]| {
            format!(
                "({:+.1},{:+.1})mm",
                (a[0] - b[0]) * 1e3,
                (a[1] - b[1]) * 1e3
            )
        };
        for f in frames {
            let Some(&(_, at, vel, _)) = f.truth.iter().find(|t| t.0 == ball) else {
                continue;
            };
            let near = |p: [f64; 2]| (p[0] - at[0]).hypot(p[1] - at[1]) < 3.0 * RADIUS;
            let _ = write!(
                out,
                "\n    f{} t={:.3}s true ({:.4},{:.4}) v=({:+.2},{:+.2}) |",
                f.frame_id,
                self.t_of(f.frame_id),
                at[0],
                at[1],
                vel[0],
                vel[1]
            );
            for t in f.truth.iter().filter(|t| t.0 != ball && !t.3 && near(t.1)) {
                let _ = write!(out, " true {}{}", name(t.0), mm(t.1, at));
            }
            let _ = write!(out, " | tracked:");
            for t in f.tracked.iter().filter(|t| !t.2 && near(t.1)) {
                let _ = write!(out, " {}{}", name(t.0), mm(t.1, at));
            }
            let _ = write!(out, " | dets:");
            for d in f.detections.iter().filter(|d| near(d.1)) {
                let _ = write!(out, " {}:{:.2}{}", name(d.0), d.2, mm(d.1, at));
            }
        }
        out
    }

    /// One frame: the truth and the tracker's balls as `(name, [x, y] metres, pocketed)`.
    /// Each true ball on the table is matched to the nearest tracked ball on the table within
    /// a radius; its name is checked against the truth and against its name last time.
    pub fn frame<'a>(
        &mut self,
        truth: &TableTruth,
        tracked: impl Iterator<Item = (&'a str, [f64; 2], bool)> + Clone,
    ) {
        self.frames = self.frames.max(truth.frame_id);
        self.first.get_or_insert(truth.frame_id);
        if let Some(frames) = &mut self.trace {
            let mut f = if frames.len() >= TRACE_FRAMES {
                frames.pop_front().unwrap_or_default()
            } else {
                TraceFrame::default()
            };
            f.frame_id = truth.frame_id;
            f.truth.clear();
            f.truth.extend(
                truth
                    .balls
                    .iter()
                    .map(|b| (b.number, b.m, b.vel, b.pocketed)),
            );
            f.tracked.clear();
            f.tracked
                .extend(tracked.clone().map(|t| (number(t.0), t.1, t.2)));
            std::mem::swap(&mut f.detections, &mut self.pending_dets);
            self.pending_dets.clear();
            frames.push_back(f);
        }
        for b in truth.balls.iter().filter(|b| !b.pocketed) {
            let near = tracked
                .clone()
                .filter(|t| !t.2)
                .map(|t| (t.0, (t.1[0] - b.m[0]).hypot(t.1[1] - b.m[1])))
                .min_by(|x, y| x.1.total_cmp(&y.1))
                .filter(|(_, d)| *d < RADIUS);
            let Some((id, _)) = near else { continue };
            let n = number(id);
            self.checks += 1;
            if n != b.number {
                self.id_errors += 1;
                self.id_errors_by_ball[usize::from(b.number % 16)] += 1;
            }
            let last = self.last_id[usize::from(b.number)];
            self.last_id[usize::from(b.number)] = Some(n);
            if let Some(prev) = last.filter(|&prev| prev != n) {
                self.switches += 1;
                self.switches_by_ball[usize::from(b.number)] += 1;
                if self.switch_log.len() < SWITCH_LOG {
                    self.switch_log.push((truth.frame_id, b.number, prev, n));
                    if self.trace.is_some() {
                        let d = self.describe(b.number);
                        self.switch_detail.push(d);
                    }
                }
            }
        }
    }

    /// One frame scored against a tracker's published [`TrackedBalls`].
    pub fn tracked(&mut self, truth: &TableTruth, tracked: &TrackedBalls) {
        self.frame(
            truth,
            tracked
                .balls
                .iter()
                .map(|b| (b.id.as_str(), [b.x, b.y], b.pocketed)),
        );
    }

    /// A detected event (`kind` as `game_state` names it; others are ignored) seen in frame
    /// `frame_id`; `ball` is its first ball ("cue", "7", or "").
    pub fn event(&mut self, kind: &str, frame_id: u64, ball: &str) {
        if let Some(k) = SCORED.iter().position(|s| *s == kind) {
            self.detected.push((k, frame_id, number(ball)));
        }
    }

    /// Scene time of frame `id` (mid-exposure).
    fn t_of(&self, id: u64) -> f64 {
        (id - 1) as f64 / self.fps
    }

    /// The first frame whose exposure (half the frame period, centred) reaches time `t`.
    fn first_frame(&self, t: f64) -> u64 {
        ((t - 0.25 / self.fps) * self.fps).ceil().max(0.0) as u64 + 1
    }

    /// Offset of a detection from a true event: frames (kinds 0, 1) or seconds (kind 2).
    fn offset(&self, k: usize, frame_id: u64, t: f64) -> f64 {
        if k == 2 {
            (self.t_of(frame_id) - t).abs()
        } else {
            (frame_id as f64 - self.first_frame(t) as f64).abs()
        }
    }

    /// Scores the detected events against the truth's `log`. True events in the last 0.25 s
    /// (the detector may not have seen them yet) and in the first 0.25 s scored are left
    /// out.
    pub fn report(&self, log: &EventLog) -> TrackingReport {
        let mut r = TrackingReport {
            frames: self.frames,
            switches: self.switches,
            switches_by_ball: self.switches_by_ball,
            id_errors: self.id_errors,
            id_errors_by_ball: self.id_errors_by_ball,
            checks: self.checks,
            switch_log: self
                .switch_log
                .iter()
                .map(|&(f, b, prev, n)| {
                    format!(
                        "ball {} at frame {f} ({:.3}s): named {} then {}",
                        name(b),
                        self.t_of(f),
                        name(prev),
                        name(n)
                    )
                })
                .collect(),
            switch_detail: self.switch_detail.clone(),
            ..Default::default()
        };
        let horizon = self.t_of(self.frames.max(1)) - 0.25;
        // Likewise true events in the first 0.25 s scored (the tracker had just started).
        let start = self.t_of(self.first.unwrap_or(1)) + 0.25;
        let mut truths: Vec<(usize, f64, u8)> = Vec::new();
        for e in log.iter().filter(|e| e.t <= horizon && e.t >= start) {
            let k = match e.kind {
                EventKind::ShotStarted => 0,
                EventKind::Pocketed => 1,
                EventKind::BallsAtRest => 2,
                _ => continue,
            };
            truths.push((k, e.t, e.a));
        }
        let matches =
            |k: usize, ball: u8, dk: usize, dball: u8| dk == k && (k != 1 || dball == ball);
        for &(k, t, ball) in &truths {
            r.counts[k] += 1;
            let best = self
                .detected
                .iter()
                .filter(|d| matches(k, ball, d.0, d.2))
                .map(|d| self.offset(k, d.1, t))
                .fold(f64::MAX, f64::min);
            if best <= TOLERANCE[k] {
                r.worst[k] = r.worst[k].max(best);
            } else {
                let name = name(ball);
                r.missed.push(format!(
                    "{} {} at {t:.3}s (nearest {})",
                    SCORED[k],
                    if k == 1 { name.as_str() } else { "" },
                    if best == f64::MAX {
                        "none".to_string()
                    } else {
                        format!("{best:.3} off")
                    }
                ));
            }
        }
        // Detections with no true event within tolerance (spurious), up to the horizon plus
        // their tolerance (a later one may be of a true event past the horizon).
        for &(k, fid, ball) in &self.detected {
            let tol_s = if k == 2 {
                TOLERANCE[2]
            } else {
                TOLERANCE[k] / self.fps
            };
            if self.t_of(fid) > horizon + tol_s || self.t_of(fid) < start + tol_s {
                continue;
            }
            let near = truths
                .iter()
                .filter(|&&(tk, _, tb)| matches(tk, tb, k, ball))
                .any(|&(_, t, _)| self.offset(k, fid, t) <= TOLERANCE[k]);
            if !near {
                r.spurious[k] += 1;
                r.spurious_log.push(format!(
                    "{} {} at frame {fid} ({:.3}s)",
                    SCORED[k],
                    if k == 1 { name(ball) } else { String::new() },
                    self.t_of(fid)
                ));
            }
        }
        r
    }
}

/// What [`TrackingScore::report`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackingReport {
    /// Frames scored.
    pub frames: u64,
    /// True balls whose tracked name changed from one frame to a later one.
    pub switches: u64,
    /// Identity switches per true ball number (0 = cue).
    pub switches_by_ball: [u64; 16],
    /// Ball-frames whose tracked name was not the true ball's.
    pub id_errors: u64,
    /// Id errors per true ball number (0 = cue).
    pub id_errors_by_ball: [u64; 16],
    /// Ball-frames checked (a tracked ball within a radius of a true one).
    pub checks: u64,
    /// True `shot_started`, `pocketed`, `balls_at_rest` events.
    pub counts: [usize; 3],
    /// Largest offset of a matched detection: frames, frames, seconds.
    pub worst: [f64; 3],
    /// Detected events with no true event within tolerance, per kind.
    pub spurious: [usize; 3],
    /// True events with no detection within tolerance, described.
    pub missed: Vec<String>,
    /// The first [`SWITCH_LOG`] identity switches, described.
    pub switch_log: Vec<String>,
    /// Detected events with no true event within tolerance, described.
    pub spurious_log: Vec<String>,
    /// When tracing ([`TrackingScore::trace`]), the frames up to each logged switch, one
    /// entry per `switch_log` entry.
    pub switch_detail: Vec<String>,
}

impl fmt::Display for TrackingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} frames: {} identity switches, {} id errors in {} ball-frames; shot_started {} (worst {} frames), pocketed {} (worst {} frames), balls_at_rest {} (worst {:.0} ms); spurious {:?}; missed {}",
            self.frames,
            self.switches,
            self.id_errors,
            self.checks,
            self.counts[0],
            self.worst[0],
            self.counts[1],
            self.worst[1],
            self.counts[2],
            self.worst[2] * 1e3,
            self.spurious,
            self.missed.len(),
        )
    }
}
