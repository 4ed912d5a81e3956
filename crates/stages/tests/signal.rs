//! Sample stages through the harness: filter response against its design, decimation
//! anti-aliasing, FFT peak of a tone, snapshot_hz limiting, set_params of a filter, and the
//! build-time payload check of configs.

use framebus_core::config::{Config, Format};
use framebus_core::harness::Harness;
use framebus_stages::signal::downsample::Downsample;
use framebus_stages::signal::dsp::{Response, Window, firwin, gain_at};
use framebus_stages::signal::fft::Fft;
use framebus_stages::signal::filter::Filter;
use framebus_stages::signal::gain::Gain;
use framebus_stages::signal::shapes::{Spectrum, TimeSeries};
use framebus_stages::signal::stats::Stats;
use framebus_stages::signal::to_voltage::ToVoltage;
use serde_json::json;

const RATE: f64 = 1_000_000.0;

fn tone(freq: f64, amp: f64, start: usize, n: usize, rate: f64) -> Vec<f32> {
    (start..start + n)
        .map(|i| (amp * (std::f64::consts::TAU * freq * i as f64 / rate).sin()) as f32)
        .collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Runs `packets` packets of a tone through a harness and returns the RMS of the last output.
fn tone_through(h: &mut Harness, freq: f64, packets: usize, batch: usize) -> f64 {
    for k in 0..packets {
        let p = h.packet(RATE, 1, &tone(freq, 1.0, k * batch, batch, RATE));
        h.process_packet_raw(p);
    }
    rms(&h.last_packet().unwrap().data)
}

#[test]
fn lowpass_design_meets_its_stopband() {
    let mut h = vec![0.0; 64];
    firwin(
        &mut h,
        Response::Lowpass,
        20_000.0,
        0.0,
        Window::Hamming,
        RATE,
    )
    .unwrap();
    let h: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    assert!((gain_at(&h, 0.0, RATE) - 1.0).abs() < 1e-6, "unit DC gain");
    // Hamming: first sidelobe ≈ −53 dB; its transition is ≈ 3.3/64 of the rate wide.
    for f in [80_000.0, 100_000.0, 200_000.0, 400_000.0] {
        let db = 20.0 * gain_at(&h, f, RATE).log10();
        assert!(db < -45.0, "{f} Hz: {db:.1} dB");
    }
    assert!(20.0 * gain_at(&h, 5_000.0, RATE).log10() > -0.5);
}

#[test]
fn highpass_bandpass_bandstop_designs() {
    let mut h = vec![0.0; 101];
    firwin(
        &mut h,
        Response::Highpass,
        100_000.0,
        0.0,
        Window::Hamming,
        RATE,
    )
    .unwrap();
    let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    assert!((gain_at(&h32, 500_000.0, RATE) - 1.0).abs() < 1e-4);
    assert!(gain_at(&h32, 10_000.0, RATE) < 0.01);
    firwin(
        &mut h,
        Response::Bandpass,
        100_000.0,
        200_000.0,
        Window::Blackman,
        RATE,
    )
    .unwrap();
    let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    assert!((gain_at(&h32, 150_000.0, RATE) - 1.0).abs() < 0.01);
    assert!(gain_at(&h32, 10_000.0, RATE) < 0.01);
    assert!(gain_at(&h32, 400_000.0, RATE) < 0.01);
    firwin(
        &mut h,
        Response::Bandstop,
        100_000.0,
        200_000.0,
        Window::Hamming,
        RATE,
    )
    .unwrap();
    let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    assert!(gain_at(&h32, 150_000.0, RATE) < 0.01);
    assert!((gain_at(&h32, 0.0, RATE) - 1.0).abs() < 1e-4);
    let mut even = vec![0.0; 64];
    assert!(
        firwin(
            &mut even,
            Response::Highpass,
            1e5,
            0.0,
            Window::Hamming,
            RATE
        )
        .is_err()
    );
    assert!(
        firwin(
            &mut even,
            Response::Lowpass,
            6e5,
            0.0,
            Window::Hamming,
            RATE
        )
        .is_err()
    );
}

#[test]
fn filter_stage_passes_the_passband_and_removes_the_stopband() {
    let params = json!({"taps": 64, "cutoff_hz": 20000});
    let mut h = Harness::builder()
        .stage::<Filter>("lp", params.clone())
        .build()
        .unwrap();
    let pass = tone_through(&mut h, 5_000.0, 4, 4096);
    // The output level is the design's gain at 5 kHz (the transition starts early at 64 taps).
    let mut d = vec![0.0; 64];
    firwin(
        &mut d,
        Response::Lowpass,
        20_000.0,
        0.0,
        Window::Hamming,
        RATE,
    )
    .unwrap();
    let d: Vec<f32> = d.iter().map(|&v| v as f32).collect();
    let want = gain_at(&d, 5_000.0, RATE) * std::f64::consts::FRAC_1_SQRT_2;
    assert!((pass - want).abs() < 2e-3, "{pass} vs {want}");
    let mut h = Harness::builder()
        .stage::<Filter>("lp", params)
        .build()
        .unwrap();
    let stop = tone_through(&mut h, 200_000.0, 4, 4096);
    assert!(stop < 0.005, "200 kHz leaks {stop}");
}

#[test]
fn filter_set_params_applies_between_packets_and_bad_values_change_nothing() {
    let mut h = Harness::builder()
        .stage::<Filter>("lp", json!({"taps": 63, "cutoff_hz": 20000}))
        .build()
        .unwrap();
    let before = tone_through(&mut h, 150_000.0, 3, 4096);
    assert!(before < 0.01);
    let r = h.command(
        "lp",
        "set_params",
        json!({"response": "highpass", "cutoff_hz": 100000}),
    );
    assert!(r.is_ok(), "{r:?}");
    let after = tone_through(&mut h, 150_000.0, 3, 4096);
    assert!(
        (after - std::f64::consts::FRAC_1_SQRT_2).abs() < 0.02,
        "{after}"
    );
    // Even taps cannot pass Nyquist: refused, and the highpass stays in force.
    let r = h.command("lp", "set_params", json!({"taps": 64}));
    assert!(r.is_err());
    assert_eq!(
        h.command("lp", "get_params", json!({})).unwrap().result["taps"],
        63
    );
    let still = tone_through(&mut h, 150_000.0, 2, 4096);
    assert!((still - after).abs() < 0.01);
}

#[test]
fn downsample_keeps_the_band_and_rejects_what_would_alias() {
    let build = || {
        Harness::builder()
            .stage::<Downsample>("ds", json!({"factor": 16, "taps": 64}))
            .build()
            .unwrap()
    };
    let mut h = build();
    let pass = tone_through(&mut h, 5_000.0, 4, 16384);
    let out = h.last_packet().unwrap();
    assert_eq!(out.header.batch_size, 1024);
    assert_eq!(out.header.sample_rate, 62_500.0);
    assert!(
        (pass - std::f64::consts::FRAC_1_SQRT_2).abs() < 0.02,
        "{pass}"
    );
    // 150 kHz would fold onto 25 kHz after ÷16 without the anti-aliasing filter.
    let mut h = build();
    let alias = tone_through(&mut h, 150_000.0, 4, 16384);
    assert!(alias < 0.005, "alias {alias}");
    // A batch that is not a multiple of the factor carries its phase to the next packet.
    let mut h = build();
    let mut total = 0;
    for k in 0..10 {
        let p = h.packet(RATE, 1, &tone(5_000.0, 1.0, k * 1000, 1000, RATE));
        h.process_packet_raw(p);
        total += h.last_packet().unwrap().header.batch_size;
    }
    assert_eq!(total, 10_000usize.div_ceil(16));
}

#[test]
fn fft_finds_a_tone_within_one_bin() {
    let rate = 62_500.0;
    let mut h = Harness::builder()
        .stage::<Fft>(
            "fft",
            json!({"size": 1024, "window": "hann", "overlap": 0.5}),
        )
        .build()
        .unwrap();
    let f0 = 10_123.0;
    let mut snap = None;
    for k in 0..4 {
        let p = h.packet(rate, 1, &tone(f0, 0.5, k * 1024, 1024, rate));
        snap = h.process_packet(p);
    }
    let s: &Spectrum = h.result("fft").unwrap();
    let df = rate / 1024.0;
    assert_eq!(s.values.len(), 513);
    assert!((s.peak_hz - f0).abs() <= df, "peak {} vs {f0}", s.peak_hz);
    // Amplitude 0.5 is −6 dB; Hann scalloping costs at most 1.42 dB.
    assert!(s.peak < -6.0 + 0.1 && s.peak > -6.0 - 1.5, "{}", s.peak);
    let snap = snap.unwrap();
    assert_eq!(snap["results"]["fft"]["shape"], "spectrum");
    assert!((snap["signals"]["fft.peak_hz"].as_f64().unwrap() - f0).abs() <= df);
    let out = h.last_packet().unwrap();
    assert_eq!(out.header.batch_size, 513);
}

#[test]
fn chain_to_voltage_gain_stats() {
    let mut h = Harness::builder()
        .stage::<ToVoltage>("to_voltage", json!({"bits": 12, "reference": 2.048}))
        .stage::<Gain>("gain", json!({"gain": 6.0206, "db": true}))
        .stage::<Stats>("stats", json!({"points": 100, "decimate": 10}))
        .build()
        .unwrap();
    let counts: Vec<f32> = (0..2000)
        .map(|i| if i % 2 == 0 { 1000.0 } else { -500.0 })
        .collect();
    let p = h.packet(1000.0, 1, &counts);
    let snap = h.process_packet(p).unwrap();
    // 1000 counts = 1.0 V, ×2 = 2.0 V; −500 counts → −1.0 V.
    let sig = &snap["signals"];
    assert!((sig["stats.max"].as_f64().unwrap() - 2.0).abs() < 1e-3);
    assert!((sig["stats.min"].as_f64().unwrap() + 1.0).abs() < 1e-3);
    assert!((sig["stats.mean"].as_f64().unwrap() - 0.5).abs() < 1e-3);
    assert!((sig["stats.rms"].as_f64().unwrap() - 2.5f64.sqrt()).abs() < 1e-3);
    assert!((sig["stats.peak"].as_f64().unwrap() - 2.0).abs() < 1e-3);
    let ts: &TimeSeries = h.result("stats").unwrap();
    assert_eq!(ts.values.len(), 100);
    assert!((ts.dt_s - 0.01).abs() < 1e-12);
    assert_eq!(snap["results"]["stats"]["shape"], "time_series");
    assert_eq!(snap["packet"]["batch_size"], 2000);
}

#[test]
fn snapshot_hz_limits_snapshots_in_packet_time_but_every_packet_is_processed() {
    let mut h = Harness::builder()
        .stage::<Stats>("stats", json!({}))
        .snapshot_hz(30.0)
        .build()
        .unwrap();
    let data = vec![0.25f32; 1000];
    let mut published = 0;
    // 1000 packets of 1 ms each: one second of packet time.
    for _ in 0..1000 {
        let p = h.packet(RATE, 1, &data);
        published += usize::from(h.process_packet_raw(p));
    }
    assert_eq!(h.pipeline().processed(), 1000);
    assert_eq!(published, 30);
    assert_eq!(h.pipeline().published(), 30);
}

fn config_error(text: &str) -> framebus_core::config::ConfigError {
    framebus_media::link();
    framebus_stages::link();
    Config::parse(text, Format::Toml, "t.toml").unwrap_err()
}

#[test]
fn a_sample_stage_after_a_camera_is_refused_with_its_line() {
    let e = config_error(
        "[[sources]]\nid = \"camera_0\"\nkind = \"synthetic_rider\"\n\n[[stages]]\nplugin = \"blob_detection\"\n\n[[stages]]\nplugin = \"fft\"\n",
    );
    assert_eq!(e.line, Some(9), "{e}");
    assert!(
        e.message
            .contains("stage `fft` takes samples but `blob_detection` gives frames"),
        "{e}"
    );
    let e = config_error(
        "[[sources]]\nid = \"camera_0\"\nkind = \"synthetic_rider\"\n\n[[stages]]\nid = \"spec\"\nplugin = \"fft\"\n",
    );
    assert_eq!(e.line, Some(6), "{e}");
    assert!(
        e.message
            .contains("stage `spec` takes samples but `camera_0` gives frames")
    );
}

#[test]
fn a_vision_stage_after_a_sample_source_is_refused_with_its_line() {
    let e = config_error(
        "[[sources]]\nid = \"adc\"\nkind = \"signal_generator\"\n\n[[stages]]\nplugin = \"gain\"\n\n[[stages]]\nplugin = \"blob_detection\"\n",
    );
    assert_eq!(e.line, Some(9), "{e}");
    assert!(
        e.message
            .contains("stage `blob_detection` takes frames but `gain` gives samples"),
        "{e}"
    );
}

#[test]
fn inline_reading_of_a_frame_source_is_refused_with_its_line() {
    let e =
        config_error("[[sources]]\nid = \"camera_0\"\nkind = \"synthetic_rider\"\ninline = true\n");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(
        e.message.contains("only sample sources are read inline"),
        "{e}"
    );
}

#[test]
fn the_sensor_examples_parse() {
    framebus_media::link();
    framebus_stages::link();
    for text in [
        include_str!("../../../examples/sensor.toml"),
        include_str!("../../../examples/sensor_wav.toml"),
    ] {
        Config::parse(text, Format::Toml, "sensor.toml").unwrap();
    }
}

#[test]
fn butterworth_filter_stage_follows_its_design() {
    use framebus_stages::signal::iir::{butterworth, sos_gain_at};
    let mut h = Harness::builder()
        .stage::<Filter>(
            "bw",
            json!({"design": "butterworth", "order": 4, "cutoff_hz": 20000}),
        )
        .build()
        .unwrap();
    let mut sos = Vec::new();
    butterworth(&mut sos, 4, Response::Lowpass, 20_000.0, RATE).unwrap();
    for f in [5_000.0, 40_000.0] {
        h.command("bw", "reset", json!({})).unwrap();
        let got = tone_through(&mut h, f, 4, 4096);
        let want = sos_gain_at(&sos, f, RATE) * std::f64::consts::FRAC_1_SQRT_2;
        assert!((got - want).abs() < 2e-3, "{f} Hz: {got} vs {want}");
    }
    // Butterworth here is low- or highpass only: a bandpass is refused, nothing changes.
    assert!(
        h.command(
            "bw",
            "set_params",
            json!({"response": "bandpass", "cutoff2_hz": 50000.0})
        )
        .is_err()
    );
    assert_eq!(
        h.command("bw", "get_params", json!({})).unwrap().result["response"],
        "lowpass"
    );
}
