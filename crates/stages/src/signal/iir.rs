//! Butterworth IIR filters as cascaded biquads (second-order sections), designed by the
//! bilinear transform with a pre-warped cutoff, like `scipy.signal.butter(output="sos")`.

use super::dsp::Response;

/// One section: `b0 b1 b2 / 1 a1 a2`.
pub type Sos = [f64; 5];

/// Designs an order-`order` Butterworth low- or high-pass into `sos` (cleared first).
pub fn butterworth(
    sos: &mut Vec<Sos>,
    order: usize,
    response: Response,
    cutoff_hz: f64,
    sample_rate: f64,
) -> Result<(), String> {
    if order == 0 || order > 32 {
        return Err("order must be 1..=32".into());
    }
    if !(cutoff_hz > 0.0 && cutoff_hz < sample_rate / 2.0) {
        return Err(format!(
            "cutoff_hz {cutoff_hz} must be between 0 and the Nyquist frequency {}",
            sample_rate / 2.0
        ));
    }
    let high = match response {
        Response::Lowpass => false,
        Response::Highpass => true,
        _ => return Err("a Butterworth filter here is lowpass or highpass".into()),
    };
    let fs2 = 2.0 * sample_rate;
    let warped = fs2 * (std::f64::consts::PI * cutoff_hz / sample_rate).tan();
    sos.clear();
    let zero = if high { -1.0 } else { 1.0 }; // numerator (1 ∓ z⁻¹)
    // Poles of the analog prototype in the left half plane, upper half first.
    for k in 0..order.div_ceil(2) {
        let theta = std::f64::consts::PI * (2 * k + order + 1) as f64 / (2 * order) as f64;
        let (pr, pi) = (theta.cos(), theta.sin());
        // Scale to the cutoff (lowpass s = p·w; highpass s = w / p).
        let (sr, si) = if high {
            let m = pr * pr + pi * pi;
            (warped * pr / m, -warped * pi / m)
        } else {
            (warped * pr, warped * pi)
        };
        // Bilinear: z = (fs2 + s) / (fs2 − s).
        let (nr, ni) = (fs2 + sr, si);
        let (dr, di) = (fs2 - sr, -si);
        let dm = dr * dr + di * di;
        let (zr, zi) = ((nr * dr + ni * di) / dm, (ni * dr - nr * di) / dm);
        if 2 * k + 1 == order {
            // The real pole of an odd order: a first-order section.
            sos.push([1.0, zero, 0.0, -zr, 0.0]);
        } else {
            sos.push([1.0, 2.0 * zero, 1.0, -2.0 * zr, zr * zr + zi * zi]);
        }
    }
    // Unit gain at DC (lowpass) or at Nyquist (highpass).
    let z = if high { -1.0 } else { 1.0 };
    for s in sos.iter_mut() {
        let num = s[0] + s[1] * z + s[2];
        let den = 1.0 + s[3] * z + s[4];
        let g = den / num;
        s[0] *= g;
        s[1] *= g;
        s[2] *= g;
    }
    Ok(())
}

/// Magnitude response of `sos` at `freq_hz`.
pub fn sos_gain_at(sos: &[Sos], freq_hz: f64, sample_rate: f64) -> f64 {
    let w = std::f64::consts::TAU * freq_hz / sample_rate;
    let (c1, s1, c2, s2) = (w.cos(), w.sin(), (2.0 * w).cos(), (2.0 * w).sin());
    sos.iter()
        .map(|s| {
            let (nr, ni) = (s[0] + s[1] * c1 + s[2] * c2, -(s[1] * s1 + s[2] * s2));
            let (dr, di) = (1.0 + s[3] * c1 + s[4] * c2, -(s[3] * s1 + s[4] * s2));
            ((nr * nr + ni * ni) / (dr * dr + di * di)).sqrt()
        })
        .product()
}

/// Runs cascaded sections over interleaved channels (transposed direct form II), keeping
/// each channel's state between packets.
#[derive(Debug, Default)]
pub struct Biquads {
    sos: Vec<Sos>,
    /// Per channel, per section: two state values.
    state: Vec<[f64; 2]>,
}

impl Biquads {
    /// Sets the sections; keeps the state when their number stays.
    pub fn set(&mut self, sos: &[Sos]) {
        if sos.len() != self.sos.len() {
            self.state.clear();
        }
        self.sos.clear();
        self.sos.extend_from_slice(sos);
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.state.iter_mut().for_each(|s| *s = [0.0; 2]);
    }

    /// Filters `data` in place.
    pub fn process(&mut self, data: &mut [f32], channels: usize) {
        let n = self.sos.len();
        if self.state.len() != n * channels {
            self.state.clear();
            self.state.resize(n * channels, [0.0; 2]);
        }
        for (i, x) in data.iter_mut().enumerate() {
            let c = i % channels;
            let mut v = *x as f64;
            for (s, st) in self.sos.iter().zip(&mut self.state[c * n..(c + 1) * n]) {
                let y = s[0] * v + st[0];
                st[0] = s[1] * v - s[3] * y + st[1];
                st[1] = s[2] * v - s[4] * y;
                v = y;
            }
            *x = v as f32;
        }
    }
}
