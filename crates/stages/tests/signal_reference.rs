//! Numerics against numpy/scipy references committed as a fixture
//! (`tests/data/signal_reference.json`, made by `tests/data/make_signal_reference.py`):
//! FIR designs like `scipy.signal.firwin` within 1e-6, filtering within 1e-5, decimation,
//! and FFT magnitudes within 1e-5 of `numpy.fft.rfft` relative to the spectrum's peak.

use framebus_core::harness::Harness;
use framebus_stages::signal::downsample::Downsample;
use framebus_stages::signal::dsp::{Response, Window, firwin};
use framebus_stages::signal::fft::Fft;
use framebus_stages::signal::filter::Filter;
use framebus_stages::signal::shapes::Spectrum;
use serde_json::{Value, json};

fn reference() -> Value {
    serde_json::from_str(include_str!("data/signal_reference.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn fir_designs_match_scipy_firwin() {
    let r = reference();
    let rate = r["rate"].as_f64().unwrap();
    let cases = [
        (
            "lowpass_64_hamming",
            Response::Lowpass,
            20e3,
            0.0,
            Window::Hamming,
        ),
        (
            "highpass_101_hamming",
            Response::Highpass,
            100e3,
            0.0,
            Window::Hamming,
        ),
        (
            "bandpass_101_blackman",
            Response::Bandpass,
            100e3,
            200e3,
            Window::Blackman,
        ),
        (
            "bandstop_101_hann",
            Response::Bandstop,
            100e3,
            200e3,
            Window::Hann,
        ),
    ];
    for (name, resp, f1, f2, win) in cases {
        let want = floats(&r["designs"][name]);
        let mut h = vec![0.0; want.len()];
        firwin(&mut h, resp, f1, f2, win, rate).unwrap();
        let e = max_err(&h, &want);
        assert!(e < 1e-6, "{name}: {e:e}");
    }
}

#[test]
fn filtering_matches_scipy_lfilter() {
    let r = reference();
    let rate = r["rate"].as_f64().unwrap();
    let x: Vec<f32> = floats(&r["input"]).iter().map(|&v| v as f32).collect();
    let want = floats(&r["lowpass_output"]);
    let mut h = Harness::builder()
        .stage::<Filter>(
            "lp",
            json!({"taps": 64, "cutoff_hz": 20000, "window": "hamming"}),
        )
        .build()
        .unwrap();
    // Four packets of 1024: the history carries across packets.
    let mut got = Vec::new();
    for chunk in x.chunks(1024) {
        let p = h.packet(rate, 1, chunk);
        h.process_packet_raw(p);
        got.extend(h.last_packet().unwrap().data.iter().map(|&v| v as f64));
    }
    let e = max_err(&got, &want);
    assert!(e < 1e-5, "{e:e}");
}

#[test]
fn decimation_matches_scipy() {
    let r = reference();
    let rate = r["rate"].as_f64().unwrap();
    let x: Vec<f32> = floats(&r["input"]).iter().map(|&v| v as f32).collect();
    let want = floats(&r["decimate_16_output"]);
    let mut h = Harness::builder()
        .stage::<Downsample>("ds", json!({"factor": 16, "taps": 64, "cutoff": 0.8}))
        .build()
        .unwrap();
    let mut got = Vec::new();
    // 1000-sample packets: not a multiple of 16, so the phase must carry over.
    for chunk in x.chunks(1000) {
        let p = h.packet(rate, 1, chunk);
        h.process_packet_raw(p);
        got.extend(h.last_packet().unwrap().data.iter().map(|&v| v as f64));
    }
    let e = max_err(&got, &want);
    assert!(e < 1e-5, "{e:e}");
}

#[test]
fn fft_magnitudes_match_numpy_rfft() {
    let r = reference();
    let x: Vec<f32> = floats(&r["fft_input"]).iter().map(|&v| v as f32).collect();
    let want = floats(&r["fft_hann_magnitude"]);
    let mut h = Harness::builder()
        .stage::<Fft>(
            "fft",
            json!({"size": 1024, "window": "hann", "overlap": 0.0, "db": false}),
        )
        .build()
        .unwrap();
    let p = h.packet(62_500.0, 1, &x);
    h.process_packet_raw(p);
    let s: &Spectrum = h.result("fft").unwrap();
    let got: Vec<f64> = s.values.iter().map(|&v| v as f64).collect();
    let peak = want.iter().cloned().fold(0.0, f64::max);
    let e = max_err(&got, &want) / peak;
    assert!(e < 1e-5, "relative {e:e}");
}

#[test]
fn butterworth_matches_scipy_butter_sos() {
    use framebus_stages::signal::iir::{butterworth, sos_gain_at};
    let r: Value = serde_json::from_str(include_str!("data/butter_reference.json")).unwrap();
    let cases = [
        ("lp4_20k", 4, Response::Lowpass, 20e3),
        ("lp5_20k", 5, Response::Lowpass, 20e3),
        ("hp3_100k", 3, Response::Highpass, 100e3),
    ];
    for (name, order, resp, fc) in cases {
        let mut sos = Vec::new();
        butterworth(&mut sos, order, resp, fc, 1e6).unwrap();
        let want: Vec<Vec<f64>> = r[name]["sos"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        assert_eq!(sos.len(), want.len(), "{name}");
        // scipy puts the whole gain in the first section; the poles (a1, a2) must agree.
        let mut mine: Vec<(f64, f64)> = sos.iter().map(|s| (s[3], s[4])).collect();
        let mut theirs: Vec<(f64, f64)> = want.iter().map(|s| (s[4], s[5])).collect();
        mine.sort_by(|a, b| a.partial_cmp(b).unwrap());
        theirs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for (m, t) in mine.iter().zip(&theirs) {
            assert!(
                (m.0 - t.0).abs() < 1e-6 && (m.1 - t.1).abs() < 1e-6,
                "{name}: {m:?} vs {t:?}"
            );
        }
        for (f, g) in floats(&r[name]["freqs"])
            .iter()
            .zip(floats(&r[name]["gain"]))
        {
            let mine = sos_gain_at(&sos, *f, 1e6);
            assert!((mine - g).abs() < 1e-6, "{name} at {f} Hz: {mine} vs {g}");
        }
    }
}
