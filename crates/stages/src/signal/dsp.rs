//! DSP building blocks shared by the signal stages: windows, windowed-sinc FIR design in the
//! manner of `scipy.signal.firwin`, and a streaming FIR that keeps its history between
//! packets (so changing taps only costs the filter's own transient).

use framebus_core::prelude::*;

/// Window functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// No window.
    Rectangular,
    /// Hann (periodic = false, as scipy's `firwin` uses).
    Hann,
    /// Hamming (firwin's default).
    #[default]
    Hamming,
    /// Blackman.
    Blackman,
}

impl Window {
    /// Fills `w` with the symmetric window of `w.len()` points.
    pub fn fill(self, w: &mut [f64]) {
        let n = w.len();
        if n == 1 {
            w[0] = 1.0;
            return;
        }
        let d = (n - 1) as f64;
        for (i, v) in w.iter_mut().enumerate() {
            let x = std::f64::consts::TAU * i as f64 / d;
            *v = match self {
                Self::Rectangular => 1.0,
                Self::Hann => 0.5 - 0.5 * x.cos(),
                Self::Hamming => 0.54 - 0.46 * x.cos(),
                Self::Blackman => 0.42 - 0.5 * x.cos() + 0.08 * (2.0 * x).cos(),
            };
        }
    }
}

/// Filter response types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Passes below `cutoff_hz`.
    #[default]
    Lowpass,
    /// Passes above `cutoff_hz` (odd taps).
    Highpass,
    /// Passes between `cutoff_hz` and `cutoff2_hz`.
    Bandpass,
    /// Stops between `cutoff_hz` and `cutoff2_hz` (odd taps).
    Bandstop,
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Designs a linear-phase FIR like `scipy.signal.firwin(taps, cutoff, window, pass_zero, fs)`
/// into `h` (its length is the tap count), scaled to unit gain at the passband's centre.
pub fn firwin(
    h: &mut [f64],
    response: Response,
    cutoff_hz: f64,
    cutoff2_hz: f64,
    window: Window,
    sample_rate: f64,
) -> Result<(), String> {
    let n = h.len();
    let nyq = sample_rate / 2.0;
    let f1 = cutoff_hz / nyq;
    let f2 = cutoff2_hz / nyq;
    if n == 0 {
        return Err("taps must be at least 1".into());
    }
    if !(f1 > 0.0 && f1 < 1.0) {
        return Err(format!(
            "cutoff_hz {cutoff_hz} must be between 0 and the Nyquist frequency {nyq}"
        ));
    }
    let bands: &[(f64, f64)] = &match response {
        Response::Lowpass => [(0.0, f1), (0.0, 0.0)],
        Response::Highpass => [(f1, 1.0), (0.0, 0.0)],
        Response::Bandpass | Response::Bandstop => {
            if !(f2 > f1 && f2 < 1.0) {
                return Err(format!(
                    "cutoff2_hz {cutoff2_hz} must be above cutoff_hz and below {nyq}"
                ));
            }
            if response == Response::Bandpass {
                [(f1, f2), (0.0, 0.0)]
            } else {
                [(0.0, f1), (f2, 1.0)]
            }
        }
    };
    let passes_nyquist = matches!(response, Response::Highpass | Response::Bandstop);
    if passes_nyquist && n & 1 == 0 {
        return Err(
            "a filter that passes the Nyquist frequency needs an odd number of taps".into(),
        );
    }
    let alpha = 0.5 * (n as f64 - 1.0);
    for (i, v) in h.iter_mut().enumerate() {
        let m = i as f64 - alpha;
        *v = bands
            .iter()
            .filter(|(l, r)| r > l)
            .map(|&(l, r)| r * sinc(r * m) - l * sinc(l * m))
            .sum();
    }
    // Window in place without a scratch buffer.
    let d = (n.max(2) - 1) as f64;
    for (i, v) in h.iter_mut().enumerate() {
        let x = std::f64::consts::TAU * i as f64 / d;
        *v *= match (window, n) {
            (_, 1) | (Window::Rectangular, _) => 1.0,
            (Window::Hann, _) => 0.5 - 0.5 * x.cos(),
            (Window::Hamming, _) => 0.54 - 0.46 * x.cos(),
            (Window::Blackman, _) => 0.42 - 0.5 * x.cos() + 0.08 * (2.0 * x).cos(),
        };
    }
    let (l, r) = bands[0];
    let f = if l == 0.0 {
        0.0
    } else if r == 1.0 {
        1.0
    } else {
        0.5 * (l + r)
    };
    let s: f64 = h
        .iter()
        .enumerate()
        .map(|(i, v)| v * (std::f64::consts::PI * (i as f64 - alpha) * f).cos())
        .sum();
    for v in h.iter_mut() {
        *v /= s;
    }
    Ok(())
}

/// Magnitude response of taps `h` at `freq_hz` (for tests and docs).
pub fn gain_at(h: &[f32], freq_hz: f64, sample_rate: f64) -> f64 {
    let w = std::f64::consts::TAU * freq_hz / sample_rate;
    let (mut re, mut im) = (0.0, 0.0);
    for (k, &c) in h.iter().enumerate() {
        re += c as f64 * (w * k as f64).cos();
        im -= c as f64 * (w * k as f64).sin();
    }
    (re * re + im * im).sqrt()
}

/// A streaming FIR over interleaved channels. Each channel keeps the last `taps − 1` inputs
/// in a work buffer of `taps − 1 + batch`, grown on the first packet of a new size only.
#[derive(Debug, Default)]
pub struct Fir {
    /// Taps, reversed for a forward dot product.
    rev: Vec<f32>,
    /// Per channel: history followed by the current input.
    work: Vec<Vec<f32>>,
    /// One channel's outputs before they are interleaved (several channels only).
    out: Vec<f32>,
}

impl Fir {
    /// Sets the taps; keeps the history when the length stays (no glitch beyond the
    /// transient; no allocation).
    pub fn set_taps(&mut self, h: &[f32]) {
        let old = self.rev.len();
        self.rev.clear();
        self.rev.extend(h.iter().rev());
        if old != h.len() {
            for w in &mut self.work {
                w.clear();
            }
        }
    }

    /// The taps in force (reversed).
    pub fn taps_len(&self) -> usize {
        self.rev.len()
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        for w in &mut self.work {
            w.clear();
        }
    }

    /// Loads `data` (interleaved, `channels`) behind each channel's history.
    fn load(&mut self, data: &[f32], channels: usize) -> usize {
        let hist = self.rev.len().saturating_sub(1);
        let n = data.len() / channels;
        if self.work.len() != channels {
            self.work.resize_with(channels, Vec::new);
        }
        for (c, w) in self.work.iter_mut().enumerate() {
            if w.len() < hist {
                w.clear();
                w.resize(hist, 0.0);
            }
            let keep = w.len() - hist;
            w.drain(..keep);
            w.extend(data.iter().skip(c).step_by(channels).take(n));
        }
        n
    }

    /// Filters `data` in place.
    pub fn process(&mut self, data: &mut [f32], channels: usize) {
        let n = self.load(data, channels);
        if channels == 1 {
            convolve(&self.work[0], &self.rev, &mut data[..n]);
            return;
        }
        self.out.resize(n, 0.0);
        for (c, w) in self.work.iter().enumerate() {
            convolve(w, &self.rev, &mut self.out);
            for (i, v) in self.out.iter().enumerate() {
                data[i * channels + c] = *v;
            }
        }
    }

    /// Filters `data` and writes every `m`-th output, starting `phase` samples in, to `out`
    /// (interleaved); returns the next phase and the outputs per channel written.
    pub fn decimate(
        &mut self,
        data: &[f32],
        channels: usize,
        m: usize,
        phase: usize,
        out: &mut [f32],
    ) -> (usize, usize) {
        let n = self.load(data, channels);
        let taps = self.rev.len();
        let mut k = 0;
        let mut i = phase;
        while i < n {
            for (c, w) in self.work.iter().enumerate() {
                out[k * channels + c] = dot(&w[i..i + taps], &self.rev);
            }
            k += 1;
            i += m;
        }
        (i - n, k)
    }
}

/// `y[i] = Σₖ rev[k] · w[i + k]` for every `i` of `y` (`w` holds `y.len() + rev.len() − 1`
/// samples): a FIR with reversed taps over a history-prefixed input.
///
/// Blocks of 64 outputs are computed tap by tap (one tap times 64 consecutive inputs added to
/// 64 accumulators), which keeps eight 8-lane accumulators independent. On x86-64 CPUs with
/// AVX2 and FMA (checked at run time) the same code is compiled for them and uses fused
/// multiply-adds; elsewhere it is the portable build.
pub fn convolve(w: &[f32], rev: &[f32], y: &mut [f32]) {
    if rev.is_empty() {
        y.fill(0.0);
        return;
    }
    assert!(
        w.len() + 1 >= y.len() + rev.len(),
        "convolve: input too short"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        #[allow(unsafe_code)]
        // SAFETY: `convolve_avx2_fma` is safe code compiled with `target_feature(avx2, fma)`;
        // its only requirement is that the CPU has both, which was checked just above.
        unsafe {
            convolve_avx2_fma(w, rev, y)
        };
        return;
    }
    convolve_blocks::<false>(w, rev, y);
}

/// [`convolve`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn convolve_avx2_fma(w: &[f32], rev: &[f32], y: &mut [f32]) {
    convolve_blocks::<true>(w, rev, y);
}

/// The body of [`convolve`]; `FMA` uses fused multiply-adds (only where the CPU has them:
/// without, `mul_add` is a slow library call).
#[inline(always)]
fn convolve_blocks<const FMA: bool>(w: &[f32], rev: &[f32], y: &mut [f32]) {
    const B: usize = 64;
    let taps = rev.len();
    let n = y.len();
    let mut i = 0;
    while i + B <= n {
        let mut acc = [0.0f32; B];
        let win = &w[i..i + B + taps - 1];
        for (k, &h) in rev.iter().enumerate() {
            let x: &[f32; B] = win[k..k + B].try_into().expect("B samples");
            for l in 0..B {
                acc[l] = if FMA {
                    h.mul_add(x[l], acc[l])
                } else {
                    acc[l] + h * x[l]
                };
            }
        }
        y[i..i + B].copy_from_slice(&acc);
        i += B;
    }
    for (j, o) in y.iter_mut().enumerate().skip(i) {
        *o = dot(&w[j..j + taps], rev);
    }
}

/// A dot product in eight independent lanes (vectorizes; no bounds checks in the loop).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatched kernel (AVX2 + FMA here when the CPU has them) and the portable build
    /// against a plain f64 sum, over lengths with and without a tail and odd tap counts.
    #[test]
    fn convolve_matches_a_plain_sum() {
        let mut seed = 7u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for (n, taps) in [
            (0, 5),
            (1, 1),
            (63, 64),
            (64, 64),
            (200, 17),
            (4096, 64),
            (130, 127),
        ] {
            let w: Vec<f32> = (0..n + taps - 1).map(|_| rnd()).collect();
            let rev: Vec<f32> = (0..taps).map(|_| rnd()).collect();
            let want: Vec<f64> = (0..n)
                .map(|i| (0..taps).map(|k| rev[k] as f64 * w[i + k] as f64).sum())
                .collect();
            let mut fast = vec![0.0; n];
            convolve(&w, &rev, &mut fast);
            let mut portable = vec![0.0; n];
            convolve_blocks::<false>(&w, &rev, &mut portable);
            for i in 0..n {
                assert!(
                    (fast[i] as f64 - want[i]).abs() < 1e-5,
                    "n {n} taps {taps} at {i}"
                );
                assert!(
                    (portable[i] as f64 - want[i]).abs() < 1e-5,
                    "n {n} taps {taps} at {i}"
                );
            }
        }
        let mut y = [1.0; 3];
        convolve(&[1.0, 2.0, 3.0], &[], &mut y);
        assert_eq!(y, [0.0; 3], "no taps: silence");
    }
}
