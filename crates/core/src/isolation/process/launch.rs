//! Starting a process stage's worker: where it comes from ([`plan`]: `framebus worker` or a
//! Python interpreter running the SDK), the handshake ([`connect`]: `ping`, `describe`,
//! `init`, then the doorbell and its message slots), the live connection ([`Conn`]), and
//! [`describe_worker`] for `framebus plugins`. [`super::host::ProcessStage`] runs the frames.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use framebus_protocol::worker::{
    FEATURE_SLOTS, FEATURE_SPIN, HostMessage, PROTOCOL_VERSION, WorkerMessage, WorkerStageInfo,
};
use serde_json::{Value, json};

use super::bell::Bell;
use super::output::{Tail, with_output};
use super::watchdog::{Link, Watchdog, watch};
use super::wire::{Channel, WireError, pair};
use super::{WorkerConfig, spawn};
use crate::config::StageConfig;
use crate::error::Result;
use crate::stage::{CommandSpec, StageInfo, StageInit};

/// Default per-frame deadline of a process stage.
const DEFAULT_DEADLINE_MS: u64 = 1000;
/// Time a worker has to start and answer the handshake (a Python import can be slow).
const STARTUP: Duration = Duration::from_secs(20);
/// A worker must exit this soon after `shutdown`.
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Send a heartbeat before a frame when nothing was exchanged for this long.
pub(super) const HEARTBEAT_IDLE: Duration = Duration::from_secs(1);
/// How long a dead worker's output pipe may take to reach EOF before its tail is quoted.
pub(super) const OUTPUT_WAIT: Duration = Duration::from_millis(500);

/// How to start a worker and what to ask it.
pub(super) struct Plan {
    pub(super) program: PathBuf,
    pub(super) args: Vec<String>,
    pub(super) cwd: Option<PathBuf>,
    pub(super) env: Vec<(String, String)>,
    /// Stage id in `ping`.
    pub(super) stage: String,
    pub(super) init: StageInit,
    pub(super) deadline: Duration,
    pub(super) cfg: WorkerConfig,
    /// `worker for <id>`.
    pub(super) label: String,
}

/// Why starting a worker failed.
pub(super) enum Failure {
    /// It refused (protocol version, unknown stage, bad params): do not retry.
    Refused(String),
    /// It crashed or hung: retry with backoff.
    Crashed(String),
}

/// A live worker.
pub(super) struct Conn {
    pub(super) child: Child,
    /// Its socket, shared with the idle watchdog.
    pub(super) chan: Arc<Link>,
    /// Heartbeats while idle (none for a worker only asked to describe itself).
    pub(super) watchdog: Option<Watchdog>,
    /// Its stdout and stderr (forwarded to framebus's stderr; the last bytes kept).
    pub(super) output: Arc<Tail>,
    pub(super) pid: u32,
    pub(super) described: Option<(WorkerStageInfo, Value)>,
    pub(super) params: Value,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the idle watchdog of a worker the pipeline adopts (if its thread cannot start, the
/// heartbeat before each frame still catches a hang).
pub(super) fn guard(conn: &mut Conn, plan: &Plan) {
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
    pub(super) fn end(&mut self) -> String {
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(s) => exit_text(s),
            Err(e) => format!("unknown exit ({e})"),
        }
    }
}

pub(super) fn unexpected(m: &WorkerMessage) -> String {
    let text = serde_json::to_string(m).unwrap_or_default();
    text.chars().take(120).collect()
}

/// Starts a worker and runs the handshake (`ping`, `describe`, `init`).
pub(super) fn connect(plan: &Plan, params: &Value) -> Result<Conn, Failure> {
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
pub(super) fn doorbell(conn: &mut Conn, plan: &Plan, slot_bytes: u64) -> Result<(), Failure> {
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
pub(super) fn manifest_of(
    info: WorkerStageInfo,
    params_schema: Value,
) -> crate::registry::StageManifest {
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

pub(super) fn status_schema() -> Value {
    json!({"type": "object"})
}

pub(super) const WORKER_STATUS: &str = "worker_status";

/// Leaks the stage's description as static info (once per stage built, never per frame).
pub(super) fn leak_info(d: &WorkerStageInfo) -> &'static StageInfo {
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

/// How to start the worker of `st` (Python with `module`, else `framebus worker`).
pub(super) fn plan(st: &StageConfig, init: &StageInit, base_dir: &Path) -> Result<Plan, String> {
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
