//! Test doubles shared by the runtime tests: a counting source and small stages.

#![allow(dead_code, missing_docs, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use framebus_core::frame::FramePool;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceInit};
use serde_json::Value;

/// Params of [`Counter`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CounterParams {
    /// Frames to produce before the end of stream.
    pub frames: u64,
}

/// Produces `frames` tiny gray frames as fast as the edge takes them.
pub struct Counter {
    n: u64,
    max: u64,
    pool: FramePool,
    init: SourceInit,
}

impl Source for Counter {
    type Params = CounterParams;
    const KIND: &'static str = "test_counter";
    const DESCRIPTION: &'static str = "test frames";
    fn new(p: CounterParams, init: &SourceInit) -> Result<Self> {
        let pool = init.frame_pool();
        pool.prefill(8, 8, PixelFormat::Gray8);
        Ok(Self {
            n: 0,
            max: p.frames,
            pool,
            init: init.clone(),
        })
    }
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.n >= self.max {
            return Ok(None);
        }
        let stop = self.init.stop.clone();
        let Some(mut f) = self
            .pool
            .acquire_or(8, 8, PixelFormat::Gray8, || stop.is_stopped())
        else {
            return Ok(None);
        };
        self.n += 1;
        let d = f.get_mut().expect("unique");
        d.frame_id = self.n;
        d.t_ns = self.n * 1_000_000;
        d.data.fill((self.n % 251) as u8);
        Ok(Some(f))
    }
}
framebus_core::register_source!(Counter);

/// Params of [`Probe`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeParams {
    /// A value echoed in the results.
    #[schemars(range(min = 0, max = 255))]
    pub level: u8,
    /// Panic on every frame.
    pub panic: bool,
}

impl Default for ProbeParams {
    fn default() -> Self {
        Self {
            level: 10,
            panic: false,
        }
    }
}

/// The result of [`Probe`].
#[derive(Debug, Default, Serialize)]
pub struct ProbeResult {
    pub frames: u64,
    pub level: u8,
    pub frame_id: u64,
}

/// Echoes its params and counts frames; optionally panics.
pub struct Probe {
    p: ProbeParams,
    frames: u64,
}

impl Stage for Probe {
    type Params = ProbeParams;
    const INFO: StageInfo = StageInfo {
        id: "test_probe",
        version: "0.1.0",
        description: "test stage",
        namespace: None,
        commands: &[
            CommandSpec::new::<Value>("poke", "returns 42"),
            CommandSpec::new::<Value>("poke_locked", "locked").locked(),
        ],
    };
    fn new(p: ProbeParams, _: &StageInit) -> Result<Self> {
        Ok(Self { p, frames: 0 })
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        if self.p.panic {
            panic!("probe exploded");
        }
        self.frames += 1;
        let id = ctx.frame().frame_id;
        let out = ctx.output::<ProbeResult>();
        out.frames = self.frames;
        out.level = self.p.level;
        out.frame_id = id;
        Ok(Flow::Continue)
    }
    fn set_params(&mut self, p: ProbeParams, _: &mut CommandCtx<'_>) -> Result<()> {
        self.p = p;
        Ok(())
    }
    fn command(
        &mut self,
        cmd: &str,
        _: &Value,
        _: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        match cmd {
            "poke" | "poke_locked" => Ok(json!(42)),
            _ => Err(CommandError::unknown_command("test_probe", cmd)),
        }
    }
}
framebus_core::register_stage!(Probe);

/// Params of [`Sender`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SenderParams {
    /// On this frame id, send `set_params {level: to_level}` to `target`.
    pub at_frame: u64,
    /// Target stage id.
    pub target: String,
    /// New level.
    pub to_level: u8,
}

/// Sends a command from inside `process`, like a stage using seed 000's `ctx.bus`.
pub struct SenderStage(SenderParams);

impl Stage for SenderStage {
    type Params = SenderParams;
    const INFO: StageInfo = StageInfo {
        id: "test_sender",
        version: "0.1.0",
        description: "sends a command mid-frame",
        namespace: None,
        commands: &[],
    };
    fn new(p: SenderParams, _: &StageInit) -> Result<Self> {
        Ok(Self(p))
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        if ctx.frame().frame_id == self.0.at_frame {
            ctx.send_command(framebus_core::protocol::Command::new(
                self.0.target.clone(),
                "set_params",
                json!({"level": self.0.to_level}),
            ));
        }
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(SenderStage);

/// Collects every snapshot as JSON.
#[derive(Default)]
pub struct Collect {
    pub snapshots: Mutex<Vec<Value>>,
    pub count: AtomicU64,
}

impl Observer for Collect {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.snapshots
            .lock()
            .unwrap()
            .push(serde_json::from_slice(s.json).unwrap());
    }
}

impl Collect {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.snapshots.lock().unwrap())
    }
}

/// Polls `cond` until true or ~10 s pass (a wait with a deadline, not a timed assertion).
pub fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::yield_now();
    }
    cond()
}
pub mod iso;

/// A config from TOML text (panics on a parse error: tests write valid configs).
pub fn config(text: &str) -> framebus_core::config::Config {
    use framebus_core::config::{Config, Format};
    Config::parse(text, Format::Toml, "test.toml").unwrap()
}

/// Starts a runtime on `text` with a manual clock and `collect` as its observer.
pub fn start(text: &str, collect: &Arc<Collect>) -> framebus_core::runtime::Runtime {
    use framebus_core::runtime::{Runtime, RuntimeOptions};
    Runtime::start(
        &config(text),
        RuntimeOptions {
            clock: Arc::new(framebus_core::clock::ManualClock::new()),
            observers: vec![collect.clone()],
            ..Default::default()
        },
    )
    .unwrap()
}

/// How long a test waits for a reply.
pub const T: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends a command (id 1) and waits for its reply.
pub fn request(
    rt: &framebus_core::runtime::Runtime,
    target: &str,
    cmd: &str,
    args: Value,
) -> framebus_core::command::Reply {
    rt.bus().request_blocking(
        framebus_core::protocol::Command::new(target, cmd, args).with_id(1),
        T,
    )
}
