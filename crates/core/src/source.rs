//! The [`Source`] trait: where frames come from (cameras, files, synthetic scenes, browsers),
//! and the controls a camera exposes to commands.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::clock::Clock;
use crate::error::{CommandError, Result};
use crate::frame::Frame;
use crate::packet::{Packet, PayloadKind};
use crate::params::Params;

/// The camera settings seed 000 controls (`exposure`, `gain`, `auto_exposure`).
#[derive(
    Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct CameraSettings {
    /// Exposure, in the source's units (synthetic: 1..1000, 157 ≈ nominal).
    pub exposure: f64,
    /// Analog gain in dB (0 = none); adds noise.
    pub gain: f64,
    /// Automatic exposure on/off.
    pub auto_exposure: bool,
}

/// Hardware-style controls of a source, shared between the capture thread (which reads them
/// each frame without locking) and the command bus (which writes them).
pub trait SourceControls: Send + Sync {
    /// The settings in force.
    fn settings(&self) -> CameraSettings;
    /// Applies a partial update (`{"exposure": 500}`); returns the settings now in force.
    fn apply(&self, args: &Value) -> Result<CameraSettings, CommandError>;
}

/// Accepts encoded frames pushed from outside (the browser ingest of seed 003).
pub trait Ingest: Send + Sync {
    /// Offers one encoded image; replaces any frame not yet taken (latest wins).
    fn push(&self, bytes: &[u8]) -> Result<(), CommandError>;
    /// Frames replaced before the pipeline took them.
    fn dropped(&self) -> u64;
    /// Frames refused (corrupt, oversized).
    fn rejected(&self) -> u64;
}

/// A shared stop flag for capture threads.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag not yet raised.
    pub fn new() -> Self {
        Self::default()
    }
    /// Raises the flag.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// True once raised.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a source knows when it is built.
#[derive(Clone)]
pub struct SourceInit {
    /// Source id (`camera_0`).
    pub id: Arc<str>,
    /// Index in the config (the seed-000 integer `camera_id`).
    pub index: u32,
    /// The clock to timestamp and pace frames with.
    pub clock: Arc<dyn Clock>,
    /// Raised at shutdown; blocking sources must check it.
    pub stop: StopFlag,
    /// Frames the source's pool may hold.
    pub pool_frames: usize,
    /// Directory the config file lives in (relative paths resolve against it).
    pub base_dir: std::path::PathBuf,
    /// Frames go to a process-isolated stage: keep pixels in shared memory
    /// ([`SourceInit::frame_pool`] does).
    pub shared_frames: bool,
}

impl SourceInit {
    /// What a source built outside a runtime gets (tools, benchmarks, tests): source `id`
    /// at index 0 on `clock`, a pool of 4 frames on the heap, relative paths against the
    /// system temp directory, no stop requested. Change fields with struct update syntax.
    pub fn standalone(id: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            id: Arc::from(id),
            index: 0,
            clock,
            stop: StopFlag::new(),
            pool_frames: 4,
            base_dir: std::env::temp_dir(),
            shared_frames: false,
        }
    }

    /// This source's frame pool: `pool_frames` frames, in shared memory when a
    /// process-isolated stage reads them (`shared_frames`), on the heap otherwise.
    pub fn frame_pool(&self) -> crate::frame::FramePool {
        crate::frame::FramePool::with_memory(
            self.pool_frames,
            self.id.clone(),
            self.index,
            self.shared_frames,
        )
    }
}

/// A producer of frames, run on its own capture thread.
pub trait Source: Send + Sized + 'static {
    /// Typed parameters.
    type Params: Params;
    /// Kind used in configs (`synthetic_rider`).
    const KIND: &'static str;
    /// One line on what it is.
    const DESCRIPTION: &'static str;

    /// Opens the source.
    fn new(params: Self::Params, init: &SourceInit) -> Result<Self>;

    /// What this source gives: pixel frames (the default) or sample packets. A `Samples`
    /// source implements [`Source::next_packet`] instead of [`Source::next_frame`].
    const GIVES: PayloadKind = PayloadKind::Frames;

    /// Blocks until the next frame; `Ok(None)` at end of stream (or when stopped).
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        Err(crate::error::Error::source(format!(
            "`{}` gives samples, not frames",
            Self::KIND
        )))
    }

    /// Blocks until the next sample packet; `Ok(None)` at end of stream (or when stopped).
    fn next_packet(&mut self) -> Result<Option<Packet>> {
        Err(crate::error::Error::source(format!(
            "`{}` gives frames, not samples",
            Self::KIND
        )))
    }

    /// Most snapshots a second this source's pipeline publishes (`None`: one per payload).
    /// Sample sources default to 30; the config's `snapshot_hz` overrides it.
    fn snapshot_hz(&self) -> Option<f64> {
        (Self::GIVES == PayloadKind::Samples).then_some(30.0)
    }

    /// Camera controls, if the source has any.
    fn controls(&self) -> Option<Arc<dyn SourceControls>> {
        None
    }

    /// Push-ingest endpoint, if frames come from outside.
    fn ingest(&self) -> Option<Arc<dyn Ingest>> {
        None
    }

    /// The source's own counters (lines parsed, malformed input, reconnects…), shown by
    /// `GET /api/v1/status` under the source's `counters`.
    fn counters(&self) -> Option<Arc<dyn SourceCounters>> {
        None
    }
}

/// Counts a source keeps while it runs, read from other threads at any time.
pub trait SourceCounters: Send + Sync {
    /// `(name, value)` pairs, in a stable order.
    fn read(&self) -> Vec<(&'static str, u64)>;
}
