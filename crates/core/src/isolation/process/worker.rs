//! The worker side for registered Rust stages: [`serve`] answers the host over the socket it
//! was given (`framebus worker --stage ID` calls it). Frames are read in place from the
//! host's memfds; results, signals, points, widgets and notifications go back as JSON.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framebus_protocol::worker::{
    FEATURE_SLOTS, FEATURE_SPIN, FrameMessage, FrameMeta, FrameResult, HostMessage,
    PROTOCOL_VERSION, ResultRef, ResultTag, WireFlow, WireFormat, WireLevel, WireNotification,
    WirePoint, WireSignal, WireWidget, WorkerCommandSpec, WorkerErrorKind, WorkerMessage,
    WorkerRuntime, WorkerStageInfo,
};
use framebus_protocol::{ErrorCode, NotificationLevel, RunState};
use serde_json::Value;

use super::bell::Bell;
use super::shm::ShmView;
use super::wire::{Channel, WireError};
use crate::context::{CommandCtx, FrameCtx};
use crate::erased::DynStage;
use crate::frame::{FrameBuf, FrameData, PixelFormat};
use crate::registry::{self, StageRegistration};
use crate::results::ResultStore;
use crate::stage::{Flow, StageInit};
use crate::views::Views;

/// Exit code for a worker that cannot serve (unknown stage, wrong protocol).
pub const EXIT_FATAL: i32 = 2;

/// Serves registered stage `stage` on the socket in `FRAMEBUS_WORKER_FD` until the host
/// sends `shutdown` or closes the socket. Returns the process exit code.
pub fn serve(stage: &str) -> i32 {
    // Die with framebus even if it is killed (the socket's EOF is the other way out).
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let fd = match super::wire::worker_socket() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("framebus worker: {e}");
            return EXIT_FATAL;
        }
    };
    let mut w = Worker {
        chan: Channel::new(fd),
        reg: registry::stage(stage),
        name: stage.to_owned(),
        stage: None,
        init: None,
        buffers: HashMap::new(),
        store: ResultStore::new([String::new()]),
        views: Views::default(),
        frame: FrameData::default(),
        pace: Pace::default(),
        result: FrameResult {
            seq: 0,
            frame_id: 0,
            flow: WireFlow::Continue,
            output: Value::Null,
            signals: Vec::new(),
            points: Vec::new(),
            widgets: Vec::new(),
            notifications: Vec::new(),
            error: None,
            process_us: 0,
        },
    };
    w.run()
}

struct Worker {
    chan: Channel,
    reg: Option<&'static StageRegistration>,
    name: String,
    stage: Option<Box<dyn DynStage>>,
    init: Option<StageInit>,
    buffers: HashMap<u64, Arc<ShmView>>,
    store: ResultStore,
    views: Views,
    frame: FrameData,
    pace: Pace,
    result: FrameResult,
}

/// When frames arrive: the next one is expected one period after the last (the shorter of
/// the last two intervals, so one late frame does not push the guess late).
#[derive(Default)]
struct Pace {
    last: Option<Instant>,
    intervals: [Duration; 2],
}

impl Pace {
    /// Intervals longer than this are pauses, not a frame rate.
    const MAX_PERIOD: Duration = Duration::from_secs(1);

    fn arrived(&mut self, now: Instant) {
        if let Some(last) = self.last {
            self.intervals = [self.intervals[1], now - last];
        }
        self.last = Some(now);
    }

    /// When the next frame is due, if frames come at a steady rate.
    fn next(&self) -> Option<Instant> {
        let p = self.intervals[0].min(self.intervals[1]);
        (!p.is_zero() && p < Self::MAX_PERIOD).then(|| self.last.map(|l| l + p))?
    }
}

fn error(kind: WorkerErrorKind, message: impl Into<String>) -> WorkerMessage {
    WorkerMessage::Error {
        kind,
        message: message.into(),
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("panicked: {msg}")
}

impl Worker {
    fn run(&mut self) -> i32 {
        loop {
            // A frame is parsed straight into its struct (no per-field buffering).
            let msg = match self.chan.recv_either::<FrameMessage, HostMessage>(None) {
                Ok((Ok(f), fd)) => {
                    self.pace.arrived(Instant::now());
                    (
                        HostMessage::Frame {
                            seq: f.seq,
                            buffer: f.buffer,
                            offset: f.offset,
                            frame: f.frame,
                            state: f.state,
                            points: f.points,
                        },
                        fd,
                    )
                }
                Ok((Err(m), fd)) => (m, fd),
                Err(WireError::Eof) => {
                    self.stop();
                    return 0;
                }
                Err(e) => {
                    eprintln!("framebus worker {}: {e}", self.name);
                    let _ = self.chan.send(
                        &WorkerMessage::Fatal {
                            message: format!("bad message from the host: {e}"),
                        },
                        None,
                    );
                    self.stop();
                    return EXIT_FATAL;
                }
            };
            let answer = match msg {
                (HostMessage::Ping { protocol, stage }, _) => {
                    let refuse = if protocol != PROTOCOL_VERSION {
                        Some(format!(
                            "protocol {protocol} is not supported (this worker speaks {PROTOCOL_VERSION})"
                        ))
                    } else if stage != self.name || self.reg.is_none() {
                        Some(format!("no stage `{stage}` in this worker"))
                    } else {
                        None
                    };
                    if let Some(message) = refuse {
                        let _ = self.chan.send(&WorkerMessage::Fatal { message }, None);
                        return EXIT_FATAL;
                    }
                    WorkerMessage::Pong {
                        protocol: PROTOCOL_VERSION,
                        stage,
                        runtime: WorkerRuntime::Rust,
                        pid: std::process::id(),
                        features: vec![FEATURE_SPIN.to_owned(), FEATURE_SLOTS.to_owned()],
                    }
                }
                (HostMessage::Describe, _) => self.describe(),
                (HostMessage::Init { id, source, params }, _) => self.init(id, source, &params),
                (HostMessage::Buffer { buffer, len }, fd) => {
                    match fd.map(|fd| ShmView::map(fd, len as usize)) {
                        Some(Ok(view)) => {
                            self.buffers.insert(buffer, Arc::new(view));
                        }
                        Some(Err(e)) => eprintln!("framebus worker: buffer {buffer}: {e}"),
                        None => eprintln!("framebus worker: buffer {buffer} came without an fd"),
                    }
                    continue;
                }
                (HostMessage::DropBuffer { buffer }, _) => {
                    self.buffers.remove(&buffer);
                    continue;
                }
                (
                    HostMessage::Frame {
                        seq,
                        buffer,
                        offset,
                        frame,
                        state,
                        points,
                    },
                    _,
                ) => {
                    self.frame(seq, buffer, offset as usize, frame, state, &points);
                    let answer = ResultRef {
                        kind: ResultTag::Result,
                        result: &self.result,
                    };
                    if let Err(e) = self.chan.send(&answer, None) {
                        eprintln!("framebus worker {}: {e}", self.name);
                        self.stop();
                        return 0;
                    }
                    if self.chan.spins()
                        && let Some(at) = self.pace.next()
                    {
                        // Sleep until just before the next frame is due, then spin for it.
                        self.chan.expect(at);
                    }
                    continue;
                }
                (
                    HostMessage::Spin {
                        spin_us,
                        slot_bytes,
                    },
                    fd,
                ) => {
                    let bell = fd
                        .ok_or_else(|| "`spin` came without an fd".to_owned())
                        .and_then(|fd| {
                            Bell::join(fd, Duration::from_micros(spin_us), slot_bytes)
                                .map_err(|e| e.to_string())
                        });
                    match bell {
                        Ok(bell) => {
                            // `ok` first: both sides count datagrams from the next one.
                            if self.chan.send(&WorkerMessage::Ok, None).is_err() {
                                self.stop();
                                return 0;
                            }
                            self.chan.ring(bell);
                            continue;
                        }
                        Err(e) => error(WorkerErrorKind::Failed, format!("no doorbell: {e}")),
                    }
                }
                (HostMessage::SetParams { params }, _) => self.set_params(&params),
                (HostMessage::Command { name, args }, _) => self.command(&name, &args),
                (HostMessage::Reset, _) => {
                    if let Some(s) = self.stage.as_mut() {
                        let _ = catch_unwind(AssertUnwindSafe(|| s.reset()));
                    }
                    WorkerMessage::Ok
                }
                (HostMessage::Heartbeat { n }, _) => WorkerMessage::Heartbeat { n },
                (HostMessage::Shutdown, _) => {
                    self.stop();
                    let _ = self.chan.send(&WorkerMessage::Ok, None);
                    return 0;
                }
            };
            if self.chan.send(&answer, None).is_err() {
                self.stop();
                return 0;
            }
        }
    }

    fn stop(&mut self) {
        if let Some(mut s) = self.stage.take() {
            let _ = catch_unwind(AssertUnwindSafe(|| s.stop()));
        }
    }

    fn describe(&self) -> WorkerMessage {
        let Some(reg) = self.reg else {
            return error(WorkerErrorKind::Failed, "no stage");
        };
        let info = &reg.info;
        WorkerMessage::Description {
            info: WorkerStageInfo {
                id: info.id.into(),
                version: info.version.into(),
                description: info.description.into(),
                namespace: info.namespace.map(Into::into),
                commands: info
                    .commands
                    .iter()
                    .map(|c| WorkerCommandSpec {
                        name: c.name.into(),
                        description: c.description.into(),
                        args_schema: (c.args_schema)(),
                        locked_while_recording: c.locked_while_recording,
                    })
                    .collect(),
            },
            params_schema: (reg.params_schema)(),
            params: (reg.defaults)(),
        }
    }

    fn init(&mut self, id: String, source: String, params: &Value) -> WorkerMessage {
        let Some(reg) = self.reg else {
            return error(WorkerErrorKind::Failed, "no stage");
        };
        if let Err(e) = reg.check_params(params) {
            return error(WorkerErrorKind::BadArgs, e.to_string());
        }
        let init = StageInit { id, source };
        let built = catch_unwind(AssertUnwindSafe(|| (reg.build)(params, &init)));
        let mut stage = match built {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return error(WorkerErrorKind::Failed, e),
            Err(p) => return error(WorkerErrorKind::Failed, panic_text(p)),
        };
        let mut cctx = CommandCtx::new(&init, None, RunState::Running);
        match catch_unwind(AssertUnwindSafe(|| stage.start(&mut cctx))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return error(WorkerErrorKind::Failed, format!("failed to start: {e}")),
            Err(p) => return error(WorkerErrorKind::Failed, panic_text(p)),
        }
        let params = stage.params();
        self.frame.source = Arc::from(init.source.as_str());
        self.stage = Some(stage);
        self.init = Some(init);
        WorkerMessage::Ready { params }
    }

    fn set_params(&mut self, params: &Value) -> WorkerMessage {
        let (Some(stage), Some(init)) = (self.stage.as_mut(), self.init.as_ref()) else {
            return error(WorkerErrorKind::Failed, "not initialised");
        };
        let mut cctx = CommandCtx::new(init, None, RunState::Running);
        match catch_unwind(AssertUnwindSafe(|| stage.set_params(params, &mut cctx))) {
            Ok(Ok(params)) => WorkerMessage::Params { params },
            Ok(Err(e)) if e.code == ErrorCode::BadArgs => {
                error(WorkerErrorKind::BadArgs, e.message)
            }
            Ok(Err(e)) => error(WorkerErrorKind::Failed, e.message),
            Err(p) => error(WorkerErrorKind::Failed, panic_text(p)),
        }
    }

    fn command(&mut self, name: &str, args: &Value) -> WorkerMessage {
        let (Some(stage), Some(init)) = (self.stage.as_mut(), self.init.as_ref()) else {
            return error(WorkerErrorKind::Failed, "not initialised");
        };
        if !stage.info().commands.iter().any(|c| c.name == name) {
            return error(
                WorkerErrorKind::UnknownCommand,
                format!("`{}` has no command `{name}`", init.id),
            );
        }
        let mut cctx = CommandCtx::new(init, None, RunState::Running);
        match catch_unwind(AssertUnwindSafe(|| stage.command(name, args, &mut cctx))) {
            Ok(Ok(value)) => WorkerMessage::Reply { value },
            Ok(Err(e)) => {
                let kind = match e.code {
                    ErrorCode::BadArgs => WorkerErrorKind::BadArgs,
                    ErrorCode::UnknownCommand => WorkerErrorKind::UnknownCommand,
                    _ => WorkerErrorKind::Failed,
                };
                error(kind, e.message)
            }
            Err(p) => error(WorkerErrorKind::Failed, panic_text(p)),
        }
    }

    fn frame(
        &mut self,
        seq: u64,
        buffer: u64,
        offset: usize,
        meta: FrameMeta,
        state: RunState,
        points: &[WirePoint],
    ) {
        let r = &mut self.result;
        r.seq = seq;
        r.frame_id = meta.frame_id;
        r.flow = WireFlow::Continue;
        r.output = Value::Null;
        r.signals.clear();
        r.points.clear();
        r.widgets.clear();
        r.notifications.clear();
        r.error = None;
        r.process_us = 0;
        let (Some(stage), Some(init)) = (self.stage.as_mut(), self.init.as_ref()) else {
            r.error = Some("frame before init".into());
            return;
        };
        let format = match meta.format {
            WireFormat::Gray8 => PixelFormat::Gray8,
            WireFormat::Rgb8 => PixelFormat::Rgb8,
            WireFormat::Bgr8 => PixelFormat::Bgr8,
            WireFormat::Yuyv => PixelFormat::Yuyv,
            WireFormat::Nv12 => PixelFormat::Nv12,
        };
        let len = format.buffer_len(meta.stride as usize, meta.height);
        let Some(view) = self.buffers.get(&buffer) else {
            r.error = Some(format!("frame in unknown buffer {buffer}"));
            return;
        };
        if (meta.stride as usize) < format.min_stride(meta.width) {
            r.error = Some(format!(
                "stride {} is too small for width {}",
                meta.stride, meta.width
            ));
            return;
        }
        let Some(data) = FrameBuf::view(view.clone(), offset, len) else {
            r.error = Some(format!(
                "frame of {len} bytes at {offset} is outside buffer {buffer}"
            ));
            return;
        };
        let f = &mut self.frame;
        f.frame_id = meta.frame_id;
        if *f.source != *meta.source {
            f.source = Arc::from(meta.source.as_str());
        }
        f.source_index = meta.source_index;
        f.t_ns = meta.t_ns;
        f.width = meta.width;
        f.height = meta.height;
        f.stride = meta.stride as usize;
        f.format = format;
        f.data = data;
        self.store.begin_frame();
        for p in points {
            let q = self.store.points.push();
            q.name.clear();
            q.name.push_str(&p.name);
            q.x = p.x;
            q.y = p.y;
            q.score = p.score;
        }
        let given = points.len();
        let mut ctx = FrameCtx {
            frame: &self.frame,
            packet: &mut None,
            views: &mut self.views,
            shared: None,
            used: 0,
            store: &mut self.store,
            slot: 0,
            stage_id: &init.id,
            camera: None,
            state,
            bus: None,
        };
        let t0 = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| stage.process(&mut ctx)));
        r.process_us = t0.elapsed().as_micros() as u64;
        match outcome {
            Ok(Ok(flow)) => {
                r.flow = match flow {
                    Flow::Continue => WireFlow::Continue,
                    Flow::Skip => WireFlow::Skip,
                }
            }
            Ok(Err(e)) => r.error = Some(e.to_string()),
            Err(p) => r.error = Some(panic_text(p)),
        }
        let s = &self.store;
        r.output = s
            .slots
            .first()
            .and_then(|slot| slot.value.as_deref())
            .and_then(|v| serde_json::to_value(v as &dyn erased_serde::Serialize).ok())
            .unwrap_or(Value::Null);
        r.signals
            .extend(s.signals.as_slice().iter().map(|x| WireSignal {
                name: x.name.clone(),
                value: x.value,
            }));
        r.points
            .extend(s.points.as_slice()[given..].iter().map(|p| WirePoint {
                name: p.name.clone(),
                x: p.x,
                y: p.y,
                score: p.score,
            }));
        r.widgets.extend(
            s.widgets
                .as_slice()
                .iter()
                .filter_map(|w| w.0.as_ref())
                .map(|w| WireWidget {
                    id: w.id.clone(),
                    label: w.label.clone(),
                    value: w.value,
                    unit: w.unit.clone(),
                    min: w.min,
                    max: w.max,
                }),
        );
        r.notifications
            .extend(s.notifications.iter().map(|n| WireNotification {
                level: match n.level {
                    NotificationLevel::Info => WireLevel::Info,
                    NotificationLevel::Warning => WireLevel::Warning,
                    NotificationLevel::Error => WireLevel::Error,
                },
                title: n.title.clone(),
                message: n.message.clone(),
            }));
        // Release the view so a dropped buffer is unmapped when the host says so.
        self.frame.data = FrameBuf::new();
    }
}
