//! The command bus (seed 000's central dispatch): commands are queued from any thread,
//! routed by target, and applied by the owning pipeline thread before its next frame.
//! Every command gets exactly one reply.
//!
//! Targets: a stage id, a source id (`camera_0`), `all_cameras`, `pipeline`.
//! `pipeline` commands: `run`, `pause`, `record`, `set_state {state}`, `status`,
//! `enable_stage {stage}`, `disable_stage {stage}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use framebus_protocol::{
    Ack, Command, ErrorCode, ErrorReply, RunState, ServerMessage, StateChanged,
};
use serde_json::{Value, json};

use crate::error::CommandError;
use crate::observer::Observers;
use crate::registry::did_you_mean;
use crate::state::RunControl;

/// The outcome of a command.
pub type Reply = Result<Ack, ErrorReply>;

/// Builds the reply for `cmd` from a handler's outcome.
pub fn reply_for(cmd: &Command, outcome: Result<Value, CommandError>) -> Reply {
    match outcome {
        Ok(result) => Ok(Ack {
            id: cmd.id.clone(),
            target: cmd.target.clone(),
            cmd: cmd.payload.cmd.clone(),
            result,
        }),
        Err(e) => Err(ErrorReply {
            id: cmd.id.clone(),
            code: e.code,
            message: e.message,
        }),
    }
}

pub(crate) type Callback = Box<dyn FnOnce(Reply) + Send>;

/// A command travelling to a pipeline, with where its reply goes.
pub(crate) enum Request {
    /// Apply a command, then call back with the reply.
    Command(Command, Callback),
    /// Nothing to do; wakes a paused pipeline so it re-reads the run state.
    Wake,
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Stage(usize),
    Source(usize),
}

struct Inner {
    pipelines: Vec<Sender<Request>>,
    routes: HashMap<String, Route>,
    cameras: Vec<usize>,
    run: Arc<RunControl>,
    observers: Observers,
}

/// A cloneable handle for sending commands into the runtime from any thread.
#[derive(Clone)]
pub struct CommandBus {
    inner: Arc<Inner>,
}

/// Targets the bus knows (for building routes).
pub(crate) struct BusPlan {
    pub(crate) stages: Vec<(String, usize)>,
    pub(crate) sources: Vec<(String, usize, bool)>,
}

impl CommandBus {
    pub(crate) fn new(
        plan: BusPlan,
        pipelines: Vec<Sender<Request>>,
        run: Arc<RunControl>,
        observers: Observers,
    ) -> Self {
        let mut routes = HashMap::new();
        let mut cameras = Vec::new();
        for (id, p) in plan.stages {
            routes.insert(id, Route::Stage(p));
        }
        for (id, p, has_controls) in plan.sources {
            routes.insert(id, Route::Source(p));
            if has_controls {
                cameras.push(p);
            }
        }
        Self {
            inner: Arc::new(Inner {
                pipelines,
                routes,
                cameras,
                run,
                observers,
            }),
        }
    }

    /// Sends a command; `on_reply` is called exactly once with the reply (on the pipeline
    /// thread, or on this thread when the bus can answer directly).
    pub fn send(&self, cmd: Command, on_reply: impl FnOnce(Reply) + Send + 'static) {
        let on_reply: Callback = Box::new(on_reply);
        match cmd.target.as_str() {
            "pipeline" => self.pipeline_command(cmd, on_reply),
            "all_cameras" => self.all_cameras(cmd, on_reply),
            target => match self.inner.routes.get(target) {
                Some(Route::Stage(p) | Route::Source(p)) => self.forward(*p, cmd, on_reply),
                None => {
                    let hint = did_you_mean(target, self.targets())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    let e = CommandError::new(
                        ErrorCode::UnknownTarget,
                        format!("no target `{target}`{hint}"),
                    );
                    on_reply(reply_for(&cmd, Err(e)));
                }
            },
        }
    }

    /// Sends a command and returns a receiver for its reply.
    pub fn request(&self, cmd: Command) -> Receiver<Reply> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.send(cmd, move |r| {
            let _ = tx.send(r);
        });
        rx
    }

    /// Sends a command and waits up to `timeout` for the reply.
    pub fn request_blocking(&self, cmd: Command, timeout: Duration) -> Reply {
        let fallback = cmd.clone();
        self.request(cmd).recv_timeout(timeout).unwrap_or_else(|_| {
            reply_for(
                &fallback,
                Err(CommandError::new(
                    ErrorCode::Unavailable,
                    "no reply: the pipeline is not running",
                )),
            )
        })
    }

    /// Sends a command and ignores the reply.
    pub fn send_and_forget(&self, cmd: Command) {
        self.send(cmd, |_| {});
    }

    /// The run state.
    pub fn state(&self) -> RunState {
        self.inner.run.get()
    }

    /// Every target id the bus routes (stages, sources and the built-ins).
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.inner
            .routes
            .keys()
            .map(String::as_str)
            .chain(["pipeline", "all_cameras"])
    }

    fn forward(&self, pipeline: usize, cmd: Command, on_reply: Callback) {
        if let Err(crossbeam_channel::SendError(Request::Command(cmd, on_reply))) =
            self.inner.pipelines[pipeline].send(Request::Command(cmd, on_reply))
        {
            let e = CommandError::new(ErrorCode::Unavailable, "the pipeline has stopped");
            on_reply(reply_for(&cmd, Err(e)));
        }
    }

    fn all_cameras(&self, cmd: Command, on_reply: Callback) {
        let cams = &self.inner.cameras;
        if cams.is_empty() {
            let e = CommandError::new(ErrorCode::UnknownTarget, "no source has camera controls");
            return on_reply(reply_for(&cmd, Err(e)));
        }
        struct Gather {
            left: usize,
            results: serde_json::Map<String, Value>,
            first_error: Option<ErrorReply>,
            done: Option<Callback>,
        }
        let gather = Arc::new(Mutex::new(Gather {
            left: cams.len(),
            results: Default::default(),
            first_error: None,
            done: Some(on_reply),
        }));
        let sources: Vec<(String, usize)> = self
            .inner
            .routes
            .iter()
            .filter_map(|(id, r)| match r {
                Route::Source(p) if cams.contains(p) => Some((id.clone(), *p)),
                _ => None,
            })
            .collect();
        for (source, p) in sources {
            let mut one = cmd.clone();
            one.target = source.clone();
            let g = gather.clone();
            let outer = cmd.clone();
            self.forward(
                p,
                one,
                Box::new(move |r: Reply| {
                    let mut g = g.lock().unwrap_or_else(|e| e.into_inner());
                    match r {
                        Ok(ack) => {
                            g.results.insert(source, ack.result);
                        }
                        Err(e) => {
                            g.first_error.get_or_insert(e);
                        }
                    }
                    g.left -= 1;
                    if g.left == 0 {
                        let outcome = match g.first_error.take() {
                            Some(e) => Err(CommandError::new(e.code, e.message)),
                            None => Ok(Value::Object(std::mem::take(&mut g.results))),
                        };
                        if let Some(done) = g.done.take() {
                            done(reply_for(&outer, outcome));
                        }
                    }
                }),
            );
        }
    }

    fn set_state(&self, to: RunState) -> Value {
        // Observers hear of a change into `recording` before any pipeline can see it, and of
        // any other change after: a recorder's window then covers every frame a pipeline
        // processed in the recording state (none is lost between the two).
        let before = self.inner.run.get();
        let early = before != to && to == RunState::Recording;
        if early {
            self.inner
                .observers
                .event(&ServerMessage::StateChanged(StateChanged {
                    from: before,
                    to,
                }));
        }
        let from = self.inner.run.set(to);
        if from != to {
            for p in &self.inner.pipelines {
                let _ = p.send(Request::Wake);
            }
            if !early {
                self.inner
                    .observers
                    .event(&ServerMessage::StateChanged(StateChanged { from, to }));
            }
        }
        json!({ "from": from, "state": to })
    }

    fn pipeline_command(&self, cmd: Command, on_reply: Callback) {
        let args = &cmd.payload.args;
        let outcome = match cmd.payload.cmd.as_str() {
            "run" => Ok(self.set_state(RunState::Running)),
            "pause" => Ok(self.set_state(RunState::Paused)),
            "record" => Ok(self.set_state(RunState::Recording)),
            "stop_recording" => Ok(self.set_state(RunState::Running)),
            "set_state" => match args
                .get("state")
                .map(|s| serde_json::from_value::<RunState>(s.clone()))
            {
                Some(Ok(s)) => Ok(self.set_state(s)),
                _ => Err(CommandError::bad_args(
                    "set_state needs {\"state\": \"paused\" | \"running\" | \"recording\"}",
                )),
            },
            "status" => Ok(json!({ "state": self.state() })),
            "enable_stage" | "disable_stage" | "reset_stage" => {
                match args.get("stage").and_then(Value::as_str) {
                    Some(stage) => match self.inner.routes.get(stage) {
                        Some(Route::Stage(p)) => return self.forward(*p, cmd.clone(), on_reply),
                        _ => Err(CommandError::bad_args(format!("no stage `{stage}`"))),
                    },
                    None => Err(CommandError::bad_args(format!(
                        "{} needs {{\"stage\": \"<stage id>\"}}",
                        cmd.payload.cmd
                    ))),
                }
            }
            other => Err(CommandError::unknown_command("pipeline", other)),
        };
        on_reply(reply_for(&cmd, outcome));
    }
}
