//! Time stamps in sample time and optional realtime pacing by the injected clock.

use std::sync::Arc;

use framebus_core::clock::Clock;

/// Stamps packets with the time of their first sample and, in realtime mode, waits until the
/// clock reaches the time of their last sample.
pub(crate) struct Pacer {
    clock: Arc<dyn Clock>,
    realtime: bool,
    start_ns: Option<u64>,
    sample_rate: f64,
    samples: u64,
    seq: u64,
}

impl Pacer {
    pub(crate) fn new(clock: Arc<dyn Clock>, sample_rate: f64, realtime: bool) -> Self {
        Self {
            clock,
            realtime,
            start_ns: None,
            sample_rate,
            samples: 0,
            seq: 0,
        }
    }

    /// `(seq, t_ns)` of the next packet of `batch` samples per channel; in realtime mode
    /// returns once the clock has reached the end of the packet.
    pub(crate) fn next(&mut self, batch: usize) -> (u64, u64) {
        let start = *self.start_ns.get_or_insert_with(|| self.clock.now_ns());
        let t = start + (self.samples as f64 * 1e9 / self.sample_rate) as u64;
        self.samples += batch as u64;
        if self.realtime {
            let end = start + (self.samples as f64 * 1e9 / self.sample_rate) as u64;
            self.clock.sleep_until(end);
        }
        self.seq += 1;
        (self.seq, t)
    }
}
