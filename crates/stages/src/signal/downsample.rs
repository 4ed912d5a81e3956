//! `downsample`: decimation by `factor` with a built-in anti-aliasing low-pass (a windowed
//! sinc of `taps` taps, cutoff at `cutoff · rate / (2·factor)`). Only every `factor`-th
//! output is computed (the polyphase saving). The result goes into a packet from this
//! stage's own pool of the smaller shape, which becomes the payload later stages see.

use framebus_core::packet::PacketPool;
use framebus_core::prelude::*;

use super::dsp::{Fir, Response, Window, firwin};

/// Params of `downsample`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DownsampleParams {
    /// Keep one sample in `factor`.
    #[schemars(range(min = 1, max = 4096))]
    pub factor: usize,
    /// Taps of the anti-aliasing filter.
    #[schemars(range(min = 1, max = 4096))]
    pub taps: usize,
    /// Cutoff as a fraction of the new Nyquist frequency.
    #[schemars(range(min = 0.05, max = 1.0))]
    pub cutoff: f64,
    /// Packets the output pool holds.
    #[schemars(range(min = 2, max = 1024))]
    pub pool: usize,
}

impl Default for DownsampleParams {
    fn default() -> Self {
        Self {
            factor: 16,
            taps: 64,
            cutoff: 0.8,
            pool: 4,
        }
    }
}

/// The `downsample` stage.
pub struct Downsample {
    p: DownsampleParams,
    fir: Fir,
    design: Vec<f64>,
    taps: Vec<f32>,
    designed: bool,
    phase: usize,
    pool: Option<PacketPool>,
    seq: u64,
}

impl Stage for Downsample {
    type Params = DownsampleParams;
    const INFO: StageInfo = StageInfo {
        id: "downsample",
        version: "0.1.0",
        description: "Decimation by M with a built-in anti-aliasing FIR",
        namespace: None,
        commands: &[],
    };
    const TAKES: PayloadKind = PayloadKind::Samples;

    fn new(p: DownsampleParams, _init: &StageInit) -> Result<Self> {
        if p.factor == 0 || p.taps == 0 {
            return Err(Error::stage("factor and taps must be at least 1"));
        }
        if !(p.cutoff > 0.0 && p.cutoff <= 1.0) {
            return Err(Error::stage("cutoff must be in (0, 1]"));
        }
        let mut design = vec![0.0; p.taps];
        if p.factor > 1 {
            // Normalized: rate 2 so the Nyquist is 1 and the cutoff is cutoff / factor.
            firwin(
                &mut design,
                Response::Lowpass,
                p.cutoff / p.factor as f64,
                0.0,
                Window::Hamming,
                2.0,
            )
            .map_err(Error::stage)?;
        } else {
            design.iter_mut().for_each(|v| *v = 0.0);
            design[0] = 1.0;
        }
        let taps: Vec<f32> = design.iter().map(|&v| v as f32).collect();
        Ok(Self {
            p,
            fir: Fir::default(),
            design,
            taps,
            designed: false,
            phase: 0,
            pool: None,
            seq: 0,
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let input = ctx.packet().ok_or_else(|| Error::stage("no packet"))?;
        let h = input.header;
        let ch = h.channels.max(1);
        let max_out = h.batch_size.div_ceil(self.p.factor);
        if self
            .pool
            .as_ref()
            .is_none_or(|p| p.batch_size() < max_out || p.channels() != ch)
        {
            self.pool = Some(PacketPool::new(self.p.pool, max_out, ch));
        }
        if !self.designed {
            self.fir.set_taps(&self.taps);
            self.designed = true;
        }
        let pool = self.pool.as_ref().expect("made above");
        let Some(mut out) = pool.try_acquire() else {
            return Err(Error::stage(
                "output pool exhausted: a later holder keeps packets (counted drop)",
            ));
        };
        let o = out.get_mut().expect("fresh packet is unique");
        let (phase, n) = self
            .fir
            .decimate(&input.data, ch, self.p.factor, self.phase, &mut o.data);
        self.phase = phase;
        o.reshape(n, ch);
        self.seq += 1;
        o.header.seq = self.seq;
        o.header.t_ns = h.t_ns;
        o.header.sample_rate = h.sample_rate / self.p.factor as f64;
        ctx.replace_packet(out);
        Ok(Flow::Continue)
    }

    fn reset(&mut self) {
        self.fir.reset();
        self.phase = 0;
    }
}

impl Downsample {
    /// The anti-aliasing taps.
    pub fn taps(&self) -> &[f32] {
        &self.taps
    }

    /// The anti-aliasing design in double precision.
    pub fn design(&self) -> &[f64] {
        &self.design
    }
}

framebus_core::register_stage!(Downsample);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
