//! Zero heap allocations per packet in steady state: the generator and the whole sensor chain
//! (to_voltage → gain → filter → downsample → stats → fft, snapshot written for every
//! packet), and again right after a `set_params` that keeps the sizes.

use std::alloc::System;
use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::harness::Harness;
use framebus_core::source::{Source, SourceInit};
use framebus_media::signal::{SignalGenerator, SignalGeneratorParams};
use framebus_stages::signal::{downsample, fft, filter, gain, stats, to_voltage};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn sensor_chain_allocates_nothing_per_packet() {
    let init = SourceInit::standalone("adc_0", Arc::new(ManualClock::new()));
    let mut src = SignalGenerator::new(
        SignalGeneratorParams {
            realtime: false,
            ..Default::default()
        },
        &init,
    )
    .unwrap();
    let mut h = Harness::builder()
        .stage::<to_voltage::ToVoltage>("to_voltage", json!({"bits": 12, "reference": 3.3}))
        .stage::<gain::Gain>("gain", json!({"gain": 6.0, "db": true}))
        .stage::<filter::Filter>("filter", json!({"taps": 64, "cutoff_hz": 20000}))
        .stage::<downsample::Downsample>("downsample", json!({"factor": 16, "taps": 64}))
        .stage::<stats::Stats>("stats", json!({"points": 512}))
        .stage::<fft::Fft>("fft", json!({"size": 1024, "overlap": 0.5, "averaging": 4}))
        .build()
        .unwrap();
    let mut run = |h: &mut Harness, n: usize| {
        let mut published = 0;
        for _ in 0..n {
            let p = src.next_packet().unwrap().unwrap();
            published += usize::from(h.process_packet_raw(p));
        }
        published
    };
    run(&mut h, 30);
    let region = Region::new(GLOBAL);
    let published = run(&mut h, 200);
    let s = region.change();
    assert_eq!(published, 200, "no snapshot_hz: one snapshot per packet");
    assert_eq!(
        s.allocations + s.reallocations,
        0,
        "steady state: {s:?} over 200 packets of 16384 samples"
    );
    // The FFT sees the 10 kHz tone of the default generator.
    let peak = h.pipeline().results().to_json("fft").unwrap()["peak_hz"]
        .as_f64()
        .unwrap();
    assert!((peak - 10_000.0).abs() <= 62_500.0 / 1024.0, "{peak}");

    let r = h.command("filter", "set_params", json!({"cutoff_hz": 15000}));
    assert!(r.is_ok(), "{r:?}");
    let region = Region::new(GLOBAL);
    run(&mut h, 100);
    let s = region.change();
    assert_eq!(
        s.allocations + s.reallocations,
        0,
        "after set_params keeping the sizes: {s:?}"
    );
}
