//! [`ProcessStage`]: the proxy a pipeline runs for an `isolation = "process"` stage. It
//! starts the worker, hands it frames through shared memory, applies its results to the
//! frame's results, forwards commands, and survives the worker: a crash, kill, hang or
//! protocol error is reported, the frame is counted lost, and the worker is restarted in the
//! background with exponential backoff (frames meanwhile are counted lost, never waited
//! for) until the circuit breaker opens.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError, bounded};
use framebus_protocol::worker::{
    FEATURE_SLOTS, FEATURE_SPIN, FrameMeta, FrameResult, HostMessage, PROTOCOL_VERSION, WireFlow,
    WireFormat, WireLevel, WirePoint, WorkerErrorKind, WorkerMessage, WorkerStageInfo,
};
use framebus_protocol::{ErrorCode, NotificationLevel};
use serde_json::{Value, json};

use super::bell::Bell;
use super::output::{Tail, with_output};
use super::result_in::ResultBuf;
use super::watchdog::{Link, Watchdog, heartbeat, watch};
use super::wire::{Channel, WireError, pair};
use super::{WorkerConfig, WorkerStats, spawn};
use crate::config::StageConfig;
use crate::context::{CommandCtx, FrameCtx};
use crate::erased::DynStage;
use crate::error::{CommandError, Error, Result};
use crate::frame::{FrameBuf, PixelFormat};
use crate::stage::{CommandSpec, Flow, StageInfo, StageInit};

/// Default per-frame deadline of a process stage.
const DEFAULT_DEADLINE_MS: u64 = 1000;
/// Time a worker has to start and answer the handshake (a Python import can be slow).
const STARTUP: Duration = Duration::from_secs(20);
/// Time a command between frames may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// A worker must exit this soon after `shutdown`.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Send a heartbeat before a frame when nothing was exchanged for this long.
const HEARTBEAT_IDLE: Duration = Duration::from_secs(1);
/// How long a dead worker's output pipe may take to reach EOF before its tail is quoted.
const OUTPUT_WAIT: Duration = Duration::from_millis(500);
/// Buffers a worker keeps mapped; older ones are dropped.
const MAX_BUFFERS: usize = 64;

/// How to start a worker and what to ask it.
struct Plan {
    program: PathBuf,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
    /// Stage id in `ping`.
    stage: String,
    init: StageInit,
    deadline: Duration,
    cfg: WorkerConfig,
    /// `worker for <id>`.
    label: String,
}

/// Why starting a worker failed.
enum Failure {
    /// It refused (protocol version, unknown stage, bad params): do not retry.
    Refused(String),
    /// It crashed or hung: retry with backoff.
    Crashed(String),
}

/// A live worker.
struct Conn {
    child: Child,
    /// Its socket, shared with the idle watchdog.
    chan: Arc<Link>,
    /// Heartbeats while idle (none for a worker only asked to describe itself).
    watchdog: Option<Watchdog>,
    /// Its stdout and stderr (forwarded to framebus's stderr; the last bytes kept).
    output: Arc<Tail>,
    pid: u32,
    described: Option<(WorkerStageInfo, Value)>,
    params: Value,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the idle watchdog of a worker the pipeline adopts (if its thread cannot start, the
/// heartbeat before each frame still catches a hang).
fn guard(conn: &mut Conn, plan: &Plan) {
    let t = Duration::from_millis(plan.cfg.heartbeat_timeout_ms.max(1));
    conn.chan.touch();
    conn.watchdog = watch(&conn.chan, conn.pid, HEARTBEAT_IDLE, t, plan.label.clone()).ok();
}

/// How a worker ended, by name (`signal 11 (SIGSEGV)`, `exit code 3`).
pub(super) fn exit_text(status: ExitStatus) -> String {
    if let Some(sig) = status.signal() {
        let name = match sig {
            1 => "SIGHUP",
            2 => "SIGINT",
            4 => "SIGILL",
            6 => "SIGABRT",
            7 => "SIGBUS",
            8 => "SIGFPE",
            9 => "SIGKILL",
            11 => "SIGSEGV",
            13 => "SIGPIPE",
            15 => "SIGTERM",
            _ => "signal",
        };
        format!("signal {sig} ({name})")
    } else {
        format!("exit code {}", status.code().unwrap_or(-1))
    }
}

impl Conn {
    /// Kills (if still running) and reaps the worker; returns how it ended.
    fn end(&mut self) -> String {
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(s) => exit_text(s),
            Err(e) => format!("unknown exit ({e})"),
        }
    }
}

fn unexpected(m: &WorkerMessage) -> String {
    let text = serde_json::to_string(m).unwrap_or_default();
    text.chars().take(120).collect()
}

/// Starts a worker and runs the handshake (`ping`, `describe`, `init`).
fn connect(plan: &Plan, params: &Value) -> Result<Conn, Failure> {
    let (host_end, worker_end) =
        pair().map_err(|e| Failure::Crashed(format!("socketpair: {e}")))?;
    let mut cmd = Command::new(&plan.program);
    cmd.args(&plan.args).stdin(Stdio::null());
    // A worker's prints go to framebus's stderr, never into its stdout (JSONL may be there),
    // through a pipe whose last bytes are quoted when the worker dies.
    let (output, out, err) = Tail::start(&plan.init.id)
        .map_err(|e| Failure::Crashed(format!("{}: output pipe: {e}", plan.label)))?;
    cmd.stdout(out).stderr(err);
    if let Some(cwd) = &plan.cwd {
        cmd.current_dir(cwd);
    }
    for (k, v) in &plan.env {
        cmd.env(k, v);
    }
    let child = spawn::spawn(cmd, worker_end)
        .map_err(|e| Failure::Refused(format!("cannot start `{}`: {e}", plan.program.display())))?;
    let pid = child.id();
    // The parent's copies of the pipe's write end went with `cmd`: EOF follows the worker.
    let mut conn = Conn {
        child,
        chan: Link::new(Channel::new(host_end)),
        watchdog: None,
        output,
        pid,
        described: None,
        params: Value::Null,
    };
    let label = &plan.label;
    let ask = |conn: &mut Conn, msg: &HostMessage| -> Result<WorkerMessage, Failure> {
        let got = {
            let mut ch = conn.chan.lock();
            let sent = ch.send(msg, None);
            sent.and_then(|()| ch.recv::<WorkerMessage>(Some(STARTUP)))
        };
        match got {
            Ok((WorkerMessage::Fatal { message }, _)) => {
                let how = conn.end();
                Err(Failure::Refused(with_output(
                    format!("{label} refused: {message} ({how})"),
                    &conn.output.quote(OUTPUT_WAIT),
                )))
            }
            Ok((m, _)) => Ok(m),
            Err(WireError::Eof) => {
                let how = conn.end();
                Err(Failure::Crashed(with_output(
                    format!("{label} died while starting: {how}"),
                    &conn.output.quote(OUTPUT_WAIT),
                )))
            }
            Err(WireError::Timeout(t)) => {
                conn.end();
                Err(Failure::Crashed(format!(
                    "{label} did not answer the handshake within {} s; killed",
                    t.as_secs()
                )))
            }
            Err(e) => {
                conn.end();
                Err(Failure::Refused(format!("{label}: protocol error: {e}")))
            }
        }
    };
    let ping = HostMessage::Ping {
        protocol: PROTOCOL_VERSION,
        stage: plan.stage.clone(),
    };
    let (spins, slots) = match ask(&mut conn, &ping)? {
        WorkerMessage::Pong {
            protocol,
            stage,
            features,
            ..
        } if protocol == PROTOCOL_VERSION && stage == plan.stage => (
            features.iter().any(|f| f == FEATURE_SPIN),
            features.iter().any(|f| f == FEATURE_SLOTS),
        ),
        WorkerMessage::Pong {
            protocol, stage, ..
        } => {
            conn.end();
            return Err(Failure::Refused(format!(
                "{label}: protocol error: the worker speaks protocol {protocol} for stage `{stage}`, \
                 framebus speaks {PROTOCOL_VERSION} for `{}`",
                plan.stage
            )));
        }
        other => {
            conn.end();
            return Err(Failure::Refused(format!(
                "{label}: protocol error: expected pong, got {}",
                unexpected(&other)
            )));
        }
    };
    match ask(&mut conn, &HostMessage::Describe)? {
        WorkerMessage::Description {
            info,
            params_schema,
            ..
        } => conn.described = Some((info, params_schema)),
        other => {
            conn.end();
            return Err(Failure::Refused(format!(
                "{label}: protocol error: expected description, got {}",
                unexpected(&other)
            )));
        }
    }
    let init = HostMessage::Init {
        id: plan.init.id.clone(),
        source: plan.init.source.clone(),
        params: params.clone(),
    };
    match ask(&mut conn, &init)? {
        WorkerMessage::Ready { params } => conn.params = params,
        WorkerMessage::Error { message, .. } => {
            conn.end();
            return Err(Failure::Refused(format!("{label}: init failed: {message}")));
        }
        other => {
            conn.end();
            return Err(Failure::Refused(format!(
                "{label}: protocol error: expected ready, got {}",
                unexpected(&other)
            )));
        }
    }
    if spins && plan.cfg.spin_us > 0 {
        doorbell(&mut conn, plan, if slots { plan.cfg.slot_bytes } else { 0 })?;
    }
    Ok(conn)
}

/// Sets up the spin doorbell (with message slots of `slot_bytes`, 0: none) with a worker
/// that offered it. A worker that cannot map it (`error`) goes on without; any other answer
/// is a protocol error.
fn doorbell(conn: &mut Conn, plan: &Plan, slot_bytes: u64) -> Result<(), Failure> {
    let label = &plan.label;
    let bell = match Bell::create(Duration::from_micros(plan.cfg.spin_us), slot_bytes) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{label}: no doorbell ({e}); frames wake the worker from sleep");
            return Ok(());
        }
    };
    let msg = HostMessage::Spin {
        spin_us: plan.cfg.spin_us,
        slot_bytes: bell.slot_bytes(),
    };
    let mut ch = conn.chan.lock();
    let got = ch
        .send(&msg, Some(bell.fd()))
        .and_then(|()| ch.recv::<WorkerMessage>(Some(STARTUP)));
    match got {
        Ok((WorkerMessage::Ok, _)) => {
            ch.ring(bell);
            Ok(())
        }
        Ok((WorkerMessage::Error { message, .. }, _)) => {
            eprintln!("{label}: {message}; frames wake the worker from sleep");
            Ok(())
        }
        Ok((other, _)) => {
            drop(ch);
            conn.end();
            Err(Failure::Refused(format!(
                "{label}: protocol error: expected ok to `spin`, got {}",
                unexpected(&other)
            )))
        }
        Err(e) => {
            drop(ch);
            let how = conn.end();
            Err(Failure::Crashed(with_output(
                format!("{label} failed while starting: {e} ({how})"),
                &conn.output.quote(OUTPUT_WAIT),
            )))
        }
    }
}

/// Starts the worker of `st`, takes its description (id, version, commands, params schema)
/// as a manifest, and shuts it down: what `framebus plugins --config` lists for stages that
/// are not registered in this binary (Python stages).
pub fn describe_worker(
    st: &StageConfig,
    init: &StageInit,
    base_dir: &Path,
) -> Result<crate::registry::StageManifest, String> {
    let plan = plan(st, init, base_dir)?;
    let mut conn = match connect(&plan, &st.params) {
        Ok(c) => c,
        Err(Failure::Refused(m) | Failure::Crashed(m)) => return Err(m),
    };
    let (info, params_schema) = conn.described.take().expect("described in the handshake");
    {
        let mut ch = conn.chan.lock();
        let _ = ch.send(&HostMessage::Shutdown, None);
        let _ = ch.recv::<WorkerMessage>(Some(SHUTDOWN_GRACE));
    }
    conn.end();
    Ok(manifest_of(info, params_schema))
}

/// The manifest of a stage as its worker described it (generic commands first, then its
/// own with the args schemas it declared).
fn manifest_of(info: WorkerStageInfo, params_schema: Value) -> crate::registry::StageManifest {
    let mut commands = crate::registry::generic_commands(&params_schema);
    commands.extend(
        info.commands
            .into_iter()
            .map(|c| crate::registry::CommandManifest {
                name: c.name,
                description: c.description,
                args_schema: c.args_schema,
                locked_while_recording: c.locked_while_recording,
            }),
    );
    crate::registry::StageManifest {
        id: info.id,
        version: info.version,
        description: info.description,
        namespace: info.namespace,
        params_schema,
        commands,
    }
}

fn status_schema() -> Value {
    json!({"type": "object"})
}

const WORKER_STATUS: &str = "worker_status";

/// Leaks the stage's description as static info (once per stage built, never per frame).
fn leak_info(d: &WorkerStageInfo) -> &'static StageInfo {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let mut commands: Vec<CommandSpec> = d
        .commands
        .iter()
        .map(|c| CommandSpec {
            name: leak(&c.name),
            description: leak(&c.description),
            args_schema: status_schema,
            locked_while_recording: c.locked_while_recording,
        })
        .collect();
    commands.push(CommandSpec {
        name: WORKER_STATUS,
        description: "The worker's pid, restarts, lost frames and failures",
        args_schema: status_schema,
        locked_while_recording: false,
    });
    Box::leak(Box::new(StageInfo {
        id: leak(&d.id),
        version: leak(&d.version),
        description: leak(&d.description),
        namespace: d.namespace.as_deref().map(leak),
        commands: Box::leak(commands.into_boxed_slice()),
    }))
}

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

/// How to start the worker of `st` (Python with `module`, else `framebus worker`).
fn plan(st: &StageConfig, init: &StageInit, base_dir: &Path) -> Result<Plan, String> {
    let cfg = st.worker.clone();
    if cfg.slot_bytes != 0 && !super::bell::SLOT_RANGE.contains(&cfg.slot_bytes) {
        return Err(format!(
            "worker.slot_bytes = {}: 0 (no slots) or {} to {} bytes",
            cfg.slot_bytes,
            super::bell::SLOT_RANGE.start(),
            super::bell::SLOT_RANGE.end()
        ));
    }
    let (program, args, cwd, env) = match &st.module {
        Some(module) => {
            // Absolute: the worker starts in the config's directory.
            let dir = std::path::absolute(if base_dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base_dir
            })
            .map_err(|e| format!("config directory: {e}"))?;
            let python = st.python.clone().unwrap_or_else(|| "python3".into());
            let program = if python.contains('/') && Path::new(&python).is_relative() {
                dir.join(&python)
            } else {
                PathBuf::from(python)
            };
            let mut path = dir.display().to_string();
            if let Ok(old) = std::env::var("PYTHONPATH")
                && !old.is_empty()
            {
                path = format!("{path}:{old}");
            }
            (
                program,
                vec![
                    "-m".into(),
                    "framebus.worker".into(),
                    "--module".into(),
                    module.clone(),
                    "--stage".into(),
                    st.plugin.clone(),
                ],
                Some(dir),
                vec![("PYTHONPATH".to_owned(), path)],
            )
        }
        None => {
            let exe = match &cfg.exe {
                Some(p) => p.clone(),
                None => {
                    std::env::current_exe().map_err(|e| format!("cannot find framebus: {e}"))?
                }
            };
            (
                exe,
                vec!["worker".into(), "--stage".into(), st.plugin.clone()],
                None,
                Vec::new(),
            )
        }
    };
    Ok(Plan {
        program,
        args,
        cwd,
        env,
        stage: st.plugin.clone(),
        init: init.clone(),
        deadline: Duration::from_millis(st.deadline_ms.unwrap_or(DEFAULT_DEADLINE_MS).max(1)),
        cfg,
        label: format!("worker for {}", init.id),
    })
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
