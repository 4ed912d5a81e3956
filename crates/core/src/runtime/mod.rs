//! The runtime: builds sources and pipelines from a config, runs one capture thread and one
//! pipeline thread per source, and hands out the command bus and status.
//!
//! # Layout
//! - [`pipeline`]: one source's stages, commands between frames, failure handling.
//! - [`snapshot`]: the snapshot writer (serialized once per frame into a reused buffer).
//! - [`stats`]: lock-free counters for status, REST and metrics.
//! - `isolated`, `worker`: `thread` stages (groups joined per frame, deadlines, `latest`),
//!   on persistent threads fed with reusable jobs.
//! - `build`: builds each configured stage by its isolation (the process seam).
//! - `capture`: reading a source, on a capture thread or (`inline` sample sources) on the
//!   pipeline thread itself.
//! - this module: [`Runtime`] and its threads.

mod build;
mod capture;
pub(crate) mod isolated;
pub mod pipeline;
pub(crate) mod snapshot;
pub mod stats;
pub(crate) mod tick;
pub(crate) mod worker;

use capture::Capture;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, select};
use framebus_protocol::{Notification, NotificationLevel, RunState, ServerMessage};

use crate::clock::{Clock, MonotonicClock};
use crate::command::{BusPlan, CommandBus, Request};
use crate::config::{Config, ConfigError};
use crate::edge::{EdgePolicy, EdgeRx, EdgeStats, edge};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::observer::{Observer, Observers, SnapshotOut};
use crate::packet::{Packet, PayloadKind};
use crate::registry;
use crate::source::{Ingest, SourceControls, SourceInit, StopFlag};
use crate::stage::StageInit;
use crate::state::RunControl;

pub use pipeline::{Pipeline, ScheduledCommand};
pub use stats::{RuntimeStatus, SourceStatus, StageStatus};

/// Options for [`Runtime::start`].
pub struct RuntimeOptions {
    /// Clock for sources (timestamps, pacing). Tests inject a [`crate::clock::ManualClock`].
    pub clock: Arc<dyn Clock>,
    /// Stop each source after this many frames.
    pub max_frames: Option<u64>,
    /// Receivers of snapshots and events.
    pub observers: Vec<Arc<dyn Observer>>,
    /// Directory relative paths in source params resolve against.
    pub base_dir: std::path::PathBuf,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(MonotonicClock::new()),
            max_frames: None,
            observers: Vec::new(),
            base_dir: std::path::PathBuf::from("."),
        }
    }
}

struct SourceHandle {
    id: String,
    kind: String,
    policy: EdgePolicy,
    edge: Arc<EdgeStats>,
    pending: Arc<AtomicU64>,
    capturing: Arc<AtomicBool>,
    last_error: Arc<Mutex<Option<String>>>,
    pipeline: Arc<stats::PipelineStats>,
    stages: Vec<(String, Arc<stats::StageStats>)>,
    ingest: Option<Arc<dyn Ingest>>,
    controls: Option<Arc<dyn SourceControls>>,
    counters: Option<Arc<dyn crate::source::SourceCounters>>,
}

/// A running runtime. Drop or [`Runtime::shutdown`] stops it.
pub struct Runtime {
    bus: CommandBus,
    run: Arc<RunControl>,
    stop: StopFlag,
    shutdown_tx: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    sources: Vec<SourceHandle>,
    sequence: Arc<AtomicU64>,
    config: Config,
    observers: Observers,
}

fn config_error(field: String, message: String) -> Error {
    Error::Config(ConfigError {
        file: "<config>".into(),
        line: None,
        column: None,
        field: Some(field),
        message,
        hint: None,
    })
}

impl Runtime {
    /// Builds every source and stage from `config` (validated first) and starts the threads.
    pub fn start(config: &Config, options: RuntimeOptions) -> Result<Self> {
        Self::start_with_schedule(config, options, Vec::new())
    }

    /// Like [`Runtime::start`], with commands each pipeline applies on its own thread just
    /// before given frames (replay of recorded commands). Commands of one source apply in
    /// the order given among equal frame ids; a schedule naming a source that does not
    /// exist is an error.
    pub fn start_with_schedule(
        config: &Config,
        options: RuntimeOptions,
        schedule: Vec<ScheduledCommand>,
    ) -> Result<Self> {
        if let Some(s) = schedule
            .iter()
            .find(|s| s.source_index as usize >= config.sources.len())
        {
            return Err(config_error(
                "schedule".into(),
                format!("a scheduled command names source index {}", s.source_index),
            ));
        }
        if let Err((field, message, hint)) = config.validate() {
            return Err(Error::Config(ConfigError {
                file: "<config>".into(),
                line: None,
                column: None,
                field: Some(field),
                message,
                hint,
            }));
        }
        let run = Arc::new(RunControl::new(config.runtime.initial_state));
        let observers = Observers::new(options.observers);
        let stop = StopFlag::new();
        let sequence = Arc::new(AtomicU64::new(0));
        // Never sent on: dropping the sender wakes every pipeline. Capacity 1, not 0: waiting on a
        // zero-capacity channel allocates a packet per wait in crossbeam.
        let (shutdown_tx, shutdown_rx) = crossbeam_channel::bounded::<()>(1);

        // Build sources and pipelines before starting any thread: a failure starts nothing.
        let mut built = Vec::new();
        let fusion_plan = crate::fusion::FusionPlan::new(config, &options.base_dir);
        let mut plan = BusPlan {
            stages: Vec::new(),
            sources: Vec::new(),
        };
        for (index, sc) in config.sources.iter().enumerate() {
            let reg = registry::source(&sc.kind).expect("validated");
            let init = SourceInit {
                id: Arc::from(sc.id.as_str()),
                index: index as u32,
                clock: options.clock.clone(),
                stop: stop.clone(),
                pool_frames: config.runtime.pool_frames,
                base_dir: options.base_dir.clone(),
                shared_frames: config.stages.iter().enumerate().any(|(si, st)| {
                    st.isolation == crate::config::Isolation::Process
                        && config.stage_source(si) == sc.id
                }),
            };
            let source = (reg.build)(&sc.params, &init).map_err(|e| {
                config_error(
                    format!("sources[{index}]"),
                    format!("cannot open `{}`: {e}", sc.id),
                )
            })?;
            let controls = source.controls();
            let mut stages = Vec::new();
            for (si, st) in config.stages.iter().enumerate() {
                if config.stage_source(si) != sc.id {
                    continue;
                }
                let id = config.stage_id(si).to_owned();
                let sinit = StageInit {
                    id: id.clone(),
                    source: sc.id.clone(),
                };
                let stage = build::stage(st, &sinit, &options.base_dir)
                    .map_err(|e| config_error(e.field(si), format!("cannot build `{id}`: {e}")))?;
                plan.stages.push((id, index));
                stages.push((
                    sinit,
                    stage,
                    st.enabled,
                    st.namespace.clone(),
                    st.schedule(),
                ));
            }
            plan.sources
                .push((sc.id.clone(), index, controls.is_some()));
            let mut pipeline = Pipeline::new(
                init.id.clone(),
                stages,
                controls.clone(),
                run.clone(),
                config.runtime.max_consecutive_failures,
            );
            pipeline.sequence = sequence.clone();
            pipeline.source_index = index as u32;
            pipeline.snapshot_hz = sc.snapshot_hz.or_else(|| source.snapshot_hz());
            let mut mine: Vec<ScheduledCommand> = schedule
                .iter()
                .filter(|s| s.source_index as usize == index)
                .cloned()
                .collect();
            mine.sort_by_key(|s| s.before_frame_id);
            pipeline.schedule = mine.into();
            if let Some(fp) = &fusion_plan {
                pipeline.set_fusion(fp.for_source(&sc.id));
            }
            built.push((sc, source, pipeline, controls));
        }

        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for _ in &built {
            let (tx, rx) = crossbeam_channel::unbounded::<Request>();
            senders.push(tx);
            receivers.push(rx);
        }
        let bus = CommandBus::new(plan, senders, run.clone(), observers.clone());

        let mut threads = Vec::new();
        let mut handles = Vec::new();
        for ((sc, source, mut pipeline, controls), cmd_rx) in built.into_iter().zip(receivers) {
            let gives = source.gives();
            let (edge_stats, tx, rx) = match gives {
                PayloadKind::Frames => {
                    let (tx, rx) = edge::<Frame>(sc.edge);
                    (tx.stats().clone(), Payload::Frames(tx), Payload::Frames(rx))
                }
                PayloadKind::Samples => {
                    let (tx, rx) = edge::<Packet>(sc.edge);
                    (
                        tx.stats().clone(),
                        Payload::Samples(tx),
                        Payload::Samples(rx),
                    )
                }
            };
            pipeline.edges.push((sc.id.clone(), edge_stats.clone()));
            pipeline.bus = Some(bus.clone());
            pipeline.observers = observers.clone();
            let capturing = Arc::new(AtomicBool::new(true));
            let last_error = Arc::new(Mutex::new(None));
            let pending = Arc::new(AtomicU64::new(0));
            let ended = EndSignal {
                source: sc.id.clone(),
                frames_plus_one: Arc::new(AtomicU64::new(0)),
            };
            let inline_edge = edge_stats.clone();
            handles.push(SourceHandle {
                id: sc.id.clone(),
                kind: sc.kind.clone(),
                policy: sc.edge,
                edge: edge_stats,
                pending: pending.clone(),
                capturing: capturing.clone(),
                last_error: last_error.clone(),
                pipeline: pipeline.stats.clone(),
                stages: pipeline
                    .stages
                    .iter()
                    .map(|s| (s.init.id.clone(), s.stats.clone()))
                    .collect(),
                ingest: source.ingest(),
                controls,
                counters: source.counters(),
            });
            let capture = Capture {
                id: sc.id.clone(),
                source,
                stop: stop.clone(),
                max_frames: options.max_frames,
                observers: observers.clone(),
                capturing,
                last_error,
                pending: pending.clone(),
                ended: ended.frames_plus_one.clone(),
                read: 0,
                backoff: capture::FIRST_BACKOFF,
            };
            if sc.inline {
                // Validated: only sample sources are read inline. No edge: the pipeline
                // thread reads the source itself.
                drop((tx, rx));
                let obs = observers.clone();
                let shutdown = shutdown_rx.clone();
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("pipeline-{}", sc.id))
                        .spawn(move || {
                            let process = sample_step(&pipeline, obs.clone(), None);
                            capture::run_inline_sample_pipeline(
                                pipeline,
                                capture,
                                inline_edge,
                                cmd_rx,
                                shutdown,
                                process,
                                || ended.report(&obs),
                            );
                        })?,
                );
                continue;
            }
            threads.push(
                std::thread::Builder::new()
                    .name(format!("capture-{}", sc.id))
                    .spawn(move || match tx {
                        Payload::Frames(tx) => capture.run(tx, |s| s.next_frame()),
                        Payload::Samples(tx) => capture.run(tx, |s| s.next_packet()),
                    })?,
            );
            let obs = observers.clone();
            let shutdown = shutdown_rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("pipeline-{}", sc.id))
                    .spawn(move || match rx {
                        Payload::Frames(rx) => {
                            run_pipeline(pipeline, rx, cmd_rx, shutdown, obs, pending, ended)
                        }
                        Payload::Samples(rx) => {
                            run_sample_pipeline(pipeline, rx, cmd_rx, shutdown, obs, pending, ended)
                        }
                    })?,
            );
        }
        Ok(Self {
            bus,
            run,
            stop,
            shutdown_tx: Some(shutdown_tx),
            threads,
            sources: handles,
            sequence,
            config: config.clone(),
            observers,
        })
    }

    /// The command bus.
    pub fn bus(&self) -> &CommandBus {
        &self.bus
    }

    /// The run state.
    pub fn state(&self) -> RunState {
        self.run.get()
    }

    /// The effective config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The observers (to emit events from outside, e.g. the server).
    pub fn observers(&self) -> &Observers {
        &self.observers
    }

    /// The push-ingest endpoint of source `id`, if it takes pushed frames.
    pub fn ingest(&self, id: &str) -> Option<Arc<dyn Ingest>> {
        self.sources
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.ingest.clone())
    }

    /// The camera controls of source `id`.
    pub fn controls(&self, id: &str) -> Option<Arc<dyn SourceControls>> {
        self.sources
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.controls.clone())
    }

    /// A status report (sources, edges, stages, timings).
    pub fn status(&self) -> RuntimeStatus {
        RuntimeStatus {
            state: self.run.get(),
            sequence: self.sequence.load(Ordering::Relaxed),
            sources: self
                .sources
                .iter()
                .map(|s| SourceStatus {
                    id: s.id.clone(),
                    kind: s.kind.clone(),
                    edge: s.policy,
                    sent: s.edge.sent.load(Ordering::Relaxed),
                    dropped: s.edge.dropped.load(Ordering::Relaxed),
                    queue_depth: s.pending.load(Ordering::Relaxed) as usize,
                    processed: s.pipeline.frames.load(Ordering::Relaxed),
                    fps: s.pipeline.fps_milli.load(Ordering::Relaxed) as f64 / 1000.0,
                    last_error: s.last_error.lock().ok().and_then(|e| e.clone()),
                    capturing: s.capturing.load(Ordering::Relaxed),
                    stages: s.stages.iter().map(|(id, st)| st.read(id)).collect(),
                    counters: s
                        .counters
                        .as_ref()
                        .map(|c| {
                            c.read()
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), v))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Manifests of the process stages running here, as their workers described themselves
    /// (one per plugin id, config order): how a Python stage's params schema and commands
    /// reach `/api/v1/plugins`.
    pub fn worker_manifests(&self) -> Vec<crate::registry::StageManifest> {
        let mut out: Vec<crate::registry::StageManifest> = Vec::new();
        for s in &self.sources {
            for (_, st) in &s.stages {
                if let Some(m) = st.worker.get().and_then(|w| w.manifest.get())
                    && !out.iter().any(|o| o.id == m.id)
                {
                    out.push(m.clone());
                }
            }
        }
        out
    }

    /// True once every pipeline has finished (all sources ended).
    pub fn finished(&self) -> bool {
        self.sources
            .iter()
            .all(|s| s.pipeline.finished.load(Ordering::Relaxed))
    }

    /// Waits until every source has ended and every pipeline has drained.
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Stops capture, lets pipelines finish the frame in hand, and joins every thread.
    pub fn shutdown(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        self.stop.stop();
        self.shutdown_tx.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// One end of a source's edge, by payload kind.
enum Payload<F, S> {
    Frames(F),
    Samples(S),
}

/// How a pipeline learns that its source ended by itself, to report `end_of_stream` once
/// the last frame is processed.
struct EndSignal {
    source: String,
    frames_plus_one: Arc<AtomicU64>,
}

impl EndSignal {
    /// Reports that the source ended by itself (end of file): an `end_of_stream` event and
    /// a notification, after the pipeline processed every frame it sent.
    fn report(&self, observers: &Observers) {
        let v = self.frames_plus_one.load(Ordering::SeqCst);
        if v == 0 {
            return;
        }
        let frames = v - 1;
        tracing::info!(source = %self.source, frames, "end of stream");
        observers.event(&ServerMessage::EndOfStream(
            framebus_protocol::EndOfStream {
                source: self.source.clone(),
                frames,
            },
        ));
        observers.event(&ServerMessage::Notification(Notification {
            level: NotificationLevel::Info,
            source: self.source.clone(),
            title: "end of stream".into(),
            message: format!("{} ended after {frames} frames", self.source),
        }));
    }
}

fn run_pipeline(
    p: Pipeline,
    frames: EdgeRx<Frame>,
    commands: Receiver<Request>,
    shutdown: Receiver<()>,
    observers: Observers,
    pending: Arc<AtomicU64>,
    ended: EndSignal,
) {
    let depth = frames.rx.clone();
    let process = |p: &mut Pipeline, frame: Frame| {
        pending.store(depth.len() as u64, Ordering::Relaxed);
        p.apply_scheduled(frame.frame_id);
        p.process(&frame);
        let out = SnapshotOut {
            json: p.snapshot(),
            frame: &frame,
            source_index: frame.source_index,
            sequence: p.last_sequence,
            state: p.last_state,
        };
        observers.snapshot(&out);
        for n in &p.store.notifications {
            observers.event(&ServerMessage::Notification(n.clone()));
        }
    };
    pipeline_loop(p, frames, commands, shutdown, process, || {
        ended.report(&observers)
    });
}

/// A sample pipeline: every packet is processed; observers get the snapshots `snapshot_hz`
/// lets through, each with an empty (0×0) frame since there are no pixels to show.
fn run_sample_pipeline(
    p: Pipeline,
    packets: EdgeRx<Packet>,
    commands: Receiver<Request>,
    shutdown: Receiver<()>,
    observers: Observers,
    pending: Arc<AtomicU64>,
    ended: EndSignal,
) {
    let process = sample_step(&p, observers.clone(), Some((packets.rx.clone(), pending)));
    pipeline_loop(p, packets, commands, shutdown, process, || {
        ended.report(&observers)
    });
}

/// What a sample pipeline does with each packet: process it, and publish the snapshot and
/// notifications when `snapshot_hz` lets one through. With `depth`, the edge's queue length
/// is stored in the pending counter first.
fn sample_step(
    p: &Pipeline,
    observers: Observers,
    depth: Option<(Receiver<Packet>, Arc<AtomicU64>)>,
) -> impl FnMut(&mut Pipeline, Packet) + use<> {
    let index = p.source_index;
    let no_pixels = crate::frame::FramePool::new(1, p.source_id.clone(), index)
        .try_acquire(0, 0, crate::frame::PixelFormat::Gray8)
        .expect("a fresh pool has a frame");
    move |p: &mut Pipeline, packet: Packet| {
        if let Some((rx, pending)) = &depth {
            pending.store(rx.len() as u64, Ordering::Relaxed);
        }
        if p.process_packet(packet).is_none() {
            return;
        }
        let out = SnapshotOut {
            json: p.snapshot(),
            frame: &no_pixels,
            source_index: index,
            sequence: p.last_sequence,
            state: p.last_state,
        };
        observers.snapshot(&out);
        for n in &p.store.notifications {
            observers.event(&ServerMessage::Notification(n.clone()));
        }
    }
}

/// Applies a request that reached a pipeline thread (a wake-up needs nothing: the loop looks
/// at the run state again).
fn handle(p: &mut Pipeline, req: Request) {
    if let Request::Command(cmd, reply) = req {
        p.submit(cmd, reply);
    }
}

/// Applies every command already queued.
fn apply_queued(p: &mut Pipeline, commands: &Receiver<Request>) {
    while let Ok(req) = commands.try_recv() {
        handle(p, req);
    }
}

/// Paused: waits for a command, a returned thread-stage job or shutdown and takes it; `false`
/// when the pipeline is to end (shutdown, or the command channel closed).
fn wait_paused(
    p: &mut Pipeline,
    commands: &Receiver<Request>,
    done: &Receiver<Box<worker::Job>>,
    shutdown: &Receiver<()>,
) -> bool {
    select! {
        recv(commands) -> r => match r {
            Ok(req) => handle(p, req),
            Err(_) => return false,
        },
        recv(done) -> j => if let Ok(job) = j {
            p.returned(job);
            p.collect_returned();
        },
        recv(shutdown) -> _ => return false,
    }
    true
}

fn pipeline_loop<T>(
    mut p: Pipeline,
    frames: EdgeRx<T>,
    commands: Receiver<Request>,
    shutdown: Receiver<()>,
    mut process: impl FnMut(&mut Pipeline, T),
    on_end: impl FnOnce(),
) {
    p.start();
    // Jobs of thread stages that come back between frames (late or `latest` ones).
    let done = p.done_channel();
    let mut draining = false;
    loop {
        apply_queued(&mut p, &commands);
        if p.run.get() == RunState::Paused {
            if !wait_paused(&mut p, &commands, &done, &shutdown) {
                break;
            }
            continue;
        }
        select! {
            recv(commands) -> r => match r { Ok(req) => handle(&mut p, req), Err(_) => break },
            recv(frames.rx) -> f => match f {
                Ok(frame) => {
                    // Commands that arrived with the frame apply before it.
                    apply_queued(&mut p, &commands);
                    if p.run.get() != RunState::Paused {
                        process(&mut p, frame);
                    }
                }
                Err(_) => break,
            },
            recv(done) -> j => if let Ok(job) = j { p.returned(job); p.collect_returned(); },
            recv(shutdown) -> _ => {
                draining = true;
                break;
            }
        }
    }
    // On shutdown, finish the frames already queued (capture has stopped), so nothing
    // accepted is lost.
    if draining && p.run.get() != RunState::Paused {
        while let Ok(frame) = frames.rx.try_recv() {
            process(&mut p, frame);
        }
    }
    // Answer commands still queued so no caller waits forever.
    drop(frames);
    finish_pipeline(p, &commands, on_end);
}

/// The end of a pipeline thread: fusion's pending clips, the stages stopped, `on_end`, the
/// finished flag, and an answer for every command still queued.
fn finish_pipeline(mut p: Pipeline, commands: &Receiver<Request>, on_end: impl FnOnce()) {
    // Clips that rules asked for and whose post-roll had not ended: ask for them now
    // (answered below, with the commands still queued), so the recorder keeps them.
    p.finish_fusion();
    p.stop();
    // `end_of_stream` is reported before the pipeline counts as finished, so a caller that
    // waits for every pipeline to finish has seen it.
    on_end();
    p.stats.finished.store(true, Ordering::Relaxed);
    while let Ok(req) = commands.try_recv() {
        if let Request::Command(cmd, reply) = req {
            p.submit(cmd, reply);
        }
    }
}
