//! Stages shared by the core benches: three small stages shaped like real ones (a result
//! with a list, a signal and a widget, a small struct), so the snapshot has typical content.

use framebus_core::harness::Harness;
use framebus_core::prelude::*;

/// Params of the bench stages (none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NoParams {}

/// A point in a result list.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Pt {
    x: f64,
    y: f64,
    area: u32,
}

/// A list result, refilled each frame without allocating.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Spots {
    spots: Vec<Pt>,
    count: usize,
}

/// Writes eight spots per frame.
pub(crate) struct SpotStage;

impl Stage for SpotStage {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_spots",
        version: "0.1.0",
        description: "bench: writes a list of eight spots",
        namespace: None,
        commands: &[],
    };
    fn new(_: NoParams, _: &StageInit) -> Result<Self> {
        Ok(Self)
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let id = ctx.frame().frame_id;
        let out = ctx.output::<Spots>();
        out.spots.clear();
        for i in 0..8u32 {
            out.spots.push(Pt {
                x: f64::from(i) * 10.5 + (id % 7) as f64,
                y: f64::from(i) * 3.25,
                area: 40 + i,
            });
        }
        out.count = out.spots.len();
        Ok(Flow::Continue)
    }
}

/// Publishes a point, a signal and a widget.
pub(crate) struct AngleStage;

impl Stage for AngleStage {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_angle",
        version: "0.1.0",
        description: "bench: a point, a signal and a widget",
        namespace: None,
        commands: &[],
    };
    fn new(_: NoParams, _: &StageInit) -> Result<Self> {
        Ok(Self)
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let a = 90.0 + (ctx.frame().frame_id % 90) as f64 * 0.5;
        ctx.publish_point("knee", 320.0, 240.0, 0.9);
        ctx.signal("knee_angle", a);
        ctx.widget("knee", "Knee angle", Some(a), "deg", Some((0.0, 180.0)));
        Ok(Flow::Continue)
    }
}

/// A small struct result.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Count {
    frames: u64,
    mean: f64,
}

/// Counts frames and averages the first pixel.
pub(crate) struct CountStage {
    frames: u64,
    sum: f64,
}

impl Stage for CountStage {
    type Params = NoParams;
    const INFO: StageInfo = StageInfo {
        id: "bench_count",
        version: "0.1.0",
        description: "bench: counts frames",
        namespace: None,
        commands: &[],
    };
    fn new(_: NoParams, _: &StageInit) -> Result<Self> {
        Ok(Self {
            frames: 0,
            sum: 0.0,
        })
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        self.frames += 1;
        self.sum += f64::from(ctx.frame().data.first().copied().unwrap_or(0));
        let (frames, mean) = (self.frames, self.sum / self.frames as f64);
        let out = ctx.output::<Count>();
        out.frames = frames;
        out.mean = mean;
        Ok(Flow::Continue)
    }
}

/// A harness with the three stages.
pub(crate) fn three_stage_harness() -> Harness {
    Harness::builder()
        .stage::<SpotStage>("spots", json!({}))
        .stage::<AngleStage>("angle", json!({}))
        .stage::<CountStage>("count", json!({}))
        .build()
        .expect("bench stages build")
}

/// Makes one 64×48 gray frame and processes it; returns the snapshot length.
pub(crate) fn step(h: &mut Harness) -> usize {
    let f = h.frame(64, 48, PixelFormat::Gray8, |d| d[0] = d[0].wrapping_add(1));
    h.process_raw(&f).len()
}
