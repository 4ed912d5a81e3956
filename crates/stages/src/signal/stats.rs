//! `stats`: mean, RMS, peak (largest magnitude), min and max of each packet's first channel,
//! published as signals `<id>.mean`, `<id>.rms`, `<id>.peak`, `<id>.min`, `<id>.max`; and a
//! [`TimeSeries`] of the last `points` samples, one kept every `decimate`, for plots.

use framebus_core::prelude::*;

use super::shapes::TimeSeries;

/// Params of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StatsParams {
    /// Points in the time series.
    #[schemars(range(min = 2, max = 100_000))]
    pub points: usize,
    /// Keep one sample in `decimate` for the time series.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub decimate: usize,
}

impl Default for StatsParams {
    fn default() -> Self {
        Self {
            points: 512,
            decimate: 1,
        }
    }
}

/// The `stats` stage.
pub struct Stats {
    p: StatsParams,
    names: [String; 5],
    ring: Vec<f32>,
    head: usize,
    filled: usize,
    skip: usize,
    n: u64,
}

impl Stage for Stats {
    type Params = StatsParams;
    const INFO: StageInfo = StageInfo {
        id: "stats",
        version: "0.1.0",
        description: "Mean, RMS, peak, min and max as signals; a decimated time series",
        namespace: None,
        commands: &[],
    };
    const TAKES: PayloadKind = PayloadKind::Samples;

    fn new(p: StatsParams, init: &StageInit) -> Result<Self> {
        if p.points < 2 || p.decimate == 0 {
            return Err(Error::stage("points must be ≥ 2 and decimate ≥ 1"));
        }
        let names = ["mean", "rms", "peak", "min", "max"].map(|n| format!("{}.{n}", init.id));
        Ok(Self {
            names,
            ring: vec![0.0; p.points],
            head: 0,
            filled: 0,
            skip: 0,
            n: 0,
            p,
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let input = ctx.packet().ok_or_else(|| Error::stage("no packet"))?;
        let h = input.header;
        let ch = h.channels.max(1);
        let (mut sum, mut sq, mut lo, mut hi) = (0.0f64, 0.0f64, f32::MAX, f32::MIN);
        let mut count = 0usize;
        for &x in input.data.iter().step_by(ch) {
            sum += x as f64;
            sq += x as f64 * x as f64;
            lo = lo.min(x);
            hi = hi.max(x);
            count += 1;
            if self.skip == 0 {
                self.ring[self.head] = x;
                self.head = (self.head + 1) % self.ring.len();
                self.filled = (self.filled + 1).min(self.ring.len());
                self.skip = self.p.decimate;
            }
            self.skip -= 1;
        }
        self.n += count as u64;
        if count == 0 {
            return Ok(Flow::Continue);
        }
        let mean = sum / count as f64;
        let rms = (sq / count as f64).sqrt();
        let values = [
            mean,
            rms,
            (lo.abs().max(hi.abs())) as f64,
            lo as f64,
            hi as f64,
        ];
        for (name, v) in self.names.iter().zip(values) {
            ctx.signal(name, v);
        }
        let dt = self.p.decimate as f64 / h.sample_rate;
        let end_s = h.t_ns as f64 / 1e9 + count as f64 / h.sample_rate;
        let (ring, head, filled) = (&self.ring, self.head, self.filled);
        let ts = ctx.output::<TimeSeries>();
        ts.dt_s = dt;
        ts.unit = "";
        ts.t0_s = end_s - filled as f64 * dt;
        ts.values.clear();
        let start = (head + ring.len() - filled) % ring.len();
        ts.values
            .extend((0..filled).map(|i| ring[(start + i) % ring.len()]));
        Ok(Flow::Continue)
    }

    fn reset(&mut self) {
        self.filled = 0;
        self.head = 0;
    }
}

framebus_core::register_stage!(Stats);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
