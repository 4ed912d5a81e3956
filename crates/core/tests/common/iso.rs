//! Test doubles for stage isolation: a stage that meets its peers on the same frame and
//! records when it ran, a stage held until the test releases it, a stage that publishes
//! everything a stage can, and a source that makes a frame only when the test asks.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use framebus_core::frame::FramePool;
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceInit};

/// How long a test double waits for something that should happen (a deadline against a
/// hang, never a synchronisation).
const PATIENCE: Duration = Duration::from_secs(10);

/// Named counters with a condition variable (permits, arrivals).
#[derive(Default)]
pub struct Counters {
    map: Mutex<HashMap<String, u64>>,
    cv: Condvar,
}

impl Counters {
    /// Adds `n` to counter `key` and wakes every waiter.
    pub fn add(&self, key: &str, n: u64) {
        *self.map.lock().unwrap().entry(key.to_owned()).or_default() += n;
        self.cv.notify_all();
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> u64 {
        self.map.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    /// Waits until `key` is at least `n` (or [`PATIENCE`] passes); returns its value.
    pub fn wait_at_least(&self, key: &str, n: u64) -> u64 {
        let until = Instant::now() + PATIENCE;
        let mut m = self.map.lock().unwrap();
        loop {
            let v = m.get(key).copied().unwrap_or(0);
            let now = Instant::now();
            if v >= n || now >= until {
                return v;
            }
            m = self.cv.wait_timeout(m, until - now).unwrap().0;
        }
    }

    /// Waits for `key` to be positive and takes one from it; false after [`PATIENCE`].
    pub fn take_one(&self, key: &str) -> bool {
        let until = Instant::now() + PATIENCE;
        let mut m = self.map.lock().unwrap();
        loop {
            if let Some(v) = m.get_mut(key)
                && *v > 0
            {
                *v -= 1;
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            m = self.cv.wait_timeout(m, until - now).unwrap().0;
        }
    }
}

/// Permits for [`Held`] stages and [`Manual`] sources, arrivals for [`Work`] stages.
pub fn counters() -> &'static Counters {
    static C: OnceLock<Counters> = OnceLock::new();
    C.get_or_init(Counters::default)
}

/// When a [`Work`] stage ran: (stage id, frame id, start, end, peers it saw on arrival).
pub type Interval = (String, u64, Instant, Instant, u64);

/// Every interval recorded by [`Work`] stages, by key.
pub fn intervals() -> &'static Mutex<HashMap<String, Vec<Interval>>> {
    static I: OnceLock<Mutex<HashMap<String, Vec<Interval>>>> = OnceLock::new();
    I.get_or_init(Default::default)
}

/// Params of [`Work`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkParams {
    /// Names the test (counters and intervals are kept per key).
    pub key: String,
    /// Wait on each frame until this many stages of the key have arrived on it (0: none).
    pub peers: u64,
    /// Simulated work after the meeting, milliseconds.
    pub work_ms: u64,
}

/// Result of [`Work`].
#[derive(Debug, Default, Serialize)]
pub struct WorkResult {
    pub frame_id: u64,
    pub peers_seen: u64,
}

/// A stage that "takes `work_ms`" and records when it ran; with `peers`, it waits on every
/// frame until its peers have started the same frame, so stages run one after the other
/// never see each other (each gives up after 10 s and records what it saw).
pub struct Work {
    p: WorkParams,
    id: String,
}

impl Stage for Work {
    type Params = WorkParams;
    const INFO: StageInfo = StageInfo {
        id: "test_work",
        version: "0.1.0",
        description: "meets its peers, works, records its interval",
        namespace: None,
        commands: &[],
    };
    fn new(p: WorkParams, init: &StageInit) -> Result<Self> {
        Ok(Self {
            p,
            id: init.id.clone(),
        })
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let frame = ctx.frame().frame_id;
        let start = Instant::now();
        let arrivals = format!("{}#{frame}", self.p.key);
        counters().add(&arrivals, 1);
        let seen = if self.p.peers > 0 {
            counters().wait_at_least(&arrivals, self.p.peers)
        } else {
            counters().get(&arrivals)
        };
        std::thread::sleep(Duration::from_millis(self.p.work_ms));
        let end = Instant::now();
        intervals()
            .lock()
            .unwrap()
            .entry(self.p.key.clone())
            .or_default()
            .push((self.id.clone(), frame, start, end, seen));
        let out = ctx.output::<WorkResult>();
        out.frame_id = frame;
        out.peers_seen = seen.min(self.p.peers.max(1));
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(Work);

/// Params of [`Held`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HeldParams {
    /// The permit counter it takes one from per frame.
    pub key: String,
    /// Echoed in the result.
    #[schemars(range(min = 0, max = 255))]
    pub level: u8,
}

impl Default for HeldParams {
    fn default() -> Self {
        Self {
            key: String::new(),
            level: 1,
        }
    }
}

/// Result of [`Held`].
#[derive(Debug, Default, Serialize)]
pub struct HeldResult {
    pub frame_id: u64,
    pub level: u8,
    pub runs: u64,
}

/// A stage that, on every frame, waits for the test to release a permit (a stage slower
/// than any deadline, for exactly as long as the test says).
pub struct Held {
    p: HeldParams,
    runs: u64,
}

impl Stage for Held {
    type Params = HeldParams;
    const INFO: StageInfo = StageInfo {
        id: "test_held",
        version: "0.1.0",
        description: "waits for a permit on every frame",
        namespace: None,
        commands: &[CommandSpec::new::<Value>("poke", "returns 42")],
    };
    fn new(p: HeldParams, _: &StageInit) -> Result<Self> {
        Ok(Self { p, runs: 0 })
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        if !counters().take_one(&self.p.key) {
            return Err(Error::Stage("no permit within 10 s".into()));
        }
        self.runs += 1;
        let frame = ctx.frame().frame_id;
        ctx.signal("held_frame", frame as f64);
        let out = ctx.output::<HeldResult>();
        out.frame_id = frame;
        out.level = self.p.level;
        out.runs = self.runs;
        Ok(Flow::Continue)
    }
    fn set_params(&mut self, p: HeldParams, _: &mut CommandCtx<'_>) -> Result<()> {
        self.p = p;
        Ok(())
    }
    fn reset(&mut self) {
        self.runs = 0;
    }
    fn command(
        &mut self,
        cmd: &str,
        _: &Value,
        _: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        match cmd {
            "poke" => Ok(json!(42)),
            _ => Err(CommandError::unknown_command("test_held", cmd)),
        }
    }
}
framebus_core::register_stage!(Held);

/// Params of [`Emit`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EmitParams {
    /// Raise a notification on frames whose id is a multiple of this (0: never).
    pub notify_every: u64,
}

/// Result of [`Emit`].
#[derive(Debug, Default, Serialize)]
pub struct EmitResult {
    pub frame_id: u64,
    pub mean: f64,
    pub rgb_sum: u64,
}

/// Publishes everything a stage can: a result from the gray and RGB views, a signal, a
/// point, a widget and (sometimes) a notification.
pub struct Emit {
    p: EmitParams,
    id: String,
    signal: String,
}

impl Stage for Emit {
    type Params = EmitParams;
    const INFO: StageInfo = StageInfo {
        id: "test_emit",
        version: "0.1.0",
        description: "publishes results, signals, points, widgets, notifications",
        namespace: None,
        commands: &[],
    };
    fn new(p: EmitParams, init: &StageInit) -> Result<Self> {
        Ok(Self {
            p,
            id: init.id.clone(),
            signal: format!("{}_mean", init.id),
        })
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let frame = ctx.frame().frame_id;
        let gray = ctx.gray();
        let mean = gray.data.iter().map(|&g| f64::from(g)).sum::<f64>() / gray.data.len() as f64;
        let rgb_sum = ctx.rgb().data.iter().map(|&c| u64::from(c)).sum::<u64>();
        ctx.signal(&self.signal, mean);
        ctx.publish_point(&self.id, mean, frame as f64, 1.0);
        ctx.widget("mean", "Mean", Some(mean), "", Some((0.0, 255.0)));
        if self.p.notify_every > 0 && frame % self.p.notify_every == 0 {
            ctx.notify(NotificationLevel::Info, "tick", format!("frame {frame}"));
        }
        let out = ctx.output::<EmitResult>();
        out.frame_id = frame;
        out.mean = mean;
        out.rgb_sum = rgb_sum;
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(Emit);

/// Params of [`Manual`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ManualParams {
    /// The permit counter it takes one from per frame.
    pub key: String,
    /// Capture time between frames, nanoseconds (33 333 333 for 30 fps).
    pub period_ns: u64,
}

/// Makes a gray frame each time the test releases a permit (frame `n` at `n × period_ns`).
pub struct Manual {
    p: ManualParams,
    n: u64,
    pool: FramePool,
    init: SourceInit,
}

impl Source for Manual {
    type Params = ManualParams;
    const KIND: &'static str = "test_manual";
    const DESCRIPTION: &'static str = "a frame per permit";
    fn new(p: ManualParams, init: &SourceInit) -> Result<Self> {
        let pool = FramePool::new(init.pool_frames, init.id.clone(), init.index);
        pool.prefill(8, 8, PixelFormat::Gray8);
        Ok(Self {
            p,
            n: 0,
            pool,
            init: init.clone(),
        })
    }
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.init.stop.is_stopped() {
                return Ok(None);
            }
            let mut m = counters().map.lock().unwrap();
            if let Some(v) = m.get_mut(&self.p.key)
                && *v > 0
            {
                *v -= 1;
                break;
            }
            let _unused = counters()
                .cv
                .wait_timeout(m, Duration::from_millis(20))
                .unwrap();
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
        d.t_ns = self.n * self.p.period_ns;
        d.data.fill((self.n % 251) as u8);
        Ok(Some(f))
    }
}
framebus_core::register_source!(Manual);
