//! The clock inline stage timings are read from: the CPU's time-stamp counter through
//! `quanta` (a few nanoseconds a read, against about 20 for `Instant::now` through the vDSO),
//! which falls back to the OS's monotonic clock where the TSC is not invariant. Readings are
//! raw counter values; only their differences are turned into nanoseconds.

use std::sync::LazyLock;

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// The process-wide timing clock (calibrated on first use; pipelines touch it when built so
/// the first frame does not pay for the calibration).
pub(crate) fn clock() -> &'static quanta::Clock {
    &CLOCK
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    /// Raw readings turn into the nanoseconds the OS clock sees (same order, within 10 %
    /// plus a millisecond over a 20 ms span of real work).
    #[test]
    fn raw_differences_are_nanoseconds() {
        let c = super::clock();
        let (r0, i0) = (c.raw(), Instant::now());
        let mut x = 0u64;
        while i0.elapsed() < Duration::from_millis(20) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let (r1, i1) = (c.raw(), Instant::now());
        std::hint::black_box(x);
        let ours = c.delta_as_nanos(r0, r1) as f64;
        let os = i1.duration_since(i0).as_nanos() as f64;
        assert!(
            (ours - os).abs() < os * 0.1 + 1e6,
            "tsc {ours} ns, os {os} ns"
        );
    }
}
