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

/// CPU time (user + system) of this whole process (`CLOCK_PROCESS_CPUTIME_ID`, in
/// nanoseconds) and of its waited-for children (from `/proc/self/stat`, in the kernel's fixed
/// 1/100 s ticks): for work spread over threads this process does not own (GStreamer's
/// streaming threads) and for child processes (ffmpeg, gst-launch), which `CpuInstant` cannot
/// see.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessCpu {
    /// This process, all its threads.
    pub(crate) own: Duration,
    /// Children that have exited and been waited for.
    pub(crate) children: Duration,
}

impl ProcessCpu {
    /// Now; `None` where `/proc` cannot be read.
    pub(crate) fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces) in parentheses: state is
        // field 3; utime, stime, cutime, cstime are fields 14 to 17.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let f: Vec<u64> = rest
            .split(' ')
            .skip(11)
            .take(4)
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        let ticks = |t: u64| Duration::from_millis(t * 10);
        let own = clock_gettime(ClockId::ProcessCPUTime);
        (f.len() == 4).then(|| Self {
            own: Duration::new(own.tv_sec as u64, own.tv_nsec as u32),
            children: ticks(f[2] + f[3]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{CpuInstant, ProcessCpu};

    /// A child that works shows up in `children`; this process's work in `own`.
    #[test]
    fn process_and_children_cpu_time_grow_with_work() {
        let before = ProcessCpu::now().unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let t = CpuInstant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        std::hint::black_box(x);
        let after = ProcessCpu::now().unwrap();
        assert!(after.children > before.children, "{before:?} {after:?}");
        assert!(after.own >= before.own + std::time::Duration::from_millis(30));
    }

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
