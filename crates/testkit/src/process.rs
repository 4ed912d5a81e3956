//! Helpers for process-isolation tests: a paced source of small RGB frames (`test_ticks`),
//! the `fault` stage (crashes, aborts, hangs or exits when armed by a command) and its
//! protocol-breaking variants served by `framebus-test-worker`, a snapshot [`Tap`], and
//! [`children`] / [`kill`] on the real process table.

use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use framebus_core::frame::FramePool;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceInit};

/// Params of [`Ticks`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TicksParams {
    /// Frames a second (paced by the runtime's clock).
    pub fps: f64,
    /// Width of the RGB frames.
    pub width: u32,
    /// Height of the RGB frames.
    pub height: u32,
    /// Frames before the source ends (0: endless).
    pub frames: u64,
}

impl Default for TicksParams {
    fn default() -> Self {
        Self {
            fps: 200.0,
            width: 64,
            height: 48,
            frames: 0,
        }
    }
}

/// Small RGB frames at a steady rate; pixel value = frame id mod 251. Frames come from
/// [`SourceInit::frame_pool`], so they are in shared memory when a process stage reads them.
pub struct Ticks {
    n: u64,
    p: TicksParams,
    pool: FramePool,
    init: SourceInit,
    start_ns: u64,
}

impl Source for Ticks {
    type Params = TicksParams;
    const KIND: &'static str = "test_ticks";
    const DESCRIPTION: &'static str = "paced RGB test frames";
    fn new(p: TicksParams, init: &SourceInit) -> Result<Self> {
        Ok(Self {
            n: 0,
            pool: init.frame_pool(),
            start_ns: init.clock.now_ns(),
            init: init.clone(),
            p,
        })
    }
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.p.frames > 0 && self.n >= self.p.frames {
            return Ok(None);
        }
        let period = (1e9 / self.p.fps.max(1.0)) as u64;
        self.init.clock.sleep_until(self.start_ns + self.n * period);
        let stop = self.init.stop.clone();
        let Some(mut f) =
            self.pool
                .acquire_or(self.p.width, self.p.height, PixelFormat::Rgb8, || {
                    stop.is_stopped()
                })
        else {
            return Ok(None);
        };
        self.n += 1;
        let d = f.get_mut().expect("unique");
        d.frame_id = self.n;
        d.t_ns = self.init.clock.now_ns();
        d.data.fill((self.n % 251) as u8);
        Ok(Some(f))
    }
}
framebus_core::register_source!(Ticks);

/// A stage that does nothing and publishes nothing (`test_quiet`): what is left per frame in
/// a process hop is the hop itself.
pub struct Quiet;

impl Stage for Quiet {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: "test_quiet",
        version: "0.1.0",
        description: "test stage that does nothing",
        namespace: None,
        commands: &[],
    };
    fn new(_: NoParams, _: &StageInit) -> Result<Self> {
        Ok(Self)
    }
    fn process(&mut self, _: &mut FrameCtx<'_>) -> Result<Flow> {
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(Quiet);

/// The result of [`Wordy`]: strings that change every frame.
#[derive(Debug, Default, Serialize)]
pub struct WordyOut {
    /// `frame 17` and so on.
    pub label: String,
    /// Labels of the corners.
    pub corners: Vec<String>,
    /// The frame id.
    pub n: u64,
}

/// A stage whose results carry strings every frame (`test_wordy`): an output with strings,
/// two signals, a point and a widget; the host parses them into reused buffers.
pub struct Wordy;

impl Stage for Wordy {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: "test_wordy",
        version: "0.1.0",
        description: "test stage whose results carry strings",
        namespace: None,
        commands: &[],
    };
    fn new(_: NoParams, _: &StageInit) -> Result<Self> {
        Ok(Self)
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        use std::fmt::Write;
        let n = ctx.frame().frame_id;
        let out = ctx.output::<WordyOut>();
        out.label.clear();
        let _ = write!(out.label, "frame {n}");
        out.corners.resize(4, String::new());
        for (i, c) in out.corners.iter_mut().enumerate() {
            c.clear();
            let _ = write!(c, "corner {i} of {}", n % 10);
        }
        out.n = n;
        ctx.signal("wordy_n", n as f64);
        ctx.signal("wordy_half", n as f64 / 2.0);
        ctx.publish_point("wordy_tip", 1.0, 2.0, 0.5);
        ctx.widget(
            "count",
            "Frames seen",
            Some(n as f64),
            "frames",
            Some((0.0, 1e6)),
        );
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(Wordy);

/// Args of the `arm` command.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ArmArgs {
    /// `segfault`, `abort`, `hang` or `exit`: done on the next frame.
    pub action: String,
}

/// The `fault` stage's result.
#[derive(Debug, Default, Serialize)]
pub struct FaultResult {
    /// Frames this worker processed.
    pub frames: u64,
    /// The frame's id.
    pub frame_id: u64,
    /// The first pixel byte (proves the pixels were read).
    pub first: u8,
    /// The worker's process id.
    pub pid: u32,
}

/// A stage that does something fatal on the frame after it is armed. `M` picks the id:
/// 0 `fault` (served normally); 1 `fault_garbage`, 2 `fault_wrong_seq`, 3
/// `fault_wrong_version` (served by `framebus-test-worker`'s protocol-breaking loop).
pub struct Fault<const M: u8> {
    frames: u64,
    armed: Option<String>,
}

/// Ids of the [`Fault`] variants.
pub const FAULT_IDS: [&str; 4] = [
    "fault",
    "fault_garbage",
    "fault_wrong_seq",
    "fault_wrong_version",
];

/// The [`Fault`] stage has no params.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

impl<const M: u8> Stage for Fault<M> {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: FAULT_IDS[M as usize],
        version: "0.1.0",
        description: "test stage that crashes, aborts or hangs when armed",
        namespace: None,
        commands: &[CommandSpec::new::<ArmArgs>(
            "arm",
            "segfault, abort, hang or exit on the next frame",
        )],
    };
    fn new(_: NoParams, _: &StageInit) -> Result<Self> {
        Ok(Self {
            frames: 0,
            armed: None,
        })
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        match self.armed.take().as_deref() {
            Some("segfault") => segfault(),
            Some("abort") => std::process::abort(),
            Some("hang") => loop {
                std::thread::park();
            },
            Some("exit") => std::process::exit(3),
            _ => {}
        }
        self.frames += 1;
        let (id, first) = (ctx.frame().frame_id, ctx.frame().data.first().copied());
        let out = ctx.output::<FaultResult>();
        out.frames = self.frames;
        out.frame_id = id;
        out.first = first.unwrap_or(0);
        out.pid = std::process::id();
        ctx.signal("fault_frames", self.frames as f64);
        Ok(Flow::Continue)
    }
    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        _: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        match cmd {
            "arm" => {
                let a: ArmArgs = parse_args(args)?;
                if !["segfault", "abort", "hang", "exit"].contains(&a.action.as_str()) {
                    return Err(CommandError::bad_args(format!("no action `{}`", a.action)));
                }
                self.armed = Some(a.action);
                Ok(json!({"armed": true}))
            }
            _ => Err(CommandError::unknown_command(Self::INFO.id, cmd)),
        }
    }
}
framebus_core::register_stage!(Fault<0>);
framebus_core::register_stage!(Fault<1>);
framebus_core::register_stage!(Fault<2>);
framebus_core::register_stage!(Fault<3>);

/// Touches unmapped memory: a real segmentation fault, as a buggy native extension would.
#[allow(unsafe_code)]
fn segfault() {
    let bad = 8usize as *mut u8;
    // SAFETY: none — this is the bug the test stage exists to have. Page 0 is never mapped
    // on Linux, so the volatile store (not optimised away) faults and the kernel ends the
    // process with SIGSEGV (std's handler only handles stack-guard hits and re-raises).
    unsafe { std::ptr::write_volatile(bad, 1) };
}

/// Sends every snapshot, parsed, to a channel.
pub struct Tap {
    tx: Mutex<Sender<Value>>,
}

impl Tap {
    /// A tap and the receiving end of its snapshots.
    pub fn new() -> (std::sync::Arc<Self>, Receiver<Value>) {
        let (tx, rx) = unbounded();
        (std::sync::Arc::new(Self { tx: Mutex::new(tx) }), rx)
    }
}

impl Observer for Tap {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        if let (Ok(v), Ok(tx)) = (serde_json::from_slice(s.json), self.tx.lock()) {
            let _ = tx.send(v);
        }
    }
}

/// Waits (up to `limit`) for the first snapshot `pick` accepts.
pub fn next_where(
    rx: &Receiver<Value>,
    limit: Duration,
    mut pick: impl FnMut(&Value) -> bool,
) -> Option<Value> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let v = rx.recv_timeout(left).ok()?;
        if pick(&v) {
            return Some(v);
        }
    }
}

/// The notification titles and messages of a snapshot.
pub fn notifications(snap: &Value) -> Vec<(String, String)> {
    snap["notifications"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    (
                        n["title"].as_str().unwrap_or_default().to_owned(),
                        n["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Live (not zombie) child processes of this process, from `/proc/self/task/*/children`.
pub fn children() -> Vec<u32> {
    children_of("self")
}

/// Live (not zombie) child processes of process `pid` (`"self"` or a number).
pub fn children_of(pid: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out.retain(|pid| alive(*pid));
    out.sort_unstable();
    out
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            // The state is the field after the parenthesised command name.
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Sends SIGKILL to `pid`.
pub fn kill9(pid: u32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}
