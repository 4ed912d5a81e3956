//! The calling thread's CPU time, for benchmarks of work that stays on one thread: on a
//! machine busy with other processes it leaves out the time this thread waited for a core
//! (wall time would count it), and on an idle machine it equals wall time.

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// A point in this thread's CPU time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuInstant(Duration);

impl CpuInstant {
    /// Now, in this thread's CPU time.
    pub(crate) fn now() -> Self {
        let t = clock_gettime(ClockId::ThreadCPUTime);
        Self(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }

    /// CPU time this thread spent since `self`.
    pub(crate) fn elapsed(&self) -> Duration {
        Self::now().0.saturating_sub(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::CpuInstant;

    /// Work counts; a sleep (time without the CPU) does not.
    #[test]
    fn counts_work_not_waiting() {
        let t0 = CpuInstant::now();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let slept = t0.elapsed();
        let t1 = CpuInstant::now();
        let mut x = 0u64;
        while t1.elapsed() < std::time::Duration::from_millis(5) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        std::hint::black_box(x);
        assert!(slept < std::time::Duration::from_millis(10), "{slept:?}");
        assert!(t1.elapsed() >= std::time::Duration::from_millis(5));
    }
}
