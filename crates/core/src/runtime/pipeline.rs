//! One source's pipeline: runs its stages in order on a frame, applies commands between
//! frames, catches failures, and serializes the snapshot once into a reused buffer.
//! The same type backs the runtime's pipeline thread and the stage test harness.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use framebus_protocol::{Command, ErrorCode, NotificationLevel, RunState, StageError};
use serde_json::{Value, json};

use crate::command::{CommandBus, Reply, reply_for};
use crate::context::{CommandCtx, FrameCtx};
use crate::edge::EdgeStats;
use crate::erased::DynStage;
use crate::error::{CommandError, Error};
use crate::frame::{Frame, FrameData};
use crate::observer::{FrameMark, Observers};
use crate::packet::{Packet, PacketHeader};
use crate::results::ResultStore;
use crate::runtime::snapshot::write_snapshot;
use crate::runtime::stats::{PipelineStats, StageStats};
use crate::runtime::tick;
use crate::source::SourceControls;
use crate::stage::{Flow, StageInit};
use crate::state::RunControl;
use crate::views::Views;

/// A built stage ready for a pipeline: init, stage, enabled, namespace override, schedule.
pub(crate) type StageSpec = (
    StageInit,
    Box<dyn DynStage>,
    bool,
    Option<String>,
    crate::config::Schedule,
);

pub(crate) struct StageSlot {
    pub(crate) init: StageInit,
    /// The stage; `None` while a thread stage's job is away on its worker.
    pub(crate) stage: Option<Box<dyn DynStage>>,
    pub(crate) info: &'static crate::stage::StageInfo,
    pub(crate) enabled: bool,
    pub(crate) consecutive: u32,
    pub(crate) last_error: Option<String>,
    pub(crate) perf_ms: f64,
    pub(crate) stats: Arc<StageStats>,
    /// How the stage is scheduled (isolation, mode, deadline, after).
    pub(crate) sched: crate::config::Schedule,
    /// For a `thread`/`process` stage in `join` mode: one past the last stage of the group
    /// that starts here (when this stage starts one).
    pub(crate) group_end: usize,
    /// Pipeline-side state of a `thread`/`process` stage.
    pub(crate) worker: Option<Box<crate::runtime::isolated::Worker>>,
    /// Its result is left out of this frame's snapshot (missed deadline, skipped, none yet).
    pub(crate) absent: bool,
    /// `latest` stages: frame id and age (ms) of the carried result, for the snapshot.
    pub(crate) carried: Option<(u64, f64)>,
}

impl StageSlot {
    /// Runs on a worker thread (`thread` or `process` isolation).
    pub(crate) fn threaded(&self) -> bool {
        self.sched.isolation != crate::config::Isolation::Inline
    }
}

/// Bytes the snapshot buffer starts with: room for a snapshot whose results hold bounded
/// lists (a game's last events, a frame's detections, a few widgets) — the billiards chain's
/// at 1080p is about 16 KiB — so it does not grow by doubling during the first minutes of a
/// run (a per-frame allocation each time). A larger snapshot still grows it.
pub(crate) const SNAPSHOT_CAPACITY: usize = 64 * 1024;

/// A pipeline of stages for one source.
pub struct Pipeline {
    pub(crate) source_id: Arc<str>,
    pub(crate) stages: Vec<StageSlot>,
    pub(crate) store: ResultStore,
    pub(crate) views: Arc<Views>,
    pub(crate) camera: Option<Arc<dyn SourceControls>>,
    pub(crate) run: Arc<RunControl>,
    pub(crate) bus: Option<CommandBus>,
    pub(crate) max_failures: u32,
    /// The last snapshot's JSON (reused; see [`SNAPSHOT_CAPACITY`]).
    pub(crate) snapshot: Vec<u8>,
    pub(crate) errors: Vec<StageError>,
    pub(crate) edges: Vec<(String, Arc<EdgeStats>)>,
    pub(crate) sequence: Arc<AtomicU64>,
    pub(crate) last_sequence: u64,
    pub(crate) fps: f64,
    pub(crate) last_t_ns: Option<u64>,
    pub(crate) stats: Arc<PipelineStats>,
    /// The sample packet in flight (sample pipelines); `None` between packets.
    pub(crate) packet: Option<Packet>,
    /// Header of the packet the last snapshot describes.
    pub(crate) packet_header: Option<PacketHeader>,
    /// Frame-shaped metadata of the packet in flight (reused; no allocation per packet).
    packet_meta: Option<FrameData>,
    /// Most snapshots a second (`None`: one per payload), in payload time.
    pub(crate) snapshot_hz: Option<f64>,
    last_publish_t_ns: Option<u64>,
    /// Snapshots written so far.
    pub(crate) published: u64,
    /// Keep the last packet after processing (the harness reads it).
    pub(crate) keep_last: bool,
    pub(crate) source_index: u32,
    pub(crate) last_packet: Option<Packet>,
    pub(crate) observers: Observers,
    pub(crate) last_state: RunState,
    pub(crate) fusion: Option<Box<crate::fusion::Fusion>>,
    /// Commands to apply before given frames (replay), ordered by frame id.
    pub(crate) schedule: std::collections::VecDeque<ScheduledCommand>,
    /// Views for inline stages while a late thread stage still reads `views`.
    pub(crate) spare_views: Views,
    /// Thread stages' side: the `done` channel and commands waiting for a busy stage.
    pub(crate) iso: crate::runtime::isolated::IsoState,
}

/// A command a pipeline applies just before the first frame whose `frame_id` is at least
/// `before_frame_id` (see [`crate::runtime::Runtime::start_with_schedule`]): deterministic,
/// on the pipeline thread, unlike the asynchronous command bus. Observers see it like any
/// other command ([`crate::observer::Observer::command`]).
#[derive(Debug, Clone)]
pub struct ScheduledCommand {
    /// Index of the source (in the config) whose pipeline applies it.
    pub source_index: u32,
    /// Applied before the first frame with `frame_id >= before_frame_id`.
    pub before_frame_id: u64,
    /// The command.
    pub command: Command,
}

thread_local! {
    static IN_STAGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once) a panic hook that keeps stage panics off stderr: the pipeline reports
/// them in the snapshot's `errors` and as notifications instead.
pub(crate) fn quiet_stage_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_STAGE.with(std::cell::Cell::get) {
                prev(info);
            }
        }));
    });
}

pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    IN_STAGE.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_STAGE.with(|c| c.set(false));
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("panicked: {msg}")
    })
}

impl Pipeline {
    pub(crate) fn new(
        source_id: Arc<str>,
        stages: Vec<StageSpec>,
        camera: Option<Arc<dyn SourceControls>>,
        run: Arc<RunControl>,
        max_failures: u32,
    ) -> Self {
        quiet_stage_panics();
        // Calibrate the timing clock now, not on the first frame.
        let _ = tick::clock();
        let mut namespaces = Vec::new();
        let slots = stages
            .into_iter()
            .map(|(init, stage, enabled, ns, sched)| {
                namespaces.push(
                    ns.or_else(|| stage.info().namespace.map(str::to_owned))
                        .unwrap_or_else(|| init.id.clone()),
                );
                let stats = Arc::new(StageStats::default());
                stats.enabled.store(enabled, Ordering::Relaxed);
                if let Some(w) = stage.worker_stats() {
                    let _ = stats.worker.set(w);
                }
                StageSlot {
                    init,
                    info: stage.info(),
                    stage: Some(stage),
                    enabled,
                    consecutive: 0,
                    last_error: None,
                    perf_ms: 0.0,
                    stats,
                    sched,
                    group_end: 0,
                    worker: None,
                    absent: false,
                    carried: None,
                }
            })
            .collect::<Vec<_>>();
        let mut slots = slots;
        crate::runtime::isolated::plan_groups(&mut slots);
        Self {
            source_id,
            stages: slots,
            store: ResultStore::new(namespaces),
            views: Arc::new(Views::default()),
            camera,
            run,
            bus: None,
            max_failures: max_failures.max(1),
            snapshot: Vec::with_capacity(SNAPSHOT_CAPACITY),
            errors: Vec::new(),
            edges: Vec::new(),
            sequence: Arc::new(AtomicU64::new(0)),
            last_sequence: 0,
            fps: 0.0,
            last_t_ns: None,
            stats: Arc::new(PipelineStats::default()),
            packet: None,
            packet_header: None,
            packet_meta: None,
            snapshot_hz: None,
            last_publish_t_ns: None,
            published: 0,
            keep_last: false,
            source_index: 0,
            last_packet: None,
            observers: Observers::default(),
            last_state: RunState::Running,
            schedule: std::collections::VecDeque::new(),
            fusion: None,
            spare_views: Views::default(),
            iso: Default::default(),
        }
    }

    /// Calls every stage's `start`. A stage that fails to start is disabled and reported.
    pub(crate) fn start(&mut self) {
        let state = self.run.get();
        self.start_workers();
        for i in 0..self.stages.len() {
            let camera = self.camera.as_deref();
            let slot = &mut self.stages[i];
            let mut cctx = CommandCtx::new(&slot.init, camera, state);
            let Some(stage) = slot.stage.as_mut() else {
                continue;
            };
            let outcome =
                guarded(|| stage.start(&mut cctx)).and_then(|r| r.map_err(|e| e.to_string()));
            if let Err(e) = outcome {
                slot.enabled = false;
                slot.stats.enabled.store(false, Ordering::Relaxed);
                let msg = format!("failed to start: {e}");
                self.store.notify(
                    NotificationLevel::Error,
                    &slot.init.id,
                    "stage disabled",
                    msg.clone(),
                );
                slot.last_error = Some(msg);
            }
        }
    }

    /// Calls every stage's `stop`.
    pub(crate) fn stop(&mut self) {
        self.stop_workers();
        for slot in &mut self.stages {
            if let Some(stage) = slot.stage.as_mut() {
                let _ = guarded(|| stage.stop());
            }
        }
    }

    /// Runs every enabled stage on `frame` and serializes the snapshot; returns its bytes.
    pub fn process(&mut self, frame: &Frame) -> &[u8] {
        let state = self.run.get();
        let data: &FrameData = frame;
        self.run_stages(data, Some(frame), state);
        self.published += 1;
        write_snapshot(self, data, state);
        &self.snapshot
    }

    /// Runs every enabled stage on a sample packet. Every packet is processed; a snapshot is
    /// written only when `snapshot_hz` allows it (measured in packet time, `t_ns`), and then
    /// its bytes are returned. The packet (or the one a stage replaced it with) returns to
    /// its pool afterwards.
    pub fn process_packet(&mut self, packet: Packet) -> Option<&[u8]> {
        let state = self.run.get();
        let header = packet.header;
        let mut meta = self.packet_meta.take().unwrap_or_else(|| FrameData {
            source: self.source_id.clone(),
            ..FrameData::default()
        });
        meta.frame_id = header.seq;
        meta.t_ns = header.t_ns;
        self.packet = Some(packet);
        self.run_stages(&meta, None, state);
        self.packet_header = self.packet.as_ref().map(|p| p.header);
        let publish = match (self.snapshot_hz, self.last_publish_t_ns) {
            (Some(hz), Some(last)) => {
                let period = (1e9 / hz) as u64;
                header.t_ns >= last.saturating_add(period) || header.t_ns < last
            }
            _ => true,
        };
        if publish {
            self.last_publish_t_ns = Some(header.t_ns);
            self.published += 1;
            write_snapshot(self, &meta, state);
        }
        let done = self.packet.take();
        if self.keep_last {
            self.last_packet = done;
        }
        self.packet_meta = Some(meta);
        publish.then_some(self.snapshot.as_slice())
    }

    /// Snapshots written so far (fewer than payloads processed when `snapshot_hz` limits).
    pub fn published(&self) -> u64 {
        self.published
    }

    /// Payloads processed so far.
    pub fn processed(&self) -> u64 {
        self.stats.frames.load(Ordering::Relaxed)
    }

    fn run_stages(&mut self, data: &FrameData, frame: Option<&Frame>, state: RunState) {
        self.last_state = state;
        self.store.begin_frame();
        self.errors.clear();
        if let Some(prev) = self.last_t_ns
            && data.t_ns > prev
        {
            let inst = 1e9 / (data.t_ns - prev) as f64;
            self.fps = if self.fps == 0.0 {
                inst
            } else {
                0.9 * self.fps + 0.1 * inst
            };
        }
        self.last_t_ns = Some(data.t_ns);
        let mut skip = false;
        match frame {
            Some(frame) if self.iso.active => {
                self.collect_returned();
                let mut i = 0;
                while i < self.stages.len() {
                    let slot = &self.stages[i];
                    if slot.worker.is_some() {
                        if slot.sched.mode == crate::config::StageMode::Latest {
                            self.run_latest(i, data, frame, state, skip);
                            i += 1;
                        } else {
                            let end = slot.group_end;
                            skip |= self.run_group(i, end, data, frame, state, skip);
                            i = end;
                        }
                        continue;
                    }
                    let views = match Arc::get_mut(&mut self.views) {
                        Some(v) => v,
                        None => &mut self.spare_views,
                    };
                    let mut env = Inline {
                        data,
                        packet: &mut self.packet,
                        views,
                        store: &mut self.store,
                        errors: &mut self.errors,
                        camera: self.camera.as_deref(),
                        bus: self.bus.as_ref(),
                        state,
                        max_failures: self.max_failures,
                        clock: None,
                    };
                    skip |= env.run(i, &mut self.stages[i], skip);
                    i += 1;
                }
            }
            _ => {
                // Every stage inline (no thread stages, or a sample pipeline).
                let views = match Arc::get_mut(&mut self.views) {
                    Some(v) => v,
                    None => &mut self.spare_views,
                };
                let mut env = Inline {
                    data,
                    packet: &mut self.packet,
                    views,
                    store: &mut self.store,
                    errors: &mut self.errors,
                    camera: self.camera.as_deref(),
                    bus: self.bus.as_ref(),
                    state,
                    max_failures: self.max_failures,
                    clock: None,
                };
                for (i, slot) in self.stages.iter_mut().enumerate() {
                    skip |= env.run(i, slot, skip);
                }
            }
        }
        for slot in &self.stages {
            if !slot.enabled && !self.errors.iter().any(|e| e.stage == slot.init.id) {
                self.errors.push(StageError {
                    stage: slot.init.id.clone(),
                    message: slot.last_error.clone().unwrap_or_else(|| "disabled".into()),
                    consecutive: slot.consecutive,
                    disabled: true,
                });
            }
        }
        for (slot, store_slot) in self.stages.iter().zip(self.store.slots.iter_mut()) {
            store_slot.visible = slot.enabled && !slot.absent;
        }
        self.last_sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        self.stats.frames.fetch_add(1, Ordering::Relaxed);
        self.stats
            .fps_milli
            .store((self.fps * 1000.0) as u64, Ordering::Relaxed);
        self.stats
            .last_frame_id
            .store(data.frame_id, Ordering::Relaxed);
        if let Some(mut fusion) = self.fusion.take() {
            self.observe(&mut fusion, data);
            self.fusion = Some(fusion);
        }
    }

    /// Offers this frame's observation to the fusion rules.
    fn observe(&mut self, fusion: &mut crate::fusion::Fusion, data: &crate::frame::FrameData) {
        let timings: Vec<crate::fusion::StageTiming<'_>> = if fusion.wants_timings() {
            self.stages
                .iter()
                .map(|s| crate::fusion::StageTiming {
                    stage: &s.init.id,
                    ms: s.perf_ms,
                })
                .collect()
        } else {
            Vec::new()
        };
        let fx = crate::fusion::Effects {
            bus: self.bus.as_ref(),
            observers: &self.observers,
        };
        fusion.observe(data.frame_id, data.t_ns, &mut self.store, &timings, &fx);
    }

    /// At the end of the stream: fusion asks for the clips still in their post-roll (the
    /// `save_clip` commands are queued on this pipeline's command channel, answered after).
    pub(crate) fn finish_fusion(&mut self) {
        if let Some(fusion) = self.fusion.as_mut() {
            let fx = crate::fusion::Effects {
                bus: self.bus.as_ref(),
                observers: &self.observers,
            };
            fusion.finish(&fx);
        }
    }

    /// Installs fusion rules on this pipeline (the runtime does; tests may too).
    pub fn set_fusion(&mut self, fusion: crate::fusion::Fusion) {
        self.fusion = Some(Box::new(fusion));
    }

    /// The fusion state, if rules watch this source.
    pub fn fusion(&self) -> Option<&crate::fusion::Fusion> {
        self.fusion.as_deref()
    }

    /// The last serialized snapshot.
    pub fn snapshot(&self) -> &[u8] {
        &self.snapshot
    }

    /// The results store (typed reads in tests).
    pub fn results(&self) -> &ResultStore {
        &self.store
    }

    /// The derived-view cache (conversion counts in tests).
    pub fn views(&self) -> &Views {
        &self.views
    }

    /// Applies a command, tells the observers, and returns its reply.
    pub(crate) fn apply(&mut self, cmd: &Command) -> Reply {
        let r = self.dispatch(cmd);
        let last = self.stats.last_frame_id.load(Ordering::Relaxed);
        self.observers.command(&crate::observer::CommandApplied {
            source_index: self.source_index,
            command: cmd,
            reply: &r,
            state: self.run.get(),
            after_frame_id: (self.stats.frames.load(Ordering::Relaxed) > 0).then_some(last),
        });
        r
    }

    /// Applies the scheduled commands due before frame `frame_id`, in order (frame
    /// pipelines; sample pipelines take no schedule).
    pub(crate) fn apply_scheduled(&mut self, frame_id: u64) {
        while self
            .schedule
            .front()
            .is_some_and(|s| s.before_frame_id <= frame_id)
        {
            if let Some(s) = self.schedule.pop_front() {
                // The reply reaches the observers; nobody else waits for it.
                let _reply = self.apply(&s.command);
            }
        }
    }

    /// Applies a command and builds its reply.
    pub fn dispatch(&mut self, cmd: &Command) -> Reply {
        let outcome = self.handle(cmd);
        reply_for(cmd, outcome)
    }

    fn handle(&mut self, cmd: &Command) -> Result<Value, CommandError> {
        let state = self.run.get();
        let args = &cmd.payload.args;
        let name = cmd.payload.cmd.as_str();
        if cmd.target == "pipeline" {
            return self.pipeline_command(name, args);
        }
        if *cmd.target == *self.source_id {
            let seen = self.stats.frames.load(Ordering::Relaxed) > 0;
            let mark = FrameMark {
                source: &self.source_id,
                source_index: self.source_index,
                frame_id: seen.then(|| self.stats.last_frame_id.load(Ordering::Relaxed)),
                t_ns: self.last_t_ns,
            };
            if let Some(answer) = self.observers.source_command(&mark, cmd) {
                return answer;
            }
            let Some(cam) = self.camera.as_deref() else {
                return Err(CommandError::unknown_command(&cmd.target, name));
            };
            return match name {
                "set_params" => {
                    if state == RunState::Recording {
                        return Err(recording_lock(&cmd.target));
                    }
                    cam.apply(args).map(|s| json!(s))
                }
                "get_params" => Ok(json!(cam.settings())),
                _ => Err(CommandError::unknown_command(&cmd.target, name)),
            };
        }
        let camera = self.camera.as_deref();
        let Some(slot) = self.stages.iter_mut().find(|s| s.init.id == cmd.target) else {
            return Err(CommandError::new(
                ErrorCode::UnknownTarget,
                format!("no target `{}`", cmd.target),
            ));
        };
        let info = slot.info;
        let mut cctx = CommandCtx::new(&slot.init, camera, state);
        let Some(stage) = slot.stage.as_mut() else {
            return Err(CommandError::new(
                ErrorCode::Unavailable,
                format!("`{}` is busy on its thread", cmd.target),
            ));
        };
        let outcome = match name {
            "set_params" => {
                if state == RunState::Recording {
                    return Err(recording_lock(&cmd.target));
                }
                guarded(|| stage.set_params(args, &mut cctx))
            }
            "get_params" => Ok(Ok(stage.params())),
            "reset" => guarded(|| {
                stage.reset();
                Ok(json!({}))
            }),
            _ => match info.commands.iter().find(|c| c.name == name) {
                None => return Err(CommandError::unknown_command(&cmd.target, name)),
                Some(spec) if spec.locked_while_recording && state == RunState::Recording => {
                    return Err(recording_lock(&cmd.target));
                }
                Some(_) => guarded(|| stage.command(name, args, &mut cctx)),
            },
        };
        outcome.unwrap_or_else(|panic| Err(CommandError::new(ErrorCode::StageFailed, panic)))
    }

    fn pipeline_command(&mut self, name: &str, args: &Value) -> Result<Value, CommandError> {
        let id = args
            .get("stage")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(slot) = self.stages.iter_mut().find(|s| s.init.id == id) else {
            return Err(CommandError::bad_args(format!("no stage `{id}`")));
        };
        match name {
            "enable_stage" => {
                slot.enabled = true;
                slot.consecutive = 0;
                slot.last_error = None;
                if let Some(stage) = slot.stage.as_mut() {
                    let _ = guarded(|| stage.reset());
                }
            }
            "disable_stage" => slot.enabled = false,
            "reset_stage" => {
                if let Some(stage) = slot.stage.as_mut() {
                    let _ = guarded(|| stage.reset());
                }
            }
            other => return Err(CommandError::unknown_command("pipeline", other)),
        }
        slot.stats.enabled.store(slot.enabled, Ordering::Relaxed);
        Ok(json!({ "stage": id, "enabled": slot.enabled }))
    }
}

/// What an inline stage run needs from the pipeline (borrowed field by field, so the
/// all-inline path takes the views once per frame).
struct Inline<'a> {
    data: &'a FrameData,
    packet: &'a mut Option<Packet>,
    views: &'a mut Views,
    store: &'a mut ResultStore,
    errors: &'a mut Vec<StageError>,
    camera: Option<&'a dyn SourceControls>,
    bus: Option<&'a CommandBus>,
    state: RunState,
    max_failures: u32,
    /// When the previous inline stage of this frame finished (a raw [`tick`] reading): the
    /// next stage's start, so a run of inline stages reads the clock once per stage, not twice.
    clock: Option<u64>,
}

impl Inline<'_> {
    /// Runs stage `i` on the pipeline thread; true when it asked to skip the rest.
    #[inline]
    fn run(&mut self, i: usize, slot: &mut StageSlot, skip: bool) -> bool {
        slot.absent = false;
        let Some(stage) = slot.stage.as_mut().filter(|_| slot.enabled && !skip) else {
            slot.perf_ms = 0.0;
            return false;
        };
        let mut ctx = FrameCtx {
            frame: self.data,
            packet: self.packet,
            views: self.views,
            shared: None,
            used: 0,
            store: self.store,
            slot: i,
            stage_id: &slot.init.id,
            camera: self.camera,
            state: self.state,
            bus: self.bus,
        };
        let tick = tick::clock();
        let t0 = self.clock.unwrap_or_else(|| tick.raw());
        let outcome = guarded(|| stage.process(&mut ctx));
        let t1 = tick.raw();
        self.clock = Some(t1);
        let ns = tick.delta_as_nanos(t0, t1);
        slot.perf_ms = ns as f64 / 1e6;
        slot.stats.record(ns);
        let outcome = match outcome {
            Ok(Ok(Flow::Continue)) => {
                slot.consecutive = 0;
                return false;
            }
            Ok(Ok(flow)) => Ok(flow),
            Ok(Err(e)) => Err(e.to_string()),
            Err(panic) => Err(panic),
        };
        settle(slot, self.store, self.errors, self.max_failures, outcome)
    }
}

/// Books a stage's outcome for the frame: failures counted, reported (error entry, a
/// notification on the first failure and on disabling) and the stage disabled after
/// `max_failures` in a row. True when the stage asked to skip the rest of the pipeline.
pub(crate) fn settle(
    slot: &mut StageSlot,
    store: &mut ResultStore,
    errors: &mut Vec<StageError>,
    max_failures: u32,
    outcome: Result<Flow, String>,
) -> bool {
    let message = match outcome {
        Ok(Flow::Continue) => {
            slot.consecutive = 0;
            return false;
        }
        Ok(Flow::Skip) => {
            slot.consecutive = 0;
            return true;
        }
        Err(message) => message,
    };
    slot.consecutive += 1;
    slot.stats.failures.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut e) = slot.stats.last_error.lock() {
        *e = Some(message.clone());
    }
    let disable = slot.consecutive >= max_failures;
    if slot.consecutive == 1 || disable {
        let title = if disable {
            "stage disabled"
        } else {
            "stage failed"
        };
        let detail = if disable {
            format!("{message} ({} failures in a row)", slot.consecutive)
        } else {
            message.clone()
        };
        store.notify(NotificationLevel::Error, &slot.init.id, title, detail);
    }
    if disable {
        slot.enabled = false;
        slot.stats.enabled.store(false, Ordering::Relaxed);
    }
    errors.push(StageError {
        stage: slot.init.id.clone(),
        message: message.clone(),
        consecutive: slot.consecutive,
        disabled: disable,
    });
    slot.last_error = Some(message);
    false
}

fn recording_lock(target: &str) -> CommandError {
    CommandError::busy(format!(
        "recording: parameters of `{target}` are locked until recording stops"
    ))
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        CommandError::new(ErrorCode::StageFailed, e.to_string())
    }
}
