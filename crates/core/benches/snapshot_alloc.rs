//! Snapshot serialization: allocations, bytes and time per frame for a pipeline of three
//! typical stages, counted with `stats_alloc` as the global allocator of this bench binary.
//! The snapshot is written into a buffer reused across frames, so the steady-state count
//! should be zero; this bench prints it (the runtime tests may assert it, times never).
//!
//! Run: `cargo bench -p framebus-core --bench snapshot_alloc`.

mod common;

use std::alloc::System;
use std::time::Instant;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    // `cargo bench` passes `--bench`; a `--quick`-style arg count is not needed here.
    let frames: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut h = common::three_stage_harness();
    let mut empty = framebus_core::harness::Harness::builder()
        .build()
        .expect("empty harness");
    // Warm up: buffers grow to their steady size.
    for _ in 0..1000 {
        common::step(&mut h);
        common::step(&mut empty);
    }
    let mut bytes_out = 0usize;
    let region = Region::new(GLOBAL);
    let t0 = Instant::now();
    for _ in 0..frames {
        bytes_out += common::step(&mut h);
    }
    let dt = t0.elapsed();
    let stats = region.change();
    let t1 = Instant::now();
    for _ in 0..frames {
        bytes_out += common::step(&mut empty);
    }
    let dt_empty = t1.elapsed();
    let n = frames as f64;
    println!("snapshot serialization, 3 stages, {frames} frames after 1000 warm-up frames");
    println!(
        "  allocations per frame: {:.3} ({} allocs, {} reallocs, {} bytes allocated in all)",
        (stats.allocations + stats.reallocations) as f64 / n,
        stats.allocations,
        stats.reallocations,
        stats.bytes_allocated
    );
    println!(
        "  snapshot size:         {} bytes",
        bytes_out / (2 * frames as usize)
    );
    println!(
        "  time per frame:        {:.0} ns (3 stages + snapshot), {:.0} ns with no stages (ratio {:.2})",
        dt.as_nanos() as f64 / n,
        dt_empty.as_nanos() as f64 / n,
        dt.as_nanos() as f64 / dt_empty.as_nanos().max(1) as f64
    );
}
