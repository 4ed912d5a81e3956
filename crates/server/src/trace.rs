//! Send tracing for latency benchmarks: when [`enable`]d, every snapshot a `/ws/stream` client
//! sends records when the hub published it, when the client's writer woke up for it, and when
//! its write began and ended, so a benchmark can split publish → client into its stages.
//! Off (the default), the cost is one relaxed atomic load per snapshot sent.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Sends kept at most (a benchmark reads them out with [`take`]).
const KEEP: usize = 1 << 16;

static ON: AtomicBool = AtomicBool::new(false);
static SENDS: Mutex<Vec<SendTrace>> = Mutex::new(Vec::new());

/// One snapshot sent to one client.
#[derive(Debug, Clone, Copy)]
pub struct SendTrace {
    /// The source's slot (its index in the config).
    pub slot: usize,
    /// The snapshot's per-source publish number (1 for the first one the hub received).
    pub number: u64,
    /// When the hub received it from the pipeline.
    pub published: Instant,
    /// When the thread that sent it picked it up (the client's writer task woke up, or the
    /// publishing thread began its direct sends).
    pub woke: Instant,
    /// When the WebSocket write began.
    pub write_start: Instant,
    /// When the write returned (the bytes are in the socket).
    pub write_end: Instant,
    /// True if it was written by the publishing thread, false if by the client's writer task.
    pub direct: bool,
}

/// Starts recording sends (process-wide), dropping what was recorded before.
pub fn enable() {
    if let Ok(mut s) = SENDS.lock() {
        s.clear();
        s.reserve(4096);
    }
    ON.store(true, Ordering::Relaxed);
}

/// Stops recording and returns what was recorded.
pub fn take() -> Vec<SendTrace> {
    ON.store(false, Ordering::Relaxed);
    SENDS
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default()
}

/// True while recording.
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Records one send (while recording, up to [`KEEP`]).
pub(crate) fn record(t: SendTrace) {
    if let Ok(mut s) = SENDS.lock()
        && s.len() < KEEP
    {
        s.push(t);
    }
}
