//! Process isolation: a stage in a child process, spoken to over the worker protocol
//! (`docs/worker_protocol.md`, types in [`framebus_protocol::worker`]).
//!
//! # Layout
//! - [`bell`]: the spin doorbell (counters in a shared page) that lets either side
//!   busy-poll briefly for the other's next message instead of sleeping, and the two
//!   message slots after it that carry frames and results without a syscall.
//! - [`shm`]: memfd regions (host, read-write) and views (worker, read-only).
//! - [`wire`]: one end of the `SOCK_SEQPACKET` socket: JSON datagrams, fd passing, timeouts.
//! - `output`: a worker's stdout/stderr, forwarded to framebus's stderr; its last lines are
//!   quoted when the worker dies.
//! - `result_in`: a worker's `result` parsed in place into buffers kept between frames.
//! - `spawn`: starts workers from one long-lived thread (so `PR_SET_PDEATHSIG` follows
//!   framebus, not a short-lived thread) with the socket as fd 3.
//! - `host`: [`ProcessStage`], the proxy the pipeline runs: handshake, frames, commands,
//!   deadlines, restarts with backoff, circuit breaker, counters.
//! - `watchdog`: the live worker's socket shared with a thread that sends heartbeats while
//!   no frames flow and kills a worker that does not answer.
//! - [`worker`]: the worker side for registered Rust stages (`framebus worker --stage ID`).

pub mod bell;
mod host;
mod launch;
mod output;
mod result_in;
pub mod shm;
mod spawn;
mod watchdog;
pub mod wire;
pub mod worker;

use std::sync::atomic::{AtomicU64, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) use host::ProcessStage;
pub use launch::describe_worker;

/// `[stages.worker]`: restarts and the circuit breaker of a process stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// First restart delay, ms; doubles after each failure.
    pub backoff_ms: u64,
    /// Longest restart delay, ms.
    pub max_backoff_ms: u64,
    /// Failures within `breaker_window_s` that open the circuit breaker (the stage then
    /// shows as failed, with no more restarts, until re-enabled).
    pub breaker_failures: u32,
    /// Window of the circuit breaker, seconds.
    pub breaker_window_s: u64,
    /// A heartbeat not answered within this is a hung worker, ms. Heartbeats go out after 1 s
    /// without a frame or command, also while no frames flow (an idle watchdog thread).
    pub heartbeat_timeout_ms: u64,
    /// Longest poll per wait for the other side's next message (yielding the CPU between
    /// polls), µs, before sleeping on the socket (Rust workers; Python workers always sleep). Spinning skips the wake-up of
    /// a sleeping process (tens of µs per hop) at the cost of CPU: the host spins up to twice
    /// this per frame, and a worker fed at a steady rate sleeps until one spin time before
    /// the next frame is due and spins up to twice this around it. 0 disables.
    pub spin_us: u64,
    /// Bytes of each of the two message slots beside the doorbell (Rust workers, with
    /// `spin_us` > 0): a frame message or result that fits travels through shared memory,
    /// announced by the doorbell's counter alone, so a hop while the other side spins makes
    /// no syscall; larger messages, and messages that carry an fd, go on the socket. 0
    /// disables the slots; otherwise 64 B to 4 MiB.
    pub slot_bytes: u64,
    /// Program for Rust workers (default: this framebus executable), run as
    /// `<exe> worker --stage <plugin>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<std::path::PathBuf>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            backoff_ms: 100,
            max_backoff_ms: 5000,
            breaker_failures: 5,
            breaker_window_s: 60,
            heartbeat_timeout_ms: 3000,
            spin_us: 200,
            slot_bytes: 64 * 1024,
            exe: None,
        }
    }
}

impl WorkerConfig {
    pub(crate) fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Counters of a process stage, shared with status readers.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Frames whose result was lost (worker crashed, hung, or was restarting).
    pub lost_frames: AtomicU64,
    /// Workers started after a failure.
    pub restarts: AtomicU64,
    /// Worker failures (crash, kill, hang, protocol error).
    pub failures: AtomicU64,
    /// Frames copied into shared memory because their buffer was on the heap.
    pub copied_frames: AtomicU64,
    /// Frames answered by the worker.
    pub frames: AtomicU64,
    /// Sum of the worker-reported stage times, µs.
    pub process_us: AtomicU64,
    /// Process id of the live worker (0: none).
    pub pid: AtomicU64,
    /// 1 while the circuit breaker is open.
    pub broken: AtomicU64,
    /// The stage's manifest as its worker described itself in the handshake (params schema
    /// and commands with their args schemas): what `/api/v1/plugins` lists for stages this
    /// binary does not register (Python stages).
    pub manifest: std::sync::OnceLock<crate::registry::StageManifest>,
}

/// A serializable copy of [`WorkerStats`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerStatus {
    /// See [`WorkerStats::lost_frames`].
    pub lost_frames: u64,
    /// See [`WorkerStats::restarts`].
    pub restarts: u64,
    /// See [`WorkerStats::failures`].
    pub failures: u64,
    /// See [`WorkerStats::copied_frames`].
    pub copied_frames: u64,
    /// See [`WorkerStats::frames`].
    pub frames: u64,
    /// Mean worker-reported stage time, ms.
    pub mean_process_ms: f64,
    /// Live worker's pid, if any.
    pub pid: Option<u32>,
    /// The circuit breaker is open.
    pub broken: bool,
}

impl WorkerStats {
    /// A serializable copy.
    pub fn read(&self) -> WorkerStatus {
        let frames = self.frames.load(Ordering::Relaxed);
        let pid = self.pid.load(Ordering::Relaxed) as u32;
        WorkerStatus {
            lost_frames: self.lost_frames.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            copied_frames: self.copied_frames.load(Ordering::Relaxed),
            frames,
            mean_process_ms: if frames == 0 {
                0.0
            } else {
                self.process_us.load(Ordering::Relaxed) as f64 / frames as f64 / 1000.0
            },
            pid: (pid != 0).then_some(pid),
            broken: self.broken.load(Ordering::Relaxed) != 0,
        }
    }
}
