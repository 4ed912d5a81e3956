//! The per-frame kernels of the `fft` stage around the transform itself: windowing, the
//! real-input split, the averaged magnitudes, dB and the peak. Each is plain Rust written so the compiler
//! vectorizes it (no branches in the loops, independent lanes); on x86-64 CPUs with AVX2 and
//! FMA (checked at run time, once) the same code is also compiled for them and used, which
//! doubles the lanes. Together they cost less than the FFT they surround.

use rustfft::num_complex::Complex;

/// Defines `pub fn $name(args)` that runs `$body(args)` compiled for AVX2 + FMA when the CPU
/// has them, else the portable build of the same body.
macro_rules! avx2_dispatch {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $body:ident;) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    #[allow(unsafe_code)]
                    // SAFETY: `avx2` is safe code compiled with `target_feature(avx2, fma)`; its
                    // only requirement is that the CPU has both, which was checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

avx2_dispatch! {
    /// Windows the `n` real samples `x` by `w` and packs them as `n/2` complex values (even
    /// samples real, odd imaginary): the input of the half-length complex FFT that
    /// [`split_magnitudes`] turns into the `n`-point real spectrum.
    pub fn window_pack(z: &mut [Complex<f32>], x: &[f32], w: &[f32]) = window_pack_body;
}

avx2_dispatch! {
    /// Windows the real samples `x` by `w` into complex values with no imaginary part (the
    /// input of a full-length complex FFT, for odd sizes).
    pub fn window_real(z: &mut [Complex<f32>], x: &[f32], w: &[f32]) = window_real_body;
}

avx2_dispatch! {
    /// The real-input split: from `z`, the `m`-point FFT of an `n = 2m`-point real input
    /// packed by [`window_pack`], the magnitudes of the real FFT's bins `0..=m`, averaged
    /// into `avg` (`m + 1` values) by the fraction `a`. `tw` holds [`split_twiddles`]`(n)`;
    /// `rev` is scratch of `m` values. The bins themselves are never written out, only
    /// their magnitudes (`realfft` writes the bins in a scalar loop that cost as much as the
    /// FFT; this loop vectorizes).
    pub fn split_magnitudes(
        avg: &mut [f32],
        z: &[Complex<f32>],
        rev: &mut [Complex<f32>],
        tw: &[Complex<f32>],
        a: f32
    ) = split_body;
}

/// The twiddles `e^(−2πik/n)`, `k < n/2`, of the real-input split of an `n`-point FFT.
pub fn split_twiddles(n: usize) -> Vec<Complex<f32>> {
    (0..n / 2)
        .map(|k| {
            let t = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
            Complex::new(t.cos() as f32, t.sin() as f32)
        })
        .collect()
}

avx2_dispatch! {
    /// Moves each running average `avg[k]` toward `|bins[k]|` by the fraction `a`
    /// (`a = 1`: the average is the new magnitude).
    pub fn average_magnitudes(avg: &mut [f32], bins: &[Complex<f32>], a: f32) = average_body;
}

avx2_dispatch! {
    /// `20·log10(x)` for each value (floored at `1e-12`), within 1e-4 dB: the exponent from
    /// the float's bits, the mantissa's log from an atanh series on [√½, √2). Branch-free, so
    /// the loop vectorizes; `f32::log10` is a library call per value that cost more than the
    /// FFT.
    pub fn to_db(values: &mut [f32]) = to_db_body;
}

avx2_dispatch! {
    /// The index and value of the largest of `values` (the first of equals); `(0, f32::MIN)`
    /// when empty. NaNs are never the peak.
    pub fn peak(values: &[f32]) -> (usize, f32) = peak_body;
}

#[inline(always)]
fn window_pack_body(z: &mut [Complex<f32>], x: &[f32], w: &[f32]) {
    for ((c, x), w) in z.iter_mut().zip(x.chunks_exact(2)).zip(w.chunks_exact(2)) {
        *c = Complex::new(x[0] * w[0], x[1] * w[1]);
    }
}

#[inline(always)]
fn window_real_body(z: &mut [Complex<f32>], x: &[f32], w: &[f32]) {
    for ((c, x), w) in z.iter_mut().zip(x).zip(w) {
        *c = Complex::new(x * w, 0.0);
    }
}

#[inline(always)]
fn split_body(
    avg: &mut [f32],
    z: &[Complex<f32>],
    rev: &mut [Complex<f32>],
    tw: &[Complex<f32>],
    a: f32,
) {
    let m = z.len();
    if m == 0 || avg.len() <= m || rev.len() < m || tw.len() < m {
        return;
    }
    // rev[k] = conj(Z[(m − k) mod m]), so the loop below reads both in the same direction.
    rev[0] = z[0].conj();
    for (r, v) in rev[1..m].iter_mut().zip(z[1..].iter().rev()) {
        *r = v.conj();
    }
    // X[k] = ½(A + B) − ½·i·W^k·(A − B), A = Z[k], B = conj(Z[m − k]), W = e^(−2πi/n).
    for (((o, p), q), t) in avg[..m].iter_mut().zip(z).zip(&rev[..m]).zip(&tw[..m]) {
        let (sr, si) = (p.re + q.re, p.im + q.im);
        let (dr, di) = (p.re - q.re, p.im - q.im);
        let (tr, ti) = (t.re * dr - t.im * di, t.re * di + t.im * dr);
        let (re, im) = (0.5 * (sr + ti), 0.5 * (si - tr));
        *o += ((re * re + im * im).sqrt() - *o) * a;
    }
    // The Nyquist bin: X[m] = Re Z[0] − Im Z[0].
    let ny = (z[0].re - z[0].im).abs();
    avg[m] += (ny - avg[m]) * a;
}

#[inline(always)]
fn average_body(avg: &mut [f32], bins: &[Complex<f32>], a: f32) {
    // |c| as sqrt(re² + im²): `norm()` is `hypot`, a library call per bin; magnitudes here
    // are far from overflow.
    for (m, c) in avg.iter_mut().zip(bins) {
        *m += ((c.re * c.re + c.im * c.im).sqrt() - *m) * a;
    }
}

#[inline(always)]
fn to_db_body(values: &mut [f32]) {
    const DB_PER_LN: f32 = 20.0 / std::f32::consts::LN_10;
    for v in values {
        let x = v.max(1e-12);
        let bits = x.to_bits();
        let mut e = ((bits >> 23) & 0xff) as i32 - 127;
        let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
        let big = m > std::f32::consts::SQRT_2;
        m = if big { m * 0.5 } else { m };
        e += big as i32;
        let s = (m - 1.0) / (m + 1.0);
        let s2 = s * s;
        let ln_m = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0))));
        *v = DB_PER_LN * (e as f32 * std::f32::consts::LN_2 + ln_m);
    }
}

#[inline(always)]
fn peak_body(values: &[f32]) -> (usize, f32) {
    // Sixteen independent running maxima (a max per lane, no reduction in the loop), then
    // the first index holding the best.
    const L: usize = 16;
    let mut lanes = [f32::MIN; L];
    let chunks = values.chunks_exact(L);
    let tail = chunks.remainder();
    for c in chunks {
        for (b, &v) in lanes.iter_mut().zip(c) {
            *b = if v > *b { v } else { *b };
        }
    }
    let best = lanes
        .iter()
        .chain(tail)
        .fold(f32::MIN, |b, &v| if v > b { v } else { b });
    let at = values.iter().position(|&v| v == best).unwrap_or(0);
    (at, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_db_matches_log10() {
        let mut xs: Vec<f32> = (0..20_000)
            .map(|i| 10f32.powf(-13.0 + i as f32 * 19.0 / 20_000.0))
            .collect();
        xs.extend([0.0, 1.0, 2.0, 0.5, std::f32::consts::SQRT_2, 1e-12, 3.0e5]);
        let want: Vec<f64> = xs
            .iter()
            .map(|&x| 20.0 * (x.max(1e-12) as f64).log10())
            .collect();
        to_db(&mut xs);
        let worst = xs
            .iter()
            .zip(&want)
            .map(|(&g, &w)| (g as f64 - w).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "worst {worst:e} dB");
    }

    /// The dispatched build and the portable body agree, and both find the first of equal
    /// maxima, over lengths with and without a tail.
    #[test]
    fn peak_finds_the_first_largest() {
        for n in [1usize, 15, 16, 17, 513, 1000] {
            let mut v: Vec<f32> = (0..n).map(|i| ((i * 37) % 101) as f32).collect();
            let want = v.iter().cloned().fold(f32::MIN, f32::max);
            let first = v.iter().position(|&x| x == want).unwrap();
            assert_eq!(peak(&v), (first, want), "n = {n}");
            assert_eq!(peak_body(&v), (first, want), "n = {n}");
            v[n - 1] = f32::NAN;
            assert!(!peak(&v).1.is_nan(), "NaN is never the peak");
        }
        assert_eq!(peak(&[]), (0, f32::MIN));
    }

    /// The split (even sizes) and the full-length path (odd sizes) against a plain DFT in
    /// f64, windowed, relative to the largest magnitude.
    #[test]
    fn real_spectrum_matches_a_plain_dft() {
        use rustfft::FftPlanner;
        for n in [8usize, 10, 16, 30, 1024, 9, 1001] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 97) as f32 / 48.0 - 1.0 + (i as f32 * 0.3).sin())
                .collect();
            let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 5) as f32 * 0.1).collect();
            let bins = n / 2 + 1;
            let want: Vec<f64> = (0..bins)
                .map(|k| {
                    let (mut re, mut im) = (0.0f64, 0.0f64);
                    for i in 0..n {
                        let v = x[i] as f64 * w[i] as f64;
                        let t = -2.0 * std::f64::consts::PI * (k * i) as f64 / n as f64;
                        re += v * t.cos();
                        im += v * t.sin();
                    }
                    (re * re + im * im).sqrt()
                })
                .collect();
            let mut avg = vec![0.0f32; bins];
            let len = if n.is_multiple_of(2) { n / 2 } else { n };
            let fft = FftPlanner::<f32>::new().plan_fft_forward(len);
            let mut z = vec![Complex::new(0.0, 0.0); len];
            if n.is_multiple_of(2) {
                window_pack(&mut z, &x, &w);
                fft.process(&mut z);
                let mut rev = z.clone();
                split_magnitudes(&mut avg, &z, &mut rev, &split_twiddles(n), 1.0);
            } else {
                window_real(&mut z, &x, &w);
                fft.process(&mut z);
                average_magnitudes(&mut avg, &z[..bins], 1.0);
            }
            let peak = want.iter().cloned().fold(0.0, f64::max);
            let worst = avg
                .iter()
                .zip(&want)
                .map(|(&g, &w)| (g as f64 - w).abs() / peak)
                .fold(0.0, f64::max);
            assert!(worst < 1e-5, "n = {n}: relative {worst:e}");
        }
    }

    #[test]
    fn averages_move_by_the_fraction() {
        let bins = [Complex::new(3.0f32, 4.0), Complex::new(0.0, -2.0)];
        let mut avg = [1.0f32, 2.0];
        average_magnitudes(&mut avg, &bins, 1.0);
        assert_eq!(avg, [5.0, 2.0]);
        average_magnitudes(&mut avg, &[Complex::new(0.0, 0.0); 2], 0.5);
        assert_eq!(avg, [2.5, 1.0]);
    }
}
