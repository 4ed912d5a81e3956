//! [`ProcessStage`]: the proxy a pipeline runs for an `isolation = "process"` stage. It
//! starts the worker, hands it frames through shared memory, applies its results to the
//! frame's results, forwards commands, and survives the worker: a crash, kill, hang or
//! protocol error is reported, the frame is counted lost, and the worker is restarted in the
//! background with exponential backoff (frames meanwhile are counted lost, never waited
//! for) until the circuit breaker opens.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError, bounded};
use framebus_protocol::worker::{
    FrameMeta, FrameResult, HostMessage, WireFlow, WireFormat, WireLevel, WirePoint,
    WorkerErrorKind, WorkerMessage,
};
use framebus_protocol::{ErrorCode, NotificationLevel};
use serde_json::{Value, json};

use super::WorkerStats;
use super::launch::{
    Conn, Failure, HEARTBEAT_IDLE, OUTPUT_WAIT, Plan, SHUTDOWN_GRACE, WORKER_STATUS, connect,
    guard, leak_info, manifest_of, plan, unexpected,
};
use super::output::with_output;
use super::result_in::ResultBuf;
use super::watchdog::heartbeat;
use super::wire::WireError;
use crate::config::StageConfig;
use crate::context::{CommandCtx, FrameCtx};
use crate::erased::DynStage;
use crate::error::{CommandError, Error, Result};
use crate::frame::{FrameBuf, PixelFormat};
use crate::stage::{Flow, StageInfo, StageInit};

/// Time a command between frames may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// Buffers a worker keeps mapped; older ones are dropped.
const MAX_BUFFERS: usize = 64;

/// Why a frame has no result.
enum FrameFail {
    /// The stage returned an error (the worker is fine).
    Stage(String),
    /// The worker failed (crash, hang, protocol error); it is being restarted.
    Worker(String),
}

impl From<String> for FrameFail {
    fn from(m: String) -> Self {
        Self::Worker(m)
    }
}

/// The proxy of a process-isolated stage.
pub(crate) struct ProcessStage {
    plan: Arc<Plan>,
    info: &'static StageInfo,
    params: Value,
    live: Option<Conn>,
    restarting: Option<Receiver<Result<Conn, Failure>>>,
    broken: Option<String>,
    failures: VecDeque<Instant>,
    backoff: Duration,
    seq: u64,
    heartbeat: u64,
    last_io: Instant,
    stats: Arc<WorkerStats>,
    copy: FrameBuf,
    registered: VecDeque<u64>,
    points: Vec<WirePoint>,
    /// The frame message's source id, kept between frames.
    source: String,
    /// The last frame's round trip (when the next answer is due).
    hop: Duration,
    /// The last `result`, parsed in place.
    result: ResultBuf,
    /// The output buffer the next `result` is parsed into (swapped with the slot's value).
    output: Value,
}

impl ProcessStage {
    /// Builds the plan for `st` and starts its worker (blocking until the handshake ends).
    pub(crate) fn start(
        st: &StageConfig,
        init: &StageInit,
        base_dir: &Path,
    ) -> Result<Self, String> {
        let plan = Arc::new(plan(st, init, base_dir)?);
        let mut conn = match connect(&plan, &st.params) {
            Ok(c) => c,
            Err(Failure::Refused(m) | Failure::Crashed(m)) => return Err(m),
        };
        let (info, params_schema) = conn.described.take().expect("described in the handshake");
        let stats = Arc::new(WorkerStats::default());
        stats.pid.store(u64::from(conn.pid), Ordering::Relaxed);
        let info_static = leak_info(&info);
        guard(&mut conn, &plan);
        let _ = stats.manifest.set(manifest_of(info, params_schema));
        Ok(Self {
            info: info_static,
            params: conn.params.clone(),
            backoff: Duration::from_millis(plan.cfg.backoff_ms),
            plan,
            live: Some(conn),
            restarting: None,
            broken: None,
            failures: VecDeque::new(),
            seq: 0,
            heartbeat: 0,
            last_io: Instant::now(),
            stats,
            copy: FrameBuf::shared(),
            registered: VecDeque::new(),
            points: Vec::new(),
            source: String::new(),
            hop: Duration::ZERO,
            result: ResultBuf::default(),
            output: Value::Null,
        })
    }
}

impl ProcessStage {
    /// Records a worker failure (the worker is already reaped): opens the circuit breaker
    /// after too many, else schedules a restart. Returns the message to report.
    fn failed(&mut self, message: String) -> String {
        self.live = None;
        self.stats.pid.store(0, Ordering::Relaxed);
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let window = Duration::from_secs(self.plan.cfg.breaker_window_s);
        self.failures.push_back(now);
        while self
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            self.failures.pop_front();
        }
        if self.failures.len() >= self.plan.cfg.breaker_failures.max(1) as usize {
            return self.open_breaker(format!(
                "{message}; circuit breaker open after {} failures in {} s (re-enable the stage to retry)",
                self.failures.len(),
                self.plan.cfg.breaker_window_s
            ));
        }
        let delay = self.backoff;
        self.backoff = (self.backoff * 2).min(Duration::from_millis(self.plan.cfg.max_backoff_ms));
        self.schedule_restart(delay);
        format!("{message}; restarting in {} ms", delay.as_millis())
    }

    fn open_breaker(&mut self, message: String) -> String {
        self.live = None;
        self.restarting = None;
        self.stats.broken.store(1, Ordering::Relaxed);
        self.broken = Some(message.clone());
        message
    }

    /// Starts a worker in the background after `delay`; [`Self::poll_restart`] takes it.
    fn schedule_restart(&mut self, delay: Duration) {
        let (tx, rx) = bounded(1);
        let plan = self.plan.clone();
        let params = self.params.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("restart-{}", plan.init.id))
            .spawn(move || {
                std::thread::sleep(delay);
                // A receiver gone (stage dropped) drops the connection, which kills the worker.
                let _ = tx.send(connect(&plan, &params));
            });
        match spawned {
            Ok(_) => self.restarting = Some(rx),
            Err(e) => {
                self.open_breaker(format!(
                    "{}: cannot start a restart thread: {e}",
                    self.plan.label
                ));
            }
        }
    }

    /// Takes a restarted worker if one is ready. `Err`: the restart itself failed.
    fn poll_restart(&mut self, ctx: &mut FrameCtx<'_>) -> Result<(), String> {
        let Some(rx) = &self.restarting else {
            return Ok(());
        };
        match rx.try_recv() {
            Err(TryRecvError::Empty) => Ok(()),
            Ok(Ok(mut conn)) => {
                self.restarting = None;
                conn.described = None;
                let restarts = self.stats.restarts.fetch_add(1, Ordering::Relaxed) + 1;
                self.stats.pid.store(u64::from(conn.pid), Ordering::Relaxed);
                self.registered.clear();
                self.last_io = Instant::now();
                let msg = format!(
                    "{} restarted (pid {}); {restarts} restarts, {} frames lost so far",
                    self.plan.label,
                    conn.pid,
                    self.stats.lost_frames.load(Ordering::Relaxed)
                );
                guard(&mut conn, &self.plan);
                self.live = Some(conn);
                ctx.notify(NotificationLevel::Info, "worker restarted", msg);
                Ok(())
            }
            Ok(Err(Failure::Refused(m))) => Err(self.open_breaker(m)),
            Ok(Err(Failure::Crashed(m))) => {
                self.restarting = None;
                Err(self.failed(m))
            }
            Err(TryRecvError::Disconnected) => {
                self.restarting = None;
                Err(self.failed(format!("{}: the restart thread ended", self.plan.label)))
            }
        }
    }

    /// A hang the idle watchdog found (it killed the worker): reaps the worker, records the
    /// failure (restart or breaker) and returns the report.
    fn take_hang(&mut self) -> Option<String> {
        let note = self.live.as_ref()?.chan.take_hang()?;
        if let Some(mut conn) = self.live.take() {
            conn.end();
        }
        Some(self.failed(note))
    }

    /// Marks this frame's result absent and counts it lost.
    fn lose(&self, ctx: &mut FrameCtx<'_>) {
        self.stats.lost_frames.fetch_add(1, Ordering::Relaxed);
        ctx.store.slots[ctx.slot].value = None;
    }

    /// Ends the live worker after `what` went wrong; returns the report.
    fn worker_failed(&mut self, what: WireError, during: &str) -> String {
        let Some(mut conn) = self.live.take() else {
            return format!("{}: no worker", self.plan.label);
        };
        let label = &self.plan.label;
        let message = match what {
            WireError::Eof => {
                let how = conn.end();
                with_output(
                    format!("{label} died: {how}"),
                    &conn.output.quote(OUTPUT_WAIT),
                )
            }
            WireError::Timeout(t) => {
                conn.end();
                format!(
                    "{label} hung: no answer to {during} within {} ms; killed",
                    t.as_millis()
                )
            }
            other => {
                conn.end();
                format!("{label}: protocol error: {other}; killed")
            }
        };
        self.failed(message)
    }

    fn protocol_error(&mut self, detail: String) -> String {
        if let Some(mut conn) = self.live.take() {
            conn.end();
        }
        self.failed(format!(
            "{}: protocol error: {detail}; killed",
            self.plan.label
        ))
    }

    /// One request and its answer between frames.
    fn request(
        &mut self,
        msg: &HostMessage,
        timeout: Duration,
    ) -> Result<WorkerMessage, CommandError> {
        if let Some(b) = &self.broken {
            return Err(CommandError::new(ErrorCode::Unavailable, b.clone()));
        }
        if let Some(m) = self.take_hang() {
            return Err(CommandError::new(ErrorCode::StageFailed, m));
        }
        let Some(conn) = self.live.as_mut() else {
            return Err(CommandError::new(
                ErrorCode::Unavailable,
                format!("{} is restarting", self.plan.label),
            ));
        };
        let got = {
            let mut ch = conn.chan.lock();
            ch.send(msg, None)
                .and_then(|()| ch.recv::<WorkerMessage>(Some(timeout)))
        };
        conn.chan.touch();
        self.last_io = Instant::now();
        match got {
            Ok((WorkerMessage::Error { kind, message }, _)) => {
                let code = match kind {
                    WorkerErrorKind::BadArgs => ErrorCode::BadArgs,
                    WorkerErrorKind::UnknownCommand => ErrorCode::UnknownCommand,
                    WorkerErrorKind::Failed => ErrorCode::StageFailed,
                };
                Err(CommandError::new(code, message))
            }
            Ok((m, _)) => Ok(m),
            Err(e) => {
                let m = self.worker_failed(e, "a command");
                Err(CommandError::new(ErrorCode::StageFailed, m))
            }
        }
    }

    fn wrong_answer(&mut self, what: &str, got: &WorkerMessage) -> CommandError {
        let m = self.protocol_error(format!("expected {what}, got {}", unexpected(got)));
        CommandError::new(ErrorCode::StageFailed, m)
    }

    /// Sends a heartbeat when the worker has been idle; `Err` if it did not answer.
    fn heartbeat_if_idle(&mut self) -> Result<(), String> {
        if self.last_io.elapsed() < HEARTBEAT_IDLE {
            return Ok(());
        }
        self.heartbeat += 1;
        let n = self.heartbeat;
        let t = Duration::from_millis(self.plan.cfg.heartbeat_timeout_ms.max(1));
        let Some(conn) = self.live.as_mut() else {
            return Ok(());
        };
        let got = heartbeat(&mut conn.chan.lock(), n, t, conn.pid);
        conn.chan.touch();
        self.last_io = Instant::now();
        match got {
            Ok(WorkerMessage::Heartbeat { n: m }) if m == n => Ok(()),
            Ok(other) => Err(self.protocol_error(format!(
                "expected heartbeat {n}, got {}",
                unexpected(&other)
            ))),
            Err(e) => Err(self.worker_failed(e, "a heartbeat")),
        }
    }

    fn run_frame(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow, FrameFail> {
        self.heartbeat_if_idle()?;
        let data = ctx.frame;
        let region = match data.data.shm() {
            Some(r) => r,
            None => {
                // A source that does not use shared frames: one copy, counted.
                self.copy.resize(data.data.len(), 0);
                self.copy.copy_from_slice(&data.data);
                self.stats.copied_frames.fetch_add(1, Ordering::Relaxed);
                self.copy
                    .shm()
                    .ok_or_else(|| format!("{}: no shared memory for frames", self.plan.label))?
            }
        };
        let Some(conn) = self.live.as_mut() else {
            return Err(FrameFail::Worker("no worker".into()));
        };
        let id = region.id();
        let link = conn.chan.clone();
        // Held from the frame's request to its answer (the watchdog then stays out).
        let mut ch = link.lock();
        let mut sent = Ok(());
        if !self.registered.contains(&id) {
            if self.registered.len() >= MAX_BUFFERS
                && let Some(old) = self.registered.pop_front()
            {
                sent = ch.send(&HostMessage::DropBuffer { buffer: old }, None);
            }
            sent = sent.and_then(|()| {
                ch.send(
                    &HostMessage::Buffer {
                        buffer: id,
                        len: region.capacity() as u64,
                    },
                    Some(region.fd()),
                )
            });
            self.registered.push_back(id);
        }
        self.seq += 1;
        let seq = self.seq;
        self.points.clear();
        self.points.extend(ctx.points().iter().map(|p| WirePoint {
            name: p.name.clone(),
            x: p.x,
            y: p.y,
            score: p.score,
        }));
        let msg = HostMessage::Frame {
            seq,
            buffer: id,
            offset: 0,
            frame: FrameMeta {
                frame_id: data.frame_id,
                source: {
                    // Reused from the last frame: no allocation per frame.
                    let mut s = std::mem::take(&mut self.source);
                    if s != *data.source {
                        s.clear();
                        s.push_str(&data.source);
                    }
                    s
                },
                source_index: data.source_index,
                t_ns: data.t_ns,
                width: data.width,
                height: data.height,
                stride: data.stride as u64,
                format: match data.format {
                    PixelFormat::Gray8 => WireFormat::Gray8,
                    PixelFormat::Rgb8 => WireFormat::Rgb8,
                    PixelFormat::Bgr8 => WireFormat::Bgr8,
                    PixelFormat::Yuyv => WireFormat::Yuyv,
                    PixelFormat::Nv12 => WireFormat::Nv12,
                },
            },
            state: ctx.state,
            points: std::mem::take(&mut self.points),
        };
        let t0 = Instant::now();
        if ch.spins() {
            // A stage slower than the spin time: sleep until just before its usual answer.
            ch.expect(t0 + self.hop);
        }
        let deadline = self.plan.deadline;
        let (result, output) = (&mut self.result, &mut self.output);
        let got = sent.and_then(|()| ch.send(&msg, None)).and_then(|()| {
            let (bytes, _) = ch.recv_raw(Some(deadline))?;
            // A `result` is parsed in place (no allocation once warmed up); anything else as
            // the general message.
            if result.parse(bytes, output).is_ok() {
                return Ok(None);
            }
            match serde_json::from_slice::<WorkerMessage>(bytes) {
                Ok(m) => Ok(Some(m)),
                Err(e) => {
                    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
                    Err(WireError::Parse(format!("{e} in {head:?}")))
                }
            }
        });
        self.hop = t0.elapsed();
        drop(ch);
        link.touch();
        if let HostMessage::Frame { points, frame, .. } = msg {
            self.points = points;
            self.source = frame.source;
        }
        self.last_io = Instant::now();
        let (s, frame_id) = match got {
            Ok(None) => (self.result.seq, self.result.frame_id),
            Ok(Some(WorkerMessage::Result(FrameResult { seq, frame_id, .. }))) => (seq, frame_id),
            Ok(Some(other)) => {
                return Err(FrameFail::Worker(self.protocol_error(format!(
                    "expected a result, got {}",
                    unexpected(&other)
                ))));
            }
            Err(e) => {
                let during = format!("frame {}", data.frame_id);
                return Err(FrameFail::Worker(self.worker_failed(e, &during)));
            }
        };
        if (s, frame_id) != (seq, data.frame_id) || !matches!(got, Ok(None)) {
            return Err(FrameFail::Worker(self.protocol_error(format!(
                "a result for seq {s} frame {frame_id} when frame {} (seq {seq}) was sent",
                data.frame_id
            ))));
        }
        let r = &self.result;
        self.stats.frames.fetch_add(1, Ordering::Relaxed);
        self.stats
            .process_us
            .fetch_add(r.process_us, Ordering::Relaxed);
        self.backoff = Duration::from_millis(self.plan.cfg.backoff_ms);
        if r.has_error {
            // The stage's own error for this frame, exactly like an inline stage's `Err`.
            ctx.store.slots[ctx.slot].value = None;
            return Err(FrameFail::Stage(r.error.clone()));
        }
        if self.output.is_null() {
            ctx.store.slots[ctx.slot].value = None;
        } else {
            // The slot's last value comes back for the next parse (two buffers, alternating).
            std::mem::swap(ctx.output::<Value>(), &mut self.output);
        }
        let r = &self.result;
        for s in r.signals.as_slice() {
            ctx.signal(&s.name, s.value);
        }
        for p in r.points.as_slice() {
            ctx.publish_point(&p.name, p.x, p.y, p.score);
        }
        let prefix_len = ctx.stage_id.len() + 1;
        for w in r.widgets.as_slice() {
            let id = if w.id.starts_with(ctx.stage_id)
                && w.id.as_bytes().get(prefix_len - 1) == Some(&b'.')
            {
                &w.id[prefix_len..]
            } else {
                &w.id
            };
            let range = w.min.zip(w.max);
            ctx.widget(id, &w.label, w.value, &w.unit, range);
        }
        for n in r.notifications.as_slice() {
            let level = match n.level {
                WireLevel::Info | WireLevel::Success => NotificationLevel::Info,
                WireLevel::Warning => NotificationLevel::Warning,
                WireLevel::Error => NotificationLevel::Error,
            };
            ctx.notify(level, &n.title, n.message.clone());
        }
        Ok(match r.flow {
            WireFlow::Continue => Flow::Continue,
            WireFlow::Skip => Flow::Skip,
        })
    }
}

impl DynStage for ProcessStage {
    fn info(&self) -> &'static StageInfo {
        self.info
    }

    fn worker_stats(&self) -> Option<Arc<WorkerStats>> {
        Some(self.stats.clone())
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        if let Some(b) = &self.broken {
            self.lose(ctx);
            return Err(Error::stage(b.clone()));
        }
        if let Some(m) = self.take_hang() {
            self.lose(ctx);
            return Err(Error::stage(m));
        }
        if let Err(m) = self.poll_restart(ctx) {
            self.lose(ctx);
            return Err(Error::stage(m));
        }
        if self.live.is_none() {
            // Restarting: this frame is lost, not waited for.
            self.lose(ctx);
            return Ok(Flow::Continue);
        }
        match self.run_frame(ctx) {
            Ok(flow) => Ok(flow),
            Err(FrameFail::Stage(e)) => Err(Error::stage(e)),
            Err(FrameFail::Worker(m)) => {
                self.lose(ctx);
                Err(Error::stage(m))
            }
        }
    }

    fn set_params(
        &mut self,
        args: &Value,
        _ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        let msg = HostMessage::SetParams {
            params: args.clone(),
        };
        match self.request(&msg, COMMAND_TIMEOUT)? {
            WorkerMessage::Params { params } => {
                self.params = params.clone();
                Ok(params)
            }
            other => Err(self.wrong_answer("params", &other)),
        }
    }

    fn params(&self) -> Value {
        self.params.clone()
    }

    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        _ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        if cmd == WORKER_STATUS {
            let mut v = serde_json::to_value(self.stats.read()).unwrap_or(Value::Null);
            v["state"] = json!(if self.broken.is_some() {
                "failed"
            } else if self.live.is_some() {
                "running"
            } else {
                "restarting"
            });
            return Ok(v);
        }
        let msg = HostMessage::Command {
            name: cmd.to_owned(),
            args: args.clone(),
        };
        match self.request(&msg, COMMAND_TIMEOUT)? {
            WorkerMessage::Reply { value } => Ok(value),
            other => Err(self.wrong_answer("reply", &other)),
        }
    }

    fn start(&mut self, _ctx: &mut CommandCtx<'_>) -> Result<()> {
        Ok(())
    }

    fn stop(&mut self) {
        self.restarting = None;
        let Some(mut conn) = self.live.take() else {
            return;
        };
        conn.watchdog = None;
        let mut ch = conn.chan.lock();
        let _ = ch.send(&HostMessage::Shutdown, None);
        let _ = ch.recv::<WorkerMessage>(Some(SHUTDOWN_GRACE));
        drop(ch);
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        // Wait for the exit (the worker exits right after `ok`); kill it past the grace time.
        while Instant::now() < deadline {
            match conn.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => {
                    // Its socket closes when it exits: wait on that instead of sleeping.
                    let _ = conn
                        .chan
                        .lock()
                        .recv_raw(Some(deadline.saturating_duration_since(Instant::now())));
                }
            }
        }
        conn.end();
        self.stats.pid.store(0, Ordering::Relaxed);
    }

    fn reset(&mut self) {
        if self.broken.take().is_some() {
            // Re-enabled: close the breaker and start afresh.
            self.stats.broken.store(0, Ordering::Relaxed);
            self.failures.clear();
            self.backoff = Duration::from_millis(self.plan.cfg.backoff_ms);
            self.schedule_restart(Duration::ZERO);
            return;
        }
        if self.live.is_some() {
            match self.request(&HostMessage::Reset, COMMAND_TIMEOUT) {
                Ok(WorkerMessage::Ok) | Err(_) => {}
                Ok(other) => {
                    let _ = self.wrong_answer("ok", &other);
                }
            }
        }
    }
}
