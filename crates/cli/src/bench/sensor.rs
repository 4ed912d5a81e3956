//! Sensor pipelines (seed 001), all on one core (the `Harness` runs the runtime's pipeline
//! on the calling thread; the packet copy a source would make is included):
//! - the chain GNU Radio runs in `bench/sensor_gnuradio.py` (`to_voltage` → `gain` → 64-tap
//!   `filter` → `downsample` ÷16 with 64 taps → 1024-point `fft`, no overlap), input
//!   samples/s, goal ≥ 150 MS/s; and `examples/sensor.toml`'s chain (adds `stats`, the FFT
//!   with 50 % overlap and averaging 4);
//! - the 64-tap FIR kernel alone on a cache-resident batch (4096 samples), multiply-adds/s,
//!   beside GNU Radio 3.7's 3.4 GMAC/s the issue records; goal ≥ 24 GMAC/s;
//! - a 1024-point windowed real FFT frame through the `fft` stage (magnitudes in dB, peak),
//!   goal ≤ 2 µs;
//! - the runtime's overhead per stage per packet: 10 no-op sample stages minus none, over
//!   1-sample packets (today's figure in the issue: 160 ns; goal ≤ 30 ns);
//! - heap allocations per packet through the example chain (needs `--features bench-alloc`);
//! - the latency from an FFT frame's last sample to a real WebSocket client ([`super::sensor_ws`]).
//!
//! Times are this thread's CPU time ([`CpuInstant`]): other processes on a busy machine do
//! not count, and on an idle one it is wall time.
//!
//! GNU Radio's own figures on this machine come from `bash bench/compare.sh --only sensor`.

use std::hint::black_box;

use framebus_core::harness::Harness;
use framebus_stages::signal::dsp::{Fir, Response, Window, firwin};
use serde_json::{Value, json};

use super::cpu_time::CpuInstant;
use super::fixtures::NoopSamples;
use super::{Row, Scale, alloc};

const RATE: f64 = 1_000_000.0;
/// Samples per packet of the chains (as `examples/sensor.toml`).
const BATCH: usize = 16_384;

/// 12-bit counts: 10 kHz and 200 kHz tones plus a little deterministic noise.
fn signal(n: usize) -> Vec<f32> {
    let mut seed = 1u32;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f64 / (1u32 << 24) as f64 - 0.5;
            let x = 0.5 * (std::f64::consts::TAU * 10e3 * t).sin()
                + 0.25 * (std::f64::consts::TAU * 200e3 * t).sin()
                + 0.02 * noise;
            (x * 2048.0).round().clamp(-2048.0, 2047.0) as f32
        })
        .collect()
}

fn chain(example: bool) -> anyhow::Result<Harness> {
    framebus_stages::link();
    let mut b = Harness::builder()
        .plugin(
            "to_voltage",
            "to_voltage",
            json!({"bits": 12, "reference": 3.3}),
        )
        .plugin("gain", "gain", json!({"gain": 6.0, "db": true}))
        .plugin(
            "filter",
            "filter",
            json!({"response": "lowpass", "taps": 64, "cutoff_hz": 20000, "window": "hamming"}),
        )
        .plugin(
            "downsample",
            "downsample",
            json!({"factor": 16, "taps": 64}),
        );
    let fft: Value = if example {
        b = b.plugin("stats", "stats", json!({"points": 512}));
        json!({"size": 1024, "window": "hann", "overlap": 0.5, "averaging": 4})
    } else {
        json!({"size": 1024, "window": "hann", "overlap": 0.0, "averaging": 1})
    };
    b.plugin("fft", "fft", fft)
        .snapshot_hz(30.0)
        .build()
        .map_err(anyhow::Error::msg)
}

/// Input samples per second through a chain; with the allocations per packet counted.
fn chain_rate(example: bool, samples: usize) -> anyhow::Result<(f64, Option<f64>)> {
    let mut h = chain(example)?;
    let input = signal(BATCH * 64);
    let blocks: Vec<&[f32]> = input.chunks_exact(BATCH).collect();
    for b in blocks.iter().take(16) {
        let p = h.packet(RATE, 1, b);
        h.process_packet_raw(p);
    }
    let packets = samples / BATCH;
    let a0 = alloc::count();
    let t0 = CpuInstant::now();
    for i in 0..packets {
        let p = h.packet(RATE, 1, blocks[i % blocks.len()]);
        black_box(h.process_packet_raw(p));
    }
    let dt = t0.elapsed().as_secs_f64();
    let allocs = alloc::count()
        .zip(a0)
        .map(|(a, b)| (a - b) as f64 / packets as f64);
    Ok(((packets * BATCH) as f64 / dt, allocs))
}

/// Multiply-adds per second of the 64-tap FIR kernel on 4096-sample batches.
fn fir_rate(batches: usize) -> f64 {
    let mut h = [0.0f64; 64];
    firwin(&mut h, Response::Lowpass, 20e3, 0.0, Window::Hamming, RATE).expect("valid design");
    let taps: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    let mut fir = Fir::default();
    fir.set_taps(&taps);
    let src = signal(4096);
    let mut buf = src.clone();
    for _ in 0..100 {
        buf.copy_from_slice(&src);
        fir.process(&mut buf, 1);
    }
    let t0 = CpuInstant::now();
    for _ in 0..batches {
        fir.process(black_box(&mut buf), 1);
    }
    let dt = t0.elapsed().as_secs_f64();
    black_box(&buf);
    (batches * 4096 * 64) as f64 / dt
}

/// Microseconds per 1024-point FFT frame through the `fft` stage and the runtime (a packet
/// in, snapshots at 30 Hz of stream time: the spectrum is serialized every 32nd frame), and
/// for a bare real FFT of the same size (`realfft`) as the baseline.
fn fft_us(frames: usize) -> anyhow::Result<(f64, f64)> {
    framebus_stages::link();
    let mut h = Harness::builder()
        .plugin(
            "fft",
            "fft",
            json!({"size": 1024, "window": "hann", "overlap": 0.0, "averaging": 1}),
        )
        .snapshot_hz(30.0)
        .build()
        .map_err(anyhow::Error::msg)?;
    let x = signal(1024);
    for _ in 0..100 {
        let p = h.packet(RATE, 1, &x);
        h.process_packet_raw(p);
    }
    let t0 = CpuInstant::now();
    for _ in 0..frames {
        let p = h.packet(RATE, 1, &x);
        black_box(h.process_packet_raw(p));
    }
    let through = t0.elapsed().as_secs_f64() / frames as f64 * 1e6;

    let plan = realfft::RealFftPlanner::<f32>::new().plan_fft_forward(1024);
    let (mut input, mut out, mut scratch) = (
        plan.make_input_vec(),
        plan.make_output_vec(),
        plan.make_scratch_vec(),
    );
    let t0 = CpuInstant::now();
    for _ in 0..frames {
        input.copy_from_slice(&x);
        plan.process_with_scratch(black_box(&mut input), &mut out, &mut scratch)?;
        black_box(&out);
    }
    let bare = t0.elapsed().as_secs_f64() / frames as f64 * 1e6;
    Ok((through, bare))
}

/// Seconds per 1-sample packet through `stages` no-op sample stages.
fn noop_packets(stages: usize, packets: usize) -> anyhow::Result<f64> {
    let mut b = Harness::builder();
    for i in 0..stages {
        b = b.stage::<NoopSamples>(&format!("noop_{i}"), json!({}));
    }
    let mut h = b.snapshot_hz(30.0).build().map_err(anyhow::Error::msg)?;
    let x = [1.0f32];
    for _ in 0..1000 {
        let p = h.packet(RATE, 1, &x);
        h.process_packet_raw(p);
    }
    let t0 = CpuInstant::now();
    for _ in 0..packets {
        let p = h.packet(RATE, 1, &x);
        black_box(h.process_packet_raw(p));
    }
    Ok(t0.elapsed().as_secs_f64() / packets as f64)
}

/// Runs the sensor benchmarks.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let samples = scale.pick(20_000_000, 100_000_000);
    // The fastest of three rounds: the rest of the machine only ever adds time.
    let (mut gr_chain, mut ex_chain, mut allocs) = (0.0f64, 0.0f64, None);
    let (mut fir, mut n0, mut n10) = (0.0f64, f64::MAX, f64::MAX);
    let (mut fft, mut bare_fft) = (f64::MAX, f64::MAX);
    let noop = scale.pick(200_000, 1_000_000);
    for _ in 0..3 {
        gr_chain = gr_chain.max(chain_rate(false, samples / 3)?.0);
        let (r, a) = chain_rate(true, samples / 3)?;
        ex_chain = ex_chain.max(r);
        if let Some(x) = a {
            allocs = Some(allocs.map_or(x, |y: f64| y.max(x)));
        }
        fir = fir.max(fir_rate(scale.pick(2_000, 10_000)));
        let (through, bare) = fft_us(scale.pick(20_000, 100_000))?;
        fft = fft.min(through);
        bare_fft = bare_fft.min(bare);
        n0 = n0.min(noop_packets(0, noop / 3)?);
        n10 = n10.min(noop_packets(10, noop / 3)?);
    }
    let mut rows = vec![
        Row::new(
            "sensor",
            "chain as GNU Radio's, input samples/s, 1 core (goal ≥ 150)",
            gr_chain / 1e6,
            "MS/s",
        ),
        Row::new(
            "sensor",
            "examples/sensor.toml chain (+stats, FFT overlap/avg), 1 core",
            ex_chain / 1e6,
            "MS/s",
        ),
        Row::new(
            "sensor",
            "64-tap FIR, 4096-sample batches (goal ≥ 24)",
            fir / 1e9,
            "GMAC/s",
        )
        .vs("GNU Radio 3.7 (issue)", 3.4),
        Row::new(
            "sensor",
            "1024-point windowed FFT + dB + peak per frame, fft stage in the runtime (goal ≤ 2)",
            fft,
            "µs",
        )
        .vs("a bare real FFT (realfft)", bare_fft),
        Row::new(
            "sensor",
            "overhead per stage per packet (goal ≤ 30)",
            ((n10 - n0) / 10.0 * 1e9).max(0.0),
            "ns",
        )
        .vs("before (issue)", 160.0),
        Row::new(
            "sensor",
            "per packet, no stages (bookkeeping)",
            n0 * 1e9,
            "ns",
        ),
    ];
    rows.push(match allocs {
        Some(a) => Row::new(
            "sensor",
            "allocations per packet, example chain",
            a,
            "allocs",
        ),
        None => Row::new(
            "sensor",
            "allocations per packet: not counted (build with --features bench-alloc)",
            0.0,
            "allocs",
        ),
    });
    rows.extend(super::sensor_ws::run(scale.pick(3.0, 10.0))?);
    Ok(rows)
}
