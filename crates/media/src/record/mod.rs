//! Recording and clips: the [`Recorder`] observer writes what the pipelines process while the
//! run state is `recording` into `<recordings_dir>/<session>/` (`<source>.mp4` as faststart
//! H.264, `snapshots.jsonl`, `commands.jsonl`, `config.json`, and `session.json` once closed),
//! and answers `save_clip` on sources with `clips = true` by cutting
//! `<recordings_dir>/clips/<id>.mp4` from a ring of encoded video.
//!
//! On the pipeline thread the recorder only copies the frame (and, when recording, the
//! snapshot JSON) into a buffer from a fixed set per source and hands it to that source's
//! encoder thread: no allocation once the buffers exist, no waiting. When every buffer is
//! still queued the frame is dropped from the video and counted (status, `recording_saved`
//! and an alert), never waited for.
//!
//! A session starts when the run state becomes `recording` and ends when it leaves it
//! (`stop_recording`, `pause`); [`Recorder::close`] (after the runtime has drained) finishes
//! every file and clip in progress, so SIGINT/SIGTERM leave only complete files.
//!
//! # Layout
//! - this module: [`Recorder`], [`RecorderSettings`], [`RecorderStatus`], the observer side.
//! - `worker`: the encoder thread of one source (encode, write, ring, clips).
//! - `session`: a session's folder, JSON lines and manifest.
//! - `clip`: the encoded-video ring and clip bounds.
//! - [`names`]: UTC stamps and file-safe names.

mod clip;
pub mod names;
mod session;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};
use crossbeam_queue::ArrayQueue;
use framebus_core::config::Config;
use framebus_core::error::CommandError;
use framebus_core::observer::{CommandApplied, FrameMark, Observer, SnapshotOut};
use framebus_protocol::{Command, ErrorCode, RunState, ServerMessage};
use serde::Serialize;
use serde_json::{Value, json};

use crate::encode::EncoderSettings;
use clip::ClipRequest;
use session::Session;
use worker::{Msg, Slot, Worker};

/// Control messages that may wait in a source's queue besides frames.
const CONTROL_SLACK: usize = 64;
/// Longest `post_s` a clip may ask for.
pub const MAX_POST_S: f64 = 120.0;

/// Settings of a [`Recorder`].
#[derive(Debug, Clone)]
pub struct RecorderSettings {
    /// Sessions go in `<dir>/<session>/`, clips in `<dir>/clips/`.
    pub recordings_dir: PathBuf,
    /// Seconds of encoded video kept per clippable source.
    pub clip_pre_s: f64,
    /// Frames per source that may wait for the encoder.
    pub queue_frames: usize,
    /// Encoder settings.
    pub encoder: EncoderSettings,
}

impl RecorderSettings {
    /// The settings of `config`'s `[runtime]`.
    pub fn from_config(config: &Config) -> Self {
        Self {
            recordings_dir: config.runtime.recordings_dir.clone(),
            clip_pre_s: config.runtime.clip_pre_s,
            queue_frames: config.runtime.record_queue_frames,
            encoder: EncoderSettings::default(),
        }
    }
}

/// Counters of one source (lock-free; read by [`Recorder::status`]).
#[derive(Debug, Default)]
pub(crate) struct SourceStats {
    pub(crate) encoded: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) clips: AtomicU64,
}

/// The recording in progress.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActiveRecording {
    /// Session name (its folder).
    pub session: String,
    /// Seconds since it started.
    pub elapsed_s: f64,
    /// Video frames written so far (all sources).
    pub frames: u64,
    /// Encoded bytes so far (all sources).
    pub bytes: u64,
    /// Frames the encoder could not keep up with so far.
    pub dropped: u64,
}

/// One source as the recorder sees it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceRecording {
    /// Source id.
    pub id: String,
    /// Keeps a clip ring.
    pub clips: bool,
    /// Frames encoded since start.
    pub encoded: u64,
    /// Frames dropped because the encoder was behind.
    pub dropped: u64,
    /// Frames that failed to encode.
    pub errors: u64,
    /// Clips saved.
    pub clips_saved: u64,
}

/// What the recorder is doing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecorderStatus {
    /// The recordings directory.
    pub recordings_dir: PathBuf,
    /// The session being recorded, if any.
    pub active: Option<ActiveRecording>,
    /// Per source.
    pub sources: Vec<SourceRecording>,
}

pub(crate) struct Shared {
    pub(crate) settings: RecorderSettings,
    config_json: Option<String>,
    generation: AtomicU64,
    current: Mutex<Option<Arc<Session>>>,
    /// Sessions ended but not yet released by every encoder worker (frames recorded before
    /// the end may still be queued), with how many workers have still to release them.
    closing: Mutex<Vec<(Arc<Session>, usize)>>,
    events: Vec<Arc<dyn Observer>>,
    stats: Vec<Arc<SourceStats>>,
    clip_seq: AtomicU64,
}

impl Shared {
    /// The open session of generation `g`.
    pub(crate) fn session(&self, g: u64) -> Option<Arc<Session>> {
        let found = self
            .current
            .lock()
            .ok()?
            .as_ref()
            .filter(|s| s.generation == g)
            .cloned();
        found.or_else(|| {
            let closing = self.closing.lock().ok()?;
            closing
                .iter()
                .find(|(s, _)| s.generation == g)
                .map(|(s, _)| s.clone())
        })
    }

    /// One encoder worker is done with the ended session `g` (it has taken every frame
    /// queued before the end); the last one lets it go, which writes its manifest.
    pub(crate) fn release(&self, g: u64) {
        let Ok(mut closing) = self.closing.lock() else {
            return;
        };
        if let Some(i) = closing.iter().position(|(s, _)| s.generation == g) {
            closing[i].1 = closing[i].1.saturating_sub(1);
            if closing[i].1 == 0 {
                closing.swap_remove(i);
            }
        }
    }

    pub(crate) fn emit(&self, msg: &ServerMessage) {
        for o in &self.events {
            o.event(msg);
        }
    }

    fn dropped_total(stats: &[Arc<SourceStats>]) -> u64 {
        stats
            .iter()
            .map(|s| s.dropped.load(Ordering::Relaxed))
            .sum()
    }
}

/// The pipeline-thread side of one source.
struct Tap {
    id: String,
    clips: bool,
    free: Arc<ArrayQueue<Box<Slot>>>,
    made: AtomicU64,
    tx: Sender<Msg>,
    stats: Arc<SourceStats>,
}

/// Records sessions and cuts clips; add it to the runtime's observers, and call
/// [`Recorder::close`] after the runtime has shut down.
pub struct Recorder {
    shared: Arc<Shared>,
    taps: Vec<Tap>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// The last session began (its directory was made). Not cleared when it ends: a frame the
    /// pipeline processed in the recording state but handed over after the end still goes to
    /// the worker, which counts it as dropped (the session is closed) instead of losing it
    /// silently; frames processed after the end carry another state and are not taken.
    recording: AtomicBool,
    closed: AtomicBool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder for `config`'s sources with its `[runtime]` settings; `events` receive
    /// `clip_saved`, `recording_saved` and alerts (e.g. the server's hub).
    pub fn new(config: &Config, events: Vec<Arc<dyn Observer>>) -> std::io::Result<Self> {
        Self::with_settings(config, RecorderSettings::from_config(config), events)
    }

    /// Like [`Recorder::new`] with explicit settings.
    pub fn with_settings(
        config: &Config,
        settings: RecorderSettings,
        events: Vec<Arc<dyn Observer>>,
    ) -> std::io::Result<Self> {
        let stats: Vec<Arc<SourceStats>> = config
            .sources
            .iter()
            .map(|_| Arc::new(SourceStats::default()))
            .collect();
        let shared = Arc::new(Shared {
            config_json: serde_json::to_string_pretty(config).ok(),
            generation: AtomicU64::new(0),
            current: Mutex::new(None),
            closing: Mutex::new(Vec::new()),
            events,
            stats: stats.clone(),
            clip_seq: AtomicU64::new(0),
            settings,
        });
        let mut taps = Vec::new();
        let mut workers = Vec::new();
        let cap = shared.settings.queue_frames.max(1);
        for (sc, stats) in config.sources.iter().zip(stats) {
            let (tx, rx) = crossbeam_channel::bounded(cap + CONTROL_SLACK);
            let free = Arc::new(ArrayQueue::new(cap));
            let clips = sc.clips && shared.settings.clip_pre_s > 0.0;
            let worker = Worker::new(
                sc.id.clone(),
                clips,
                rx,
                free.clone(),
                stats.clone(),
                shared.clone(),
            );
            workers.push(
                std::thread::Builder::new()
                    .name(format!("encode-{}", sc.id))
                    .spawn(move || worker.run())?,
            );
            taps.push(Tap {
                id: sc.id.clone(),
                clips,
                free,
                made: AtomicU64::new(0),
                tx,
                stats,
            });
        }
        let rec = Self {
            shared,
            taps,
            workers: Mutex::new(workers),
            recording: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        };
        if config.runtime.initial_state == RunState::Recording {
            rec.begin_session();
        }
        Ok(rec)
    }

    /// The recordings directory.
    pub fn recordings_dir(&self) -> &Path {
        &self.shared.settings.recordings_dir
    }

    /// What is being recorded, and the per-source counters.
    pub fn status(&self) -> RecorderStatus {
        let active = self
            .shared
            .current
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .map(|s| ActiveRecording {
                session: s.name.clone(),
                elapsed_s: s.elapsed_s(),
                frames: s.frames.load(Ordering::Relaxed),
                bytes: s.bytes.load(Ordering::Relaxed),
                dropped: s.dropped(),
            });
        RecorderStatus {
            recordings_dir: self.shared.settings.recordings_dir.clone(),
            active,
            sources: self
                .taps
                .iter()
                .map(|t| SourceRecording {
                    id: t.id.clone(),
                    clips: t.clips,
                    encoded: t.stats.encoded.load(Ordering::Relaxed),
                    dropped: t.stats.dropped.load(Ordering::Relaxed),
                    errors: t.stats.errors.load(Ordering::Relaxed),
                    clips_saved: t.stats.clips.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }

    fn begin_session(&self) {
        let g = self.shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let stats = self.shared.stats.clone();
        match Session::create(
            &self.shared.settings.recordings_dir,
            g,
            self.shared.config_json.as_deref(),
            Box::new(move || Shared::dropped_total(&stats)),
            self.shared.events.clone(),
        ) {
            Ok(s) => {
                tracing::info!(session = %s.name, "recording to {}", s.dir.display());
                if let Ok(mut cur) = self.shared.current.lock() {
                    *cur = Some(Arc::new(s));
                }
                self.recording.store(true, Ordering::SeqCst);
            }
            Err(e) => {
                self.recording.store(false, Ordering::SeqCst);
                let msg = format!(
                    "cannot create a session in {}: {e}",
                    self.shared.settings.recordings_dir.display()
                );
                tracing::error!("{msg}");
                self.shared
                    .emit(&ServerMessage::Alert(framebus_protocol::Notification {
                        level: framebus_protocol::NotificationLevel::Error,
                        source: "recorder".into(),
                        title: "recording failed".into(),
                        message: msg,
                    }));
            }
        }
    }

    fn end_session(&self) {
        let g = self.shared.generation.load(Ordering::SeqCst);
        let session = self.shared.current.lock().ok().and_then(|mut c| c.take());
        let mut sent = 0;
        if let Some(s) = &session
            && let Ok(mut closing) = self.shared.closing.lock()
        {
            closing.push((s.clone(), self.taps.len()));
        }
        for t in &self.taps {
            if t.tx.send(Msg::End(g)).is_ok() {
                sent += 1;
            }
        }
        // Workers that are gone will never release the session.
        for _ in sent..self.taps.len() {
            self.shared.release(g);
        }
        // The workers hold the session until their files are closed; the last one to let go
        // writes the manifest.
        drop(session);
    }

    /// Ends any session, finishes every file and clip in progress and joins the encoder
    /// threads. Call after the runtime has shut down (so every frame has been handed over).
    /// Idempotent.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.end_session();
        for t in &self.taps {
            let _ = t.tx.send(Msg::Finish);
        }
        let workers = self
            .workers
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        for w in workers {
            let _ = w.join();
        }
    }

    fn save_clip(&self, mark: &FrameMark<'_>, args: &Value) -> Result<Value, CommandError> {
        let tap = self
            .taps
            .get(mark.source_index as usize)
            .ok_or_else(|| CommandError::new(ErrorCode::UnknownTarget, "no such source"))?;
        if !tap.clips {
            return Err(CommandError::bad_args(format!(
                "`{}` keeps no clip ring: set `clips = true` on the source (and \
                 `runtime.clip_pre_s` > 0)",
                tap.id
            )));
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            #[serde(default = "five")]
            pre_s: f64,
            #[serde(default = "five")]
            post_s: f64,
            #[serde(default)]
            label: String,
        }
        fn five() -> f64 {
            5.0
        }
        let a: Args = if args.is_null() {
            serde_json::from_value(json!({}))
        } else {
            serde_json::from_value(args.clone())
        }
        .map_err(|e| CommandError::bad_args(format!("save_clip: {e}")))?;
        let max_pre = self.shared.settings.clip_pre_s;
        if !(0.0..=max_pre).contains(&a.pre_s) {
            return Err(CommandError::bad_args(format!(
                "pre_s must be within 0..={max_pre} (runtime.clip_pre_s)"
            )));
        }
        if !(0.0..=MAX_POST_S).contains(&a.post_s) {
            return Err(CommandError::bad_args(format!(
                "post_s must be within 0..={MAX_POST_S}"
            )));
        }
        if a.label.len() > 200 {
            return Err(CommandError::bad_args("label is longer than 200 bytes"));
        }
        let (Some(frame_id), Some(t_ns)) = (mark.frame_id, mark.t_ns) else {
            return Err(CommandError::new(
                ErrorCode::Unavailable,
                format!("`{}` has produced no frame yet", tap.id),
            ));
        };
        let n = self.shared.clip_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!(
            "{}-{}-{n}",
            names::utc_stamp(names::now_secs()),
            names::file_safe(&tap.id)
        );
        let path = self
            .shared
            .settings
            .recordings_dir
            .join("clips")
            .join(format!("{id}.mp4"));
        let req = ClipRequest {
            id: id.clone(),
            label: a.label,
            frame_id,
            t_ns,
            pre_ns: (a.pre_s * 1e9) as u64,
            post_ns: (a.post_s * 1e9) as u64,
            path,
        };
        tap.tx.try_send(Msg::Clip(req)).map_err(|_| {
            CommandError::new(ErrorCode::Unavailable, "the clip encoder is overloaded")
        })?;
        Ok(json!({
            "clip_id": id,
            "path": format!("clips/{id}.mp4"),
            "frame_id": frame_id,
            "t_ns": t_ns,
            "pre_s": a.pre_s,
            "post_s": a.post_s,
        }))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.close();
    }
}

impl Observer for Recorder {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        let Some(tap) = self.taps.get(snap.source_index as usize) else {
            return;
        };
        let recording = snap.state == RunState::Recording && self.recording.load(Ordering::Relaxed);
        if !recording && !tap.clips {
            return;
        }
        let mut slot = match tap.free.pop() {
            Some(s) => s,
            None if tap.made.load(Ordering::Relaxed) < tap.free.capacity() as u64 => {
                // Only this source's pipeline thread makes buffers: no race on `made`.
                tap.made.fetch_add(1, Ordering::Relaxed);
                Box::default()
            }
            None => {
                tap.stats.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let f: &framebus_core::frame::FrameData = snap.frame;
        let d = &mut slot.frame;
        d.frame_id = f.frame_id;
        d.source_index = f.source_index;
        d.t_ns = f.t_ns;
        d.width = f.width;
        d.height = f.height;
        d.stride = f.stride;
        d.format = f.format;
        if !Arc::ptr_eq(&d.source, &f.source) {
            d.source = f.source.clone();
        }
        d.data.clear();
        d.data.extend_from_slice(&f.data);
        slot.snapshot.clear();
        if recording {
            if slot.snapshot.capacity() < snap.json.len() {
                // Head room so that snapshots that grow a little do not reallocate.
                slot.snapshot.reserve(snap.json.len() * 2);
            }
            slot.snapshot.extend_from_slice(snap.json);
        }
        slot.recording = recording;
        slot.generation = self.shared.generation.load(Ordering::Relaxed);
        if let Err(
            TrySendError::Full(Msg::Frame(slot)) | TrySendError::Disconnected(Msg::Frame(slot)),
        ) = tap.tx.try_send(Msg::Frame(slot))
        {
            tap.stats.dropped.fetch_add(1, Ordering::Relaxed);
            let _ = tap.free.push(slot);
        }
    }

    fn event(&self, msg: &ServerMessage) {
        if let ServerMessage::StateChanged(c) = msg {
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            let was = c.from == RunState::Recording;
            let is = c.to == RunState::Recording;
            if is && !was {
                self.begin_session();
            } else if was && !is {
                self.end_session();
            }
        }
    }

    fn command(&self, applied: &CommandApplied<'_>) {
        if applied.state != RunState::Recording || !self.recording.load(Ordering::Relaxed) {
            return;
        }
        let Some(tap) = self.taps.get(applied.source_index as usize) else {
            return;
        };
        let c = applied.command;
        let mut line = json!({
            "source": tap.id,
            "target": c.target,
            "cmd": c.payload.cmd,
            "args": c.payload.args,
            "after_frame_id": applied.after_frame_id,
            "ok": applied.reply.is_ok(),
        });
        if let Err(e) = applied.reply {
            line["error"] = json!({ "code": e.code, "message": e.message });
        }
        let generation = self.shared.generation.load(Ordering::Relaxed);
        if tap.tx.try_send(Msg::Command { generation, line }).is_err() {
            tracing::warn!(source = %tap.id, "commands.jsonl: the encoder queue is full; a command line was lost");
        }
    }

    fn source_command(
        &self,
        mark: &FrameMark<'_>,
        command: &Command,
    ) -> Option<Result<Value, CommandError>> {
        (command.payload.cmd == "save_clip").then(|| self.save_clip(mark, &command.payload.args))
    }
}
