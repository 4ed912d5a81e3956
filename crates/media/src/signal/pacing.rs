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

    /// In realtime mode, naps ([`Clock::nap_until`]) until half a packet of `batch` samples
    /// before the next packet is due; a source that computes its samples calls it first.
    /// Filling right after the previous packet left would take a core at the moment that
    /// packet's pipeline, or the thread reading its snapshot, needs one (on two cores: a
    /// few hundred µs on a packet's latency in one packet of five). Not before the first
    /// packet, whose time starts the clock.
    pub(crate) fn nap_before_fill(&self, batch: usize) {
        let Some(start) = self.start_ns.filter(|_| self.realtime) else {
            return;
        };
        let end = self.time_of(start, self.samples + batch as u64);
        let half = (batch as f64 * 0.5e9 / self.sample_rate) as u64;
        self.clock.nap_until(end.saturating_sub(half));
    }

    /// The clock's time of sample number `samples` when sample 0 was at `start`.
    fn time_of(&self, start: u64, samples: u64) -> u64 {
        start + (samples as f64 * 1e9 / self.sample_rate) as u64
    }

    /// `(seq, t_ns)` of the next packet of `batch` samples per channel; in realtime mode
    /// returns once the clock has reached the end of the packet.
    pub(crate) fn next(&mut self, batch: usize) -> (u64, u64) {
        let start = *self.start_ns.get_or_insert_with(|| self.clock.now_ns());
        let t = self.time_of(start, self.samples);
        self.samples += batch as u64;
        if self.realtime {
            self.clock.sleep_until(self.time_of(start, self.samples));
        }
        self.seq += 1;
        (self.seq, t)
    }
}
