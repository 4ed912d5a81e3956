//! Ground truth of the synthetic table, per frame: where every ball really is (pixels and
//! metres, averaged over the exposure like the motion blur), how fast it moves, whether it
//! was pocketed, where the cue is, and what happened when.

use std::collections::VecDeque;

use serde::Serialize;

use super::table::BALLS;

/// What happened on the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The cue tip hit the cue ball (`a` = 0).
    ShotStarted,
    /// Balls `a` and `b` collided.
    BallCollision,
    /// Ball `a` hit cushion `b` (0 left, 1 top, 2 right, 3 bottom).
    Cushion,
    /// Ball `a` fell into pocket `b` (index into `POCKETS`).
    Pocketed,
    /// The cue ball fell into pocket `b`.
    Scratch,
    /// Every ball stopped after a shot.
    BallsAtRest,
    /// The balls were racked (the scene starts or the table was cleared).
    Rack,
}

/// One event with its scene time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TruthEvent {
    /// Scene time, seconds (frame `n` is exposed around `(n − 1) / fps`).
    pub t: f64,
    /// What happened.
    pub kind: EventKind,
    /// First agent (a ball number).
    pub a: u8,
    /// Second agent (a ball, cushion or pocket, per kind).
    pub b: u8,
}

/// The most recent events, bounded (allocated once).
#[derive(Debug, Clone)]
pub struct EventLog {
    events: VecDeque<TruthEvent>,
    total: u64,
}

impl EventLog {
    /// Keeps at most this many events.
    pub const CAPACITY: usize = 16_384;

    pub(crate) fn new() -> Self {
        Self {
            events: VecDeque::with_capacity(Self::CAPACITY),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, t: f64, kind: EventKind, a: u8, b: u8) {
        if self.events.len() == Self::CAPACITY {
            self.events.pop_front();
        }
        self.events.push_back(TruthEvent { t, kind, a, b });
        self.total += 1;
    }

    /// The kept events, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &TruthEvent> {
        self.events.iter()
    }

    /// Events logged since the scene started (including ones no longer kept).
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Truth for one ball in one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BallTruth {
    /// Ball number: 0 cue, 1–15.
    pub number: u8,
    /// Centre in pixels, averaged over the exposure.
    pub px: [f64; 2],
    /// Centre in table metres, averaged over the exposure.
    pub m: [f64; 2],
    /// Velocity at mid-exposure, m/s.
    pub vel: [f64; 2],
    /// Pocketed (not visible).
    pub pocketed: bool,
}

/// Truth for the cue stick in one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CueTruth {
    /// Drawn in this frame.
    pub visible: bool,
    /// Tip centre in pixels.
    pub tip_px: [f64; 2],
    /// Butt end in pixels.
    pub butt_px: [f64; 2],
    /// Aim direction (butt → tip) in degrees, `atan2(dy, dx)` in table/image axes.
    pub angle_deg: f64,
}

/// Truth for one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TableTruth {
    /// The frame this describes.
    pub frame_id: u64,
    /// Scene time at mid-exposure, seconds.
    pub t: f64,
    /// Shots struck so far.
    pub shots: u32,
    /// Every ball, indexed by number.
    pub balls: [BallTruth; BALLS],
    /// The cue stick.
    pub cue: CueTruth,
    /// Ball radius in pixels.
    pub ball_radius_px: f64,
}
