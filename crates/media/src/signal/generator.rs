//! `signal_generator`: a synthetic sensor. Each sample is the sum of sines, Gaussian noise,
//! a linear chirp and a staircase of steps, plus an offset, in full-scale units (±1), then
//! quantized to a signed ADC of `bits` bits (counts, as `to_voltage` expects) unless
//! `bits = 0`. The same seed gives the same samples. With `realtime` the injected clock
//! paces packets at `sample_rate` (each is computed half a packet before it is due, and
//! handed over when the clock reaches its last sample); without it packets come as fast as
//! the pipeline takes them.

use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::packet::{Packet, PacketPool, PayloadKind};
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceInit, StopFlag};

use super::pacing::Pacer;

/// One sine: `amplitude · sin(2π·freq_hz·t + phase)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tone {
    /// Frequency, Hz.
    pub freq_hz: f64,
    /// Amplitude, full scale = 1.
    pub amplitude: f64,
    /// Phase at t = 0, degrees.
    #[serde(default)]
    pub phase_deg: f64,
}

/// A linear sweep from `f0_hz` to `f1_hz` over `period_s`, repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chirp {
    /// Start frequency, Hz.
    pub f0_hz: f64,
    /// End frequency, Hz.
    pub f1_hz: f64,
    /// Sweep duration, seconds.
    pub period_s: f64,
    /// Amplitude, full scale = 1.
    pub amplitude: f64,
}

/// A staircase: each level held `period_s`, cycling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    /// Levels, full scale = 1.
    pub levels: Vec<f64>,
    /// Time at each level, seconds.
    pub period_s: f64,
}

/// Params of `signal_generator`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignalGeneratorParams {
    /// Samples per second (per channel), up to 10 MS/s.
    #[schemars(range(min = 1.0, max = 10_000_000.0))]
    pub sample_rate: f64,
    /// Samples per channel in each packet.
    #[schemars(range(min = 1, max = 1_048_576))]
    pub batch_size: usize,
    /// Interleaved channels (same waveform, independent noise).
    #[schemars(range(min = 1, max = 16))]
    pub channels: usize,
    /// Sines to sum.
    pub tones: Vec<Tone>,
    /// Standard deviation of Gaussian noise, full scale = 1.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub noise: f64,
    /// Optional linear chirp.
    pub chirp: Option<Chirp>,
    /// Optional staircase.
    pub steps: Option<Steps>,
    /// Constant added, full scale = 1.
    pub offset: f64,
    /// ADC bit depth (signed counts, clipped at full scale); 0 gives unquantized floats.
    #[schemars(range(min = 0, max = 24))]
    pub bits: u32,
    /// Seed of the noise.
    pub seed: u64,
    /// Pace packets at `sample_rate` by the clock; false: as fast as possible.
    pub realtime: bool,
}

impl Default for SignalGeneratorParams {
    fn default() -> Self {
        Self {
            sample_rate: 1_000_000.0,
            batch_size: 16_384,
            channels: 1,
            tones: vec![
                Tone {
                    freq_hz: 10_000.0,
                    amplitude: 0.5,
                    phase_deg: 0.0,
                },
                Tone {
                    freq_hz: 200_000.0,
                    amplitude: 0.25,
                    phase_deg: 0.0,
                },
            ],
            noise: 0.01,
            chirp: None,
            steps: None,
            offset: 0.0,
            bits: 12,
            seed: 1,
            realtime: true,
        }
    }
}

/// A sine kept as a rotating phasor (two multiplies per sample, renormalized per packet).
#[derive(Debug, Clone, Copy)]
struct Osc {
    re: f64,
    im: f64,
    c: f64,
    s: f64,
    amp: f64,
}

/// Deterministic noise: SplitMix64 into Box–Muller pairs.
#[derive(Debug, Clone)]
struct Gauss {
    state: u64,
    spare: Option<f64>,
}

impl Gauss {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn next(&mut self) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let a = std::f64::consts::TAU * u2;
        self.spare = Some(r * a.sin());
        r * a.cos()
    }
}

/// The `signal_generator` source.
pub struct SignalGenerator {
    p: SignalGeneratorParams,
    oscs: Vec<Osc>,
    noise: Vec<Gauss>,
    pool: PacketPool,
    pacer: Pacer,
    stop: StopFlag,
    n: u64,
    full_scale: f64,
}

impl SignalGenerator {
    fn sample_at(&mut self, i: u64) -> f64 {
        let t = i as f64 / self.p.sample_rate;
        let mut v = self.p.offset;
        for o in &mut self.oscs {
            v += o.amp * o.im;
            let re = o.re * o.c - o.im * o.s;
            o.im = o.re * o.s + o.im * o.c;
            o.re = re;
        }
        if let Some(c) = &self.p.chirp {
            let tt = t % c.period_s;
            let k = (c.f1_hz - c.f0_hz) / c.period_s;
            v += c.amplitude * (std::f64::consts::TAU * (c.f0_hz * tt + 0.5 * k * tt * tt)).sin();
        }
        if let Some(s) = &self.p.steps
            && !s.levels.is_empty()
        {
            let k = (t / s.period_s) as usize % s.levels.len();
            v += s.levels[k];
        }
        v
    }

    fn quantize(&self, v: f64) -> f32 {
        if self.p.bits == 0 {
            return v as f32;
        }
        let fs = self.full_scale;
        (v * fs).round().clamp(-fs - 1.0, fs) as f32
    }

    /// Fills `out` (interleaved, `channels` per frame) with the next samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        let ch = self.p.channels.max(1);
        for frame in out.chunks_exact_mut(ch) {
            let clean = self.sample_at(self.n);
            self.n += 1;
            for (c, o) in frame.iter_mut().enumerate() {
                let noisy = if self.p.noise > 0.0 {
                    clean + self.p.noise * self.noise[c].next()
                } else {
                    clean
                };
                *o = self.quantize(noisy);
            }
        }
        for o in &mut self.oscs {
            let m = (o.re * o.re + o.im * o.im).sqrt();
            o.re /= m;
            o.im /= m;
        }
    }
}

impl Source for SignalGenerator {
    type Params = SignalGeneratorParams;
    const KIND: &'static str = "signal_generator";
    const DESCRIPTION: &'static str =
        "Synthetic sensor: sines, noise, chirp, steps, ADC bit depth; deterministic per seed";
    const GIVES: PayloadKind = PayloadKind::Samples;

    fn new(p: SignalGeneratorParams, init: &SourceInit) -> Result<Self> {
        if !(p.sample_rate > 0.0 && p.sample_rate <= 10e6) {
            return Err(Error::source("sample_rate must be in (0, 10e6]"));
        }
        if p.batch_size == 0 || p.channels == 0 {
            return Err(Error::source("batch_size and channels must be at least 1"));
        }
        if let Some(s) = &p.steps
            && s.period_s <= 0.0
        {
            return Err(Error::source("steps.period_s must be positive"));
        }
        if let Some(c) = &p.chirp
            && c.period_s <= 0.0
        {
            return Err(Error::source("chirp.period_s must be positive"));
        }
        let oscs = p
            .tones
            .iter()
            .map(|t| {
                let w = std::f64::consts::TAU * t.freq_hz / p.sample_rate;
                let ph = t.phase_deg.to_radians();
                Osc {
                    re: ph.cos(),
                    im: ph.sin(),
                    c: w.cos(),
                    s: w.sin(),
                    amp: t.amplitude,
                }
            })
            .collect();
        let noise = (0..p.channels)
            .map(|c| Gauss {
                state: p.seed ^ (c as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
                spare: None,
            })
            .collect();
        let clock: Arc<dyn Clock> = init.clock.clone();
        Ok(Self {
            pool: PacketPool::new(init.pool_frames.max(2), p.batch_size, p.channels),
            pacer: Pacer::new(clock, p.sample_rate, p.realtime),
            stop: init.stop.clone(),
            full_scale: if p.bits == 0 {
                1.0
            } else {
                ((1u64 << (p.bits.min(24) - 1)) - 1) as f64
            },
            oscs,
            noise,
            n: 0,
            p,
        })
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let stop = self.stop.clone();
        let Some(mut packet) = self.pool.acquire(|| stop.is_stopped()) else {
            return Ok(None);
        };
        let d = packet.get_mut().expect("a fresh packet is unique");
        // The samples first, then (realtime) the wait until the clock reaches the last one:
        // the packet leaves when an ADC would have delivered it, not a fill's time later.
        // The fill itself waits until half a packet before that, away from the previous
        // packet's processing.
        self.pacer.nap_before_fill(self.p.batch_size);
        self.fill(&mut d.data);
        let (seq, t_ns) = self.pacer.next(self.p.batch_size);
        d.header.seq = seq;
        d.header.t_ns = t_ns;
        d.header.sample_rate = self.p.sample_rate;
        Ok(Some(packet))
    }
}

framebus_core::register_source!(SignalGenerator);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
