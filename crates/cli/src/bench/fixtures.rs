//! The source and stages the benchmarks run through the real runtime, registered as
//! `bench_*` so a config can name them (`framebus plugins` lists them too).

use std::time::Duration;

use framebus_core::frame::FramePool;
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceInit};

/// Pixel layout of [`BenchFrames`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BenchFormat {
    /// 8-bit gray.
    #[default]
    Gray8,
    /// 8-bit RGB.
    Rgb8,
}

/// Params of [`BenchFrames`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct BenchFramesParams {
    /// Width in pixels.
    #[schemars(range(min = 1, max = 8192))]
    pub(crate) width: u32,
    /// Height in pixels.
    #[schemars(range(min = 1, max = 8192))]
    pub(crate) height: u32,
    /// Pixel layout.
    pub(crate) format: BenchFormat,
    /// Frames per second; 0 means as fast as the edge takes them.
    pub(crate) fps: f64,
    /// Frames before the end of stream; 0 means endless.
    pub(crate) frames: u64,
    /// Write every byte of every frame (as a camera or decoder would).
    pub(crate) fill: bool,
}

impl Default for BenchFramesParams {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            format: BenchFormat::Gray8,
            fps: 0.0,
            frames: 0,
            fill: true,
        }
    }
}

/// Pooled frames of a fixed size, paced or free-running, each filled with its frame number.
pub(crate) struct BenchFrames {
    p: BenchFramesParams,
    n: u64,
    start_ns: u64,
    pool: FramePool,
    init: SourceInit,
}

impl Source for BenchFrames {
    type Params = BenchFramesParams;
    const KIND: &'static str = "bench_frames";
    const DESCRIPTION: &'static str = "(benchmark) pooled frames, paced or free-running";

    fn new(p: BenchFramesParams, init: &SourceInit) -> Result<Self> {
        Ok(Self {
            p,
            n: 0,
            start_ns: init.clock.now_ns(),
            pool: init.frame_pool(),
            init: init.clone(),
        })
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.p.frames > 0 && self.n >= self.p.frames {
            return Ok(None);
        }
        if self.p.fps > 0.0 {
            let due = self.start_ns + (self.n as f64 * 1e9 / self.p.fps) as u64;
            self.init.clock.sleep_until(due);
        }
        let format = match self.p.format {
            BenchFormat::Gray8 => PixelFormat::Gray8,
            BenchFormat::Rgb8 => PixelFormat::Rgb8,
        };
        let stop = self.init.stop.clone();
        let Some(mut f) = self
            .pool
            .acquire_or(self.p.width, self.p.height, format, || stop.is_stopped())
        else {
            return Ok(None);
        };
        self.n += 1;
        let d = f.get_mut().expect("a fresh frame is unique");
        d.frame_id = self.n;
        d.t_ns = self.init.clock.now_ns();
        if self.p.fill {
            d.data.fill(self.n as u8);
        }
        Ok(Some(f))
    }
}
framebus_core::register_source!(BenchFrames);

/// Params of the bench stages without settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NoParams {}

/// Does nothing: the stage whose cost is pure pipeline overhead.
pub(crate) struct Noop;

impl Stage for Noop {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_noop",
        version: "0.1.0",
        description: "(benchmark) does nothing",
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
framebus_core::register_stage!(Noop);

/// Does nothing with sample packets: pure per-packet pipeline overhead.
pub(crate) struct NoopSamples;

impl Stage for NoopSamples {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_noop_samples",
        version: "0.1.0",
        description: "(benchmark) takes sample packets and does nothing",
        namespace: None,
        commands: &[],
    };
    const TAKES: framebus_core::packet::PayloadKind = framebus_core::packet::PayloadKind::Samples;
    fn new(_: NoParams, _: &StageInit) -> Result<Self> {
        Ok(Self)
    }
    fn process(&mut self, _: &mut FrameCtx<'_>) -> Result<Flow> {
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(NoopSamples);

/// Params of [`Sleep`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SleepParams {
    /// Time spent per frame, milliseconds.
    #[schemars(range(min = 0, max = 10_000))]
    pub(crate) ms: u64,
}

/// Sleeps a fixed time per frame: a slow stage (an ML model, say).
pub(crate) struct Sleep(u64);

impl Stage for Sleep {
    type Params = SleepParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_sleep",
        version: "0.1.0",
        description: "(benchmark) sleeps a fixed time per frame",
        namespace: None,
        commands: &[],
    };
    fn new(p: SleepParams, _: &StageInit) -> Result<Self> {
        Ok(Self(p.ms))
    }
    fn process(&mut self, _: &mut FrameCtx<'_>) -> Result<Flow> {
        std::thread::sleep(Duration::from_millis(self.0));
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(Sleep);

/// Busy-computes a fixed time per frame on its thread's core (CPU-bound work, unlike
/// [`Sleep`]).
pub(crate) struct Spin(u64);

impl Stage for Spin {
    type Params = SleepParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_spin",
        version: "0.1.0",
        description: "(benchmark) keeps a core busy a fixed time per frame",
        namespace: None,
        commands: &[],
    };
    fn new(p: SleepParams, _: &StageInit) -> Result<Self> {
        Ok(Self(p.ms))
    }
    fn process(&mut self, _: &mut FrameCtx<'_>) -> Result<Flow> {
        let until = std::time::Instant::now() + Duration::from_millis(self.0);
        let mut x = 0u64;
        while std::time::Instant::now() < until {
            for _ in 0..1000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        std::hint::black_box(x);
        Ok(Flow::Continue)
    }
}
framebus_core::register_stage!(Spin);

/// Params of [`Level`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LevelParams {
    /// The value echoed in every snapshot.
    pub(crate) level: u64,
}

/// The result of [`Level`]: `{"level": n}`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct LevelResult {
    level: u64,
}

/// Echoes its `level` param in its result, so a `set_params` shows in the next snapshot.
pub(crate) struct Level(u64);

impl Stage for Level {
    type Params = LevelParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_level",
        version: "0.1.0",
        description: "(benchmark) echoes its `level` param in its result",
        namespace: None,
        commands: &[],
    };
    fn new(p: LevelParams, _: &StageInit) -> Result<Self> {
        Ok(Self(p.level))
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let level = self.0;
        ctx.output::<LevelResult>().level = level;
        Ok(Flow::Continue)
    }
    fn set_params(&mut self, p: LevelParams, _: &mut CommandCtx<'_>) -> Result<()> {
        self.0 = p.level;
        Ok(())
    }
}
framebus_core::register_stage!(Level);

/// Parses a bench config written in TOML.
pub(crate) fn config(toml: &str) -> anyhow::Result<framebus_core::config::Config> {
    framebus_core::config::Config::parse(toml, framebus_core::config::Format::Toml, "bench.toml")
        .map_err(|e| anyhow::anyhow!("{e}"))
}
