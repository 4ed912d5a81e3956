//! `filter`: a linear-phase FIR (or, with `design = "butterworth"`, an IIR Butterworth of
//! `order` as biquads), designed from params (`scipy.signal.firwin`-style windowed
//! sinc: low/high/band-pass/stop, cutoffs, taps, window) or given as explicit `coefficients`.
//! The design needs the sample rate, so it is made on the first packet and again when the
//! rate or the params change. `set_params` takes effect between packets and keeps the
//! filter's history, so a change costs no more than the filter's own transient, and no
//! allocation unless the number of taps grows.

use framebus_core::prelude::*;

use super::dsp::{Fir, Response, Window, firwin};
use super::iir::{Biquads, Sos, butterworth};

/// How the filter is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Linear-phase FIR (windowed sinc, or `coefficients`).
    #[default]
    Fir,
    /// IIR Butterworth of `order` as biquads (lowpass or highpass).
    Butterworth,
}

/// Params of `filter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FilterParams {
    /// FIR or IIR Butterworth.
    pub design: Design,
    /// Order of a Butterworth design.
    #[schemars(range(min = 1, max = 32))]
    pub order: usize,
    /// Response type.
    pub response: Response,
    /// Number of taps (odd for highpass/bandstop).
    #[schemars(range(min = 1, max = 4096))]
    pub taps: usize,
    /// Cutoff, Hz (lower edge for band filters).
    pub cutoff_hz: f64,
    /// Upper edge for band filters, Hz.
    pub cutoff2_hz: f64,
    /// Window of the design.
    pub window: Window,
    /// Explicit taps; when not empty they replace the design.
    pub coefficients: Vec<f64>,
}

impl Default for FilterParams {
    fn default() -> Self {
        Self {
            design: Design::Fir,
            order: 4,
            response: Response::Lowpass,
            taps: 64,
            cutoff_hz: 20_000.0,
            cutoff2_hz: 0.0,
            window: Window::Hamming,
            coefficients: Vec::new(),
        }
    }
}

/// The `filter` stage.
pub struct Filter {
    p: FilterParams,
    fir: Fir,
    iir: Biquads,
    sos: Vec<Sos>,
    design: Vec<f64>,
    taps: Vec<f32>,
    designed_for: f64,
}

impl Filter {
    /// The taps in force (empty before the first packet of a designed filter).
    pub fn taps(&self) -> &[f32] {
        &self.taps
    }

    fn redesign(&mut self, sample_rate: f64) -> Result<()> {
        if self.p.design == Design::Butterworth {
            butterworth(
                &mut self.sos,
                self.p.order,
                self.p.response,
                self.p.cutoff_hz,
                sample_rate,
            )
            .map_err(Error::stage)?;
            self.iir.set(&self.sos);
        } else if self.p.coefficients.is_empty() {
            self.design.resize(self.p.taps, 0.0);
            firwin(
                &mut self.design,
                self.p.response,
                self.p.cutoff_hz,
                self.p.cutoff2_hz,
                self.p.window,
                sample_rate,
            )
            .map_err(Error::stage)?;
            self.taps.clear();
            self.taps.extend(self.design.iter().map(|&v| v as f32));
        } else {
            self.taps.clear();
            self.taps
                .extend(self.p.coefficients.iter().map(|&v| v as f32));
        }
        self.fir.set_taps(&self.taps);
        self.designed_for = sample_rate;
        Ok(())
    }
}

impl Stage for Filter {
    type Params = FilterParams;
    const INFO: StageInfo = StageInfo {
        id: "filter",
        version: "0.1.0",
        description: "FIR filter designed from params (low/high/band-pass/stop, window) or given taps",
        namespace: None,
        commands: &[],
    };
    const TAKES: PayloadKind = PayloadKind::Samples;

    fn new(p: FilterParams, _init: &StageInit) -> Result<Self> {
        if p.coefficients.is_empty() && p.taps == 0 {
            return Err(Error::stage("taps must be at least 1"));
        }
        // Check the design against a nominal rate now, so a bad config fails at build time
        // when it can (cutoffs are checked again against the real rate).
        if p.coefficients.is_empty() && p.cutoff_hz <= 0.0 {
            return Err(Error::stage("cutoff_hz must be positive"));
        }
        Ok(Self {
            p,
            fir: Fir::default(),
            iir: Biquads::default(),
            sos: Vec::new(),
            design: Vec::new(),
            taps: Vec::new(),
            designed_for: 0.0,
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let rate = ctx.packet().map_or(0.0, |p| p.header.sample_rate);
        if rate != self.designed_for {
            self.redesign(rate)?;
        }
        let d = ctx.packet_mut().ok_or_else(|| Error::stage("no packet"))?;
        let ch = d.header.channels.max(1);
        if self.p.design == Design::Butterworth {
            self.iir.process(&mut d.data, ch);
        } else {
            self.fir.process(&mut d.data, ch);
        }
        Ok(Flow::Continue)
    }

    fn set_params(&mut self, p: FilterParams, _ctx: &mut CommandCtx<'_>) -> Result<()> {
        let old = std::mem::replace(&mut self.p, p);
        if self.designed_for > 0.0
            && let Err(e) = self.redesign(self.designed_for)
        {
            self.p = old;
            self.redesign(self.designed_for)?;
            return Err(e);
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.iir.reset();
        self.fir.reset();
    }
}

framebus_core::register_stage!(Filter);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
