//! Sample sources: the generator is deterministic per seed and quantizes to its bit depth;
//! realtime pacing follows the injected clock; a WAV file round-trips through `wav_file`.

use std::path::PathBuf;
use std::sync::Arc;

use framebus_core::clock::{Clock, ManualClock};
use framebus_core::source::{Source, SourceInit};
use framebus_media::signal::{
    SignalGenerator, SignalGeneratorParams, Steps, WavFile, WavFileParams,
};

fn init(clock: Arc<dyn Clock>, dir: PathBuf) -> SourceInit {
    SourceInit {
        base_dir: dir,
        ..SourceInit::standalone("adc_0", clock)
    }
}

fn samples(p: SignalGeneratorParams, packets: usize) -> Vec<f32> {
    let mut g = SignalGenerator::new(p, &init(Arc::new(ManualClock::new()), ".".into())).unwrap();
    let mut out = Vec::new();
    for _ in 0..packets {
        out.extend_from_slice(&g.next_packet().unwrap().unwrap().data);
    }
    out
}

#[test]
fn generator_is_deterministic_per_seed_and_quantized() {
    let p = SignalGeneratorParams {
        realtime: false,
        batch_size: 1000,
        noise: 0.05,
        ..Default::default()
    };
    let a = samples(p.clone(), 3);
    let b = samples(p.clone(), 3);
    assert_eq!(a, b, "same seed, same samples");
    let c = samples(
        SignalGeneratorParams {
            seed: 2,
            ..p.clone()
        },
        3,
    );
    assert_ne!(a, c, "another seed, other noise");
    assert!(
        a.iter()
            .all(|v| v.fract() == 0.0 && (-2048.0..=2047.0).contains(v))
    );
    let spread = a.iter().cloned().fold(f32::MIN, f32::max);
    assert!(
        spread > 1200.0,
        "0.5 + 0.25 of full scale reach ≈ 1535 counts: {spread}"
    );
}

#[test]
fn generator_tones_steps_and_headers() {
    let p = SignalGeneratorParams {
        realtime: false,
        batch_size: 500,
        sample_rate: 1000.0,
        tones: vec![],
        noise: 0.0,
        bits: 0,
        steps: Some(Steps {
            levels: vec![0.0, 0.5],
            period_s: 0.5,
        }),
        ..Default::default()
    };
    let mut g = SignalGenerator::new(p, &init(Arc::new(ManualClock::new()), ".".into())).unwrap();
    let a = g.next_packet().unwrap().unwrap();
    let b = g.next_packet().unwrap().unwrap();
    assert_eq!((a.header.seq, b.header.seq), (1, 2));
    assert_eq!(b.header.t_ns - a.header.t_ns, 500_000_000);
    assert_eq!(a.header.sample_rate, 1000.0);
    assert!(a.data.iter().all(|&v| v == 0.0));
    assert!(b.data.iter().all(|&v| v == 0.5));
}

#[test]
fn realtime_generator_waits_for_the_clock() {
    let clock = Arc::new(ManualClock::new());
    let p = SignalGeneratorParams {
        realtime: true,
        batch_size: 1000,
        sample_rate: 1_000_000.0,
        ..Default::default()
    };
    let mut g = SignalGenerator::new(p, &init(clock.clone(), ".".into())).unwrap();
    let t0 = clock.now_ns();
    g.next_packet().unwrap().unwrap();
    g.next_packet().unwrap().unwrap();
    // A manual clock's sleep_until advances it to the deadline: two packets = 2 ms.
    assert_eq!(clock.now_ns() - t0, 2_000_000);
}

/// A manual clock that logs its waits: `("nap" | "sleep", target)`.
#[derive(Default)]
struct LoggedClock {
    inner: ManualClock,
    waits: std::sync::Mutex<Vec<(&'static str, u64)>>,
}

impl Clock for LoggedClock {
    fn now_ns(&self) -> u64 {
        self.inner.now_ns()
    }
    fn sleep_until(&self, t_ns: u64) {
        self.waits.lock().unwrap().push(("sleep", t_ns));
        self.inner.sleep_until(t_ns);
    }
    fn nap_until(&self, t_ns: u64) {
        self.waits.lock().unwrap().push(("nap", t_ns));
        self.inner.sleep_until(t_ns);
    }
}

#[test]
fn realtime_generator_fills_half_a_packet_before_it_is_due() {
    let p = SignalGeneratorParams {
        realtime: true,
        batch_size: 1000,
        sample_rate: 1_000_000.0,
        ..Default::default()
    };
    let clock = Arc::new(LoggedClock::default());
    clock.inner.advance(5_000_000);
    let mut g = SignalGenerator::new(p.clone(), &init(clock.clone(), ".".into())).unwrap();
    let mut got = Vec::new();
    for i in 0..3 {
        let packet = g.next_packet().unwrap().unwrap();
        assert_eq!(packet.header.t_ns, 5_000_000 + 1_000_000 * i);
        got.extend_from_slice(&packet.data);
    }
    // The first packet is filled at once (its time starts the clock); each later one after
    // a nap to half a packet (0.5 ms) before it is due, then the exact wait until it is.
    assert_eq!(
        *clock.waits.lock().unwrap(),
        [
            ("sleep", 6_000_000),
            ("nap", 6_500_000),
            ("sleep", 7_000_000),
            ("nap", 7_500_000),
            ("sleep", 8_000_000),
        ]
    );
    // Waiting changes when samples are computed, never which.
    let p = SignalGeneratorParams {
        realtime: false,
        ..p
    };
    assert_eq!(got, samples(p, 3));
}

#[test]
fn wav_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let written: Vec<i16> = (0..3000)
        .map(|i| ((i * 37) % 20000 - 10000) as i16)
        .collect();
    let mut w = hound::WavWriter::create(dir.path().join("t.wav"), spec).unwrap();
    for s in &written {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
    let mut src = WavFile::new(
        WavFileParams {
            path: "t.wav".into(),
            batch_size: 400,
            realtime: false,
            looping: false,
        },
        &init(Arc::new(ManualClock::new()), dir.path().into()),
    )
    .unwrap();
    let mut read = Vec::new();
    let mut seqs = Vec::new();
    while let Some(p) = src.next_packet().unwrap() {
        assert_eq!(p.header.channels, 2);
        assert_eq!(p.header.sample_rate, 8000.0);
        seqs.push(p.header.seq);
        read.extend(p.data.iter().map(|&v| v as i16));
    }
    assert_eq!(read, written);
    // 1500 frames in packets of 400: 400, 400, 400, 300.
    assert_eq!(seqs, vec![1, 2, 3, 4]);
}

#[test]
fn a_missing_or_corrupt_wav_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.wav"), b"RIFF not really").unwrap();
    for name in ["bad.wav", "missing.wav"] {
        let e = WavFile::new(
            WavFileParams {
                path: name.into(),
                ..Default::default()
            },
            &init(Arc::new(ManualClock::new()), dir.path().into()),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains(name), "{e}");
    }
}

#[test]
fn raw_file_reads_interleaved_i16_and_f32() {
    use framebus_media::signal::{RawFile, RawFileParams, RawFormat};
    let dir = tempfile::tempdir().unwrap();
    let ints: Vec<i16> = (0..1001).map(|i| (i * 13 - 6000) as i16).collect();
    let bytes: Vec<u8> = ints.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.path().join("a.raw"), &bytes).unwrap();
    let floats: Vec<f32> = (0..300).map(|i| i as f32 * 0.25 - 10.0).collect();
    let fbytes: Vec<u8> = floats.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.path().join("b.raw"), &fbytes).unwrap();
    let read = |name: &str, format, channels| {
        let mut src = RawFile::new(
            RawFileParams {
                path: name.into(),
                format,
                channels,
                sample_rate: 1000.0,
                batch_size: 128,
                realtime: false,
            },
            &init(Arc::new(ManualClock::new()), dir.path().into()),
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some(p) = src.next_packet().unwrap() {
            assert_eq!(p.header.channels, channels);
            out.extend_from_slice(&p.data);
        }
        out
    };
    // Two channels: 1001 samples make 500 whole frames; the odd one is ignored.
    let got = read("a.raw", RawFormat::I16, 2);
    let want: Vec<f32> = ints[..1000].iter().map(|&v| v as f32).collect();
    assert_eq!(got, want);
    assert_eq!(read("b.raw", RawFormat::F32, 1), floats);
}
