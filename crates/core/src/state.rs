//! The shared run state (`paused` / `running` / `recording`), read lock-free every frame.

use std::sync::atomic::{AtomicU8, Ordering};

use framebus_protocol::RunState;

/// The run state shared by the bus and every pipeline.
#[derive(Debug)]
pub struct RunControl(AtomicU8);

fn to_u8(s: RunState) -> u8 {
    match s {
        RunState::Paused => 0,
        RunState::Running => 1,
        RunState::Recording => 2,
    }
}

fn from_u8(v: u8) -> RunState {
    match v {
        0 => RunState::Paused,
        2 => RunState::Recording,
        _ => RunState::Running,
    }
}

impl RunControl {
    /// Starts in `state`.
    pub fn new(state: RunState) -> Self {
        Self(AtomicU8::new(to_u8(state)))
    }
    /// The state now.
    pub fn get(&self) -> RunState {
        from_u8(self.0.load(Ordering::Acquire))
    }
    /// Sets the state; returns the previous one.
    pub fn set(&self, s: RunState) -> RunState {
        from_u8(self.0.swap(to_u8(s), Ordering::AcqRel))
    }
}
