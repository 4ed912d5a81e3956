//! Lock-free counters the pipelines update and status readers (REST, metrics) read.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

/// Histogram buckets: bucket `i` counts durations below `2^i` microseconds (last: the rest).
pub const HISTOGRAM_BUCKETS: usize = 24;

/// Per-stage counters.
#[derive(Debug, Default)]
pub struct StageStats {
    /// Frames processed.
    pub frames: AtomicU64,
    /// Nanoseconds of the last frame.
    pub last_ns: AtomicU64,
    /// Total nanoseconds.
    pub total_ns: AtomicU64,
    /// Failures (errors and panics).
    pub failures: AtomicU64,
    /// False once disabled.
    pub enabled: AtomicBool,
    /// Frames a `join` thread stage missed its `deadline_ms` on (result absent).
    pub deadline_misses: AtomicU64,
    /// Frames a thread stage was not given because it was still busy with an earlier one.
    pub skipped: AtomicU64,
    /// Log2 histogram of per-frame durations in microseconds.
    pub histogram: [AtomicU64; HISTOGRAM_BUCKETS],
    /// Last error message (written only on failure).
    pub last_error: Mutex<Option<String>>,
    /// Worker counters of a process-isolated stage.
    pub worker: std::sync::OnceLock<std::sync::Arc<crate::isolation::process::WorkerStats>>,
}

impl StageStats {
    /// Books one run of `ns` nanoseconds. Only the thread that runs the stage calls this
    /// (the pipeline thread, or the stage's own thread), so plain loads and stores do what
    /// `fetch_add` would, without its locked instructions.
    pub(crate) fn record(&self, ns: u64) {
        let bump = |a: &AtomicU64, by: u64| {
            a.store(
                a.load(Ordering::Relaxed).wrapping_add(by),
                Ordering::Relaxed,
            );
        };
        bump(&self.frames, 1);
        self.last_ns.store(ns, Ordering::Relaxed);
        bump(&self.total_ns, ns);
        let us = ns / 1000;
        let bucket = (64 - us.leading_zeros() as usize).min(HISTOGRAM_BUCKETS - 1);
        bump(&self.histogram[bucket], 1);
    }

    /// A serializable copy.
    pub fn read(&self, id: &str) -> StageStatus {
        let frames = self.frames.load(Ordering::Relaxed);
        let total = self.total_ns.load(Ordering::Relaxed);
        StageStatus {
            id: id.to_owned(),
            enabled: self.enabled.load(Ordering::Relaxed),
            frames,
            failures: self.failures.load(Ordering::Relaxed),
            deadline_misses: self.deadline_misses.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            last_ms: self.last_ns.load(Ordering::Relaxed) as f64 / 1e6,
            mean_ms: if frames == 0 {
                0.0
            } else {
                total as f64 / frames as f64 / 1e6
            },
            histogram_us_log2: self
                .histogram
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            last_error: self.last_error.lock().map(|e| e.clone()).unwrap_or(None),
            worker: self.worker.get().map(|w| w.read()),
        }
    }
}

/// Per-pipeline counters.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Frames processed.
    pub frames: AtomicU64,
    /// Smoothed fps × 1000.
    pub fps_milli: AtomicU64,
    /// Last frame id processed.
    pub last_frame_id: AtomicU64,
    /// Set when the pipeline thread has ended.
    pub finished: AtomicBool,
}

/// A stage's status for REST and diagnostics.
#[derive(Debug, Clone, Serialize)]
pub struct StageStatus {
    /// Stage id.
    pub id: String,
    /// Still enabled.
    pub enabled: bool,
    /// Frames processed.
    pub frames: u64,
    /// Failures so far.
    pub failures: u64,
    /// Frames past `deadline_ms` (thread and process stages in `join` mode).
    pub deadline_misses: u64,
    /// Frames not given to a thread stage still busy with an earlier frame.
    pub skipped: u64,
    /// Last frame's time.
    pub last_ms: f64,
    /// Mean time.
    pub mean_ms: f64,
    /// Bucket `i`: frames that took under `2^i` µs.
    pub histogram_us_log2: Vec<u64>,
    /// Last error message.
    pub last_error: Option<String>,
    /// Worker counters (restarts, lost frames) of a process-isolated stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<crate::isolation::process::WorkerStatus>,
}

/// A source's and its pipeline's status.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// Source id.
    pub id: String,
    /// Source kind.
    pub kind: String,
    /// Edge policy.
    pub edge: crate::edge::EdgePolicy,
    /// Frames handed to the edge.
    pub sent: u64,
    /// Frames dropped by the edge.
    pub dropped: u64,
    /// Frames waiting in the edge.
    pub queue_depth: usize,
    /// Frames processed.
    pub processed: u64,
    /// Smoothed processing fps.
    pub fps: f64,
    /// Last capture error, if any.
    pub last_error: Option<String>,
    /// True while the capture thread runs.
    pub capturing: bool,
    /// Stages of this source's pipeline in order.
    pub stages: Vec<StageStatus>,
    /// The source's own counters (see [`crate::source::SourceCounters`]); empty for sources
    /// that keep none.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub counters: std::collections::BTreeMap<String, u64>,
}

/// The whole runtime's status.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeStatus {
    /// Run state.
    pub state: framebus_protocol::RunState,
    /// Snapshots built so far.
    pub sequence: u64,
    /// Sources with their pipelines.
    pub sources: Vec<SourceStatus>,
}
