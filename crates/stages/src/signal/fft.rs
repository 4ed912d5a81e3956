//! `fft`: magnitude spectrum of the first channel with `rustfft` (the plan is made once per
//! size): an even size `n` runs as an `n/2`-point complex FFT of the packed real input and a
//! vectorized real-input split straight to magnitudes ([`super::spectrum`]); an odd size as
//! an `n`-point complex FFT. Frames of `size` samples advance by `size · (1 − overlap)`, are windowed, and
//! their magnitudes (scaled so a sine of amplitude A reads A, or 20·log10 A in dB) are
//! averaged over the last `averaging` spectra (exponentially). Each new spectrum goes into a
//! packet of `size/2 + 1` bins from this stage's pool, which later stages see; packets that
//! complete no frame skip the later stages. Publishes `<id>.peak_hz` and `<id>.peak_db`.

use std::sync::Arc;

use framebus_core::packet::PacketPool;
use framebus_core::prelude::*;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::dsp::Window;
use super::shapes::Spectrum;
use super::spectrum::{
    average_magnitudes, peak, split_magnitudes, split_twiddles, to_db, window_pack, window_real,
};

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
    /// The complex FFT: `size/2` points for an even size, `size` for an odd one.
    fft: Arc<dyn rustfft::Fft<f32>>,
    window: Vec<f32>,
    /// The FFT's input and output (in place).
    z: Vec<Complex<f32>>,
    /// The split's scratch and twiddles (even sizes; empty otherwise).
    rev: Vec<Complex<f32>>,
    tw: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
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
    /// One spectrum from the `size` samples `x`, averaged in.
    fn transform(&mut self, x: &[f32]) {
        let n = self.p.size;
        let even = n.is_multiple_of(2);
        if even {
            window_pack(&mut self.z, x, &self.window);
        } else {
            window_real(&mut self.z, x, &self.window);
        }
        self.fft
            .process_with_scratch(&mut self.z, &mut self.scratch);
        self.count = (self.count + 1).min(self.p.averaging.max(1));
        let a = 1.0 / self.count as f32;
        if even {
            split_magnitudes(&mut self.avg, &self.z, &mut self.rev, &self.tw, a);
        } else {
            average_magnitudes(&mut self.avg, &self.z[..n / 2 + 1], a);
        }
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
        let even = p.size.is_multiple_of(2);
        let len = if even { p.size / 2 } else { p.size };
        let fft = FftPlanner::<f32>::new().plan_fft_forward(len);
        let mut w = vec![0.0f64; p.size];
        p.window.fill(&mut w);
        let sum: f64 = w.iter().sum();
        // Scale so that a sine of amplitude A gives a peak of A.
        let window = w.iter().map(|v| (v * 2.0 / sum) as f32).collect();
        let bins = p.size / 2 + 1;
        Ok(Self {
            z: vec![Complex::new(0.0, 0.0); len],
            rev: if even {
                vec![Complex::new(0.0, 0.0); len]
            } else {
                Vec::new()
            },
            tw: if even {
                split_twiddles(p.size)
            } else {
                Vec::new()
            },
            scratch: vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()],
            fft,
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
            if ch == 1 && self.pending.is_empty() && rest.len() >= self.p.size {
                // A whole frame in the packet: transform it where it is, no copy.
                self.transform(&rest[..self.p.size]);
                rest = &rest[self.hop..];
                fresh = true;
                continue;
            }
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
                let pending = std::mem::take(&mut self.pending);
                self.transform(&pending);
                self.pending = pending;
                self.pending.drain(..self.hop);
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
            // Bin 0 (DC) is never the peak.
            let (at, best) = peak(&self.avg[1..]);
            let at = at + 1;
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
