//! `fft`: magnitude spectrum of the first channel with `realfft` (the plan is made once per
//! size). Frames of `size` samples advance by `size · (1 − overlap)`, are windowed, and
//! their magnitudes (scaled so a sine of amplitude A reads A, or 20·log10 A in dB) are
//! averaged over the last `averaging` spectra (exponentially). Each new spectrum goes into a
//! packet of `size/2 + 1` bins from this stage's pool, which later stages see; packets that
//! complete no frame skip the later stages. Publishes `<id>.peak_hz` and `<id>.peak_db`.

use std::sync::Arc;

use framebus_core::packet::PacketPool;
use framebus_core::prelude::*;
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::dsp::{Window, to_db};
use super::shapes::Spectrum;

/// Params of `fft`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FftParams {
    /// Points per transform.
    #[schemars(range(min = 8, max = 1_048_576))]
    pub size: usize,
    /// Window.
    pub window: Window,
    /// Overlap of consecutive frames, 0 ≤ overlap < 1.
    #[schemars(range(min = 0.0, max = 0.95))]
    pub overlap: f64,
    /// Spectra averaged (exponentially; 1 = none).
    #[schemars(range(min = 1, max = 10_000))]
    pub averaging: u32,
    /// Magnitudes in dB.
    pub db: bool,
}

impl Default for FftParams {
    fn default() -> Self {
        Self {
            size: 1024,
            window: Window::Hann,
            overlap: 0.5,
            averaging: 1,
            db: true,
        }
    }
}

/// The `fft` stage.
pub struct Fft {
    p: FftParams,
    plan: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    spectrum: Vec<Complex<f32>>,
    avg: Vec<f32>,
    pending: Vec<f32>,
    count: u32,
    hop: usize,
    pool: PacketPool,
    seq: u64,
    peak_hz_name: String,
    peak_db_name: String,
    have: bool,
}

impl Fft {
    fn transform(&mut self) {
        let n = self.p.size;
        for ((o, x), w) in self
            .input
            .iter_mut()
            .zip(&self.pending[..n])
            .zip(&self.window)
        {
            *o = x * w;
        }
        // Sizes match the plan by construction, so this cannot fail.
        let _ =
            self.plan
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        self.count = (self.count + 1).min(self.p.averaging.max(1));
        let a = 1.0 / self.count as f32;
        // |c| as sqrt(re² + im²): `norm()` is `hypot`, a library call per bin that cost
        // more than the FFT itself; magnitudes here are far from overflow.
        for (m, c) in self.avg.iter_mut().zip(&self.spectrum) {
            *m += ((c.re * c.re + c.im * c.im).sqrt() - *m) * a;
        }
        self.pending.drain(..self.hop);
    }
}

impl Stage for Fft {
    type Params = FftParams;
    const INFO: StageInfo = StageInfo {
        id: "fft",
        version: "0.1.0",
        description: "Windowed real FFT with overlap and averaging; spectrum, peak frequency and level",
        namespace: None,
        commands: &[],
    };
    const TAKES: PayloadKind = PayloadKind::Samples;

    fn new(p: FftParams, init: &StageInit) -> Result<Self> {
        if p.size < 8 {
            return Err(Error::stage("size must be at least 8"));
        }
        if !(0.0..0.96).contains(&p.overlap) {
            return Err(Error::stage("overlap must be in [0, 0.95]"));
        }
        let plan = RealFftPlanner::<f32>::new().plan_fft_forward(p.size);
        let mut w = vec![0.0f64; p.size];
        p.window.fill(&mut w);
        let sum: f64 = w.iter().sum();
        // Scale so that a sine of amplitude A gives a peak of A.
        let window = w.iter().map(|v| (v * 2.0 / sum) as f32).collect();
        let bins = p.size / 2 + 1;
        Ok(Self {
            input: plan.make_input_vec(),
            scratch: plan.make_scratch_vec(),
            spectrum: plan.make_output_vec(),
            plan,
            window,
            avg: vec![0.0; bins],
            pending: Vec::with_capacity(2 * p.size),
            count: 0,
            hop: ((p.size as f64 * (1.0 - p.overlap)).round() as usize).clamp(1, p.size),
            pool: PacketPool::new(4, bins, 1),
            seq: 0,
            peak_hz_name: format!("{}.peak_hz", init.id),
            peak_db_name: format!("{}.peak_db", init.id),
            have: false,
            p,
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let input = ctx.packet().ok_or_else(|| Error::stage("no packet"))?;
        let h = input.header;
        let ch = h.channels.max(1);
        let mut fresh = false;
        let mut rest = &input.data[..];
        while !rest.is_empty() {
            // Take what completes the next frame (or all that is left), then transform.
            let want = (self.p.size - self.pending.len()) * ch;
            let (now, later) = rest.split_at(want.min(rest.len()));
            if ch == 1 {
                self.pending.extend_from_slice(now);
            } else {
                self.pending.extend(now.iter().step_by(ch));
            }
            rest = later;
            if self.pending.len() == self.p.size {
                self.transform();
                fresh = true;
            }
        }
        if !self.have && !fresh {
            return Ok(Flow::Skip);
        }
        self.have = true;
        let df = h.sample_rate / self.p.size as f64;
        let db = self.p.db;
        let out = ctx.output::<Spectrum>();
        if fresh {
            out.df_hz = df;
            out.db = db;
            out.averaged = self.count;
            out.values.clear();
            out.values.extend_from_slice(&self.avg);
            if db {
                to_db(&mut out.values);
            }
            let (mut best, mut at) = (f32::MIN, 0);
            for (k, &m) in self.avg.iter().enumerate().skip(1) {
                if m > best {
                    best = m;
                    at = k;
                }
            }
            out.peak_hz = at as f64 * df;
            out.peak = if db {
                20.0 * (best.max(1e-12) as f64).log10()
            } else {
                best as f64
            };
        }
        let (peak_hz, peak) = (out.peak_hz, out.peak);
        ctx.signal(&self.peak_hz_name, peak_hz);
        ctx.signal(&self.peak_db_name, peak);
        if !fresh {
            return Ok(Flow::Skip);
        }
        let Some(mut pkt) = self.pool.try_acquire() else {
            return Err(Error::stage("spectrum pool exhausted (counted drop)"));
        };
        let d = pkt.get_mut().expect("fresh packet is unique");
        d.data.copy_from_slice(&ctx.output::<Spectrum>().values);
        self.seq += 1;
        d.header.seq = self.seq;
        d.header.t_ns = h.t_ns;
        d.header.sample_rate = h.sample_rate;
        ctx.replace_packet(pkt);
        Ok(Flow::Continue)
    }

    fn reset(&mut self) {
        self.pending.clear();
        self.count = 0;
        self.avg.iter_mut().for_each(|v| *v = 0.0);
    }
}

framebus_core::register_stage!(Fft);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
