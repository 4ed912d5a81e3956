//! Injectable clocks: real monotonic time for running, manual time for tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock in nanoseconds that can also wait.
pub trait Clock: Send + Sync + 'static {
    /// Now, in nanoseconds since the clock's origin.
    fn now_ns(&self) -> u64;
    /// Waits until `t_ns` (returns at once when it is past).
    fn sleep_until(&self, t_ns: u64);
    /// Waits until about `t_ns` without spending CPU on precision: it may return somewhat
    /// before or after it. For waits whose end only needs to be near, such as when to start
    /// preparing work that is due later. The default waits exactly ([`Clock::sleep_until`]).
    fn nap_until(&self, t_ns: u64) {
        self.sleep_until(t_ns);
    }
}

/// Real time from [`Instant`].
#[derive(Debug)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
    /// Sleeps until [`WAKE_EARLY_NS`] before `t_ns`, then spins on the clock until it is
    /// there: a sleep alone returns 50–150 µs late on a virtual machine (timer slack and
    /// wake-up), which paced sources would add to every packet's latency. The spin costs at
    /// most that margin per wait (about 1 % of a core at 60 waits a second). It does not
    /// yield: when another thread is runnable, a yield hands it the core until the next
    /// scheduler tick (4 ms here), which is what the sensor generator's pacing p99 was.
    fn sleep_until(&self, t_ns: u64) {
        self.nap_until(t_ns);
        while self.now_ns() < t_ns {
            std::hint::spin_loop();
        }
    }
    /// The sleep of [`MonotonicClock::sleep_until`] without its spin: returns up to
    /// [`WAKE_EARLY_NS`] early (at once for a nearer `t_ns`), or late by the wake-up.
    fn nap_until(&self, t_ns: u64) {
        let now = self.now_ns();
        if t_ns > now + WAKE_EARLY_NS {
            std::thread::sleep(Duration::from_nanos(t_ns - now - WAKE_EARLY_NS));
        }
    }
}

/// How long before its deadline [`MonotonicClock::sleep_until`] stops sleeping and polls.
pub const WAKE_EARLY_NS: u64 = 200_000;

/// A clock that only moves when told to; `sleep_until` jumps to the target at once, so
/// paced sources run as fast as the machine allows with exact timestamps.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `ns`.
    pub fn advance(&self, ns: u64) {
        self.now.fetch_add(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
    fn sleep_until(&self, t_ns: u64) {
        self.now.fetch_max(t_ns, Ordering::SeqCst);
    }
}
