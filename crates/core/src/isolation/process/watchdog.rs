//! The socket of a live worker, shared between the pipeline thread and an idle watchdog.
//!
//! The pipeline sends frames and commands; while nothing flows (a paused run, a stalled
//! source) the watchdog thread sends a `heartbeat` after [`super::host`]'s idle time and
//! kills a worker that does not answer within `heartbeat_timeout_ms`, leaving a note the
//! pipeline reports (and restarts from) at its next frame or command. Every exchange holds
//! the channel's lock from request to answer, so the two never interleave; the watchdog only
//! tries the lock, so it never delays a frame.
//!
//! A heartbeat not answered in time is not yet a hang: on a loaded machine a live worker may
//! wait long for a CPU. While the worker is runnable or in uninterruptible I/O (`R` or `D`
//! in `/proc/PID/stat`) the wait is extended, up to [`LATE_GRACE`] more timeouts; a worker
//! that sleeps without answering (deadlock), is stopped (SIGSTOP) or gone is hung.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender, bounded};
use framebus_protocol::worker::{HostMessage, WorkerMessage};

use super::wire::{Channel, WireError};

/// A worker's channel with the time of its last exchange and the watchdog's note.
pub(super) struct Link {
    chan: Mutex<Channel>,
    base: Instant,
    last_io_ms: AtomicU64,
    hung: Mutex<Option<String>>,
}

impl Link {
    pub(super) fn new(chan: Channel) -> Arc<Self> {
        Arc::new(Self {
            chan: Mutex::new(chan),
            base: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            hung: Mutex::new(None),
        })
    }

    /// The channel, for one request and its answer.
    pub(super) fn lock(&self) -> MutexGuard<'_, Channel> {
        self.chan.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an exchange now.
    pub(super) fn touch(&self) {
        self.last_io_ms
            .store(self.base.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Time since the last exchange.
    pub(super) fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }

    /// What the watchdog found (the worker is then already killed), once.
    pub(super) fn take_hang(&self) -> Option<String> {
        self.hung.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// A running watchdog; dropping it stops the thread.
pub(super) struct Watchdog {
    _stop: Sender<()>,
}

/// Starts the watchdog of worker `pid` on `link`: a heartbeat after `idle` without an
/// exchange; no answer within `timeout` kills the worker and leaves a note naming `label`.
pub(super) fn watch(
    link: &Arc<Link>,
    pid: u32,
    idle: Duration,
    timeout: Duration,
    label: String,
) -> std::io::Result<Watchdog> {
    let (stop, stopped) = bounded::<()>(0);
    let weak: Weak<Link> = Arc::downgrade(link);
    std::thread::Builder::new()
        .name(format!("watch-{pid}"))
        .spawn(move || {
            // Heartbeat numbers of the watchdog, apart from the pipeline's own.
            let mut n: u64 = 1 << 62;
            loop {
                let wait = weak
                    .upgrade()
                    .map_or(idle, |l| idle.saturating_sub(l.idle_for()));
                match stopped.recv_timeout(wait.max(Duration::from_millis(10))) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let Some(link) = weak.upgrade() else { return };
                if link.idle_for() < idle {
                    continue;
                }
                // Busy with a frame or command: that exchange has its own timeout.
                let Ok(mut ch) = link.chan.try_lock() else {
                    continue;
                };
                n += 1;
                let got = heartbeat(&mut ch, n, timeout, pid);
                link.touch();
                let note = match got {
                    Ok(WorkerMessage::Heartbeat { n: m }) if m == n => continue,
                    // Died while idle: the pipeline finds the EOF and reports how it ended.
                    Err(WireError::Eof) => return,
                    Err(WireError::Timeout(t)) => format!(
                        "{label} hung: no answer to a heartbeat within {} ms while idle \
                         (not running); killed",
                        t.as_millis()
                    ),
                    Ok(other) => format!(
                        "{label}: protocol error: expected heartbeat {n}, got {}; killed",
                        serde_json::to_string(&other)
                            .unwrap_or_default()
                            .chars()
                            .take(120)
                            .collect::<String>()
                    ),
                    Err(e) => format!("{label}: protocol error: {e}; killed"),
                };
                drop(ch);
                // The note first: whoever sees the worker gone then finds why.
                *link.hung.lock().unwrap_or_else(|p| p.into_inner()) = Some(note);
                // The worker is this process's unreaped child (its `Conn` holds it), so the
                // pid cannot name another process yet.
                if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                }
                return;
            }
        })?;
    Ok(Watchdog { _stop: stop })
}

/// Extra timeouts a late heartbeat answer gets while the worker is running (see the module
/// doc).
pub(super) const LATE_GRACE: u32 = 3;

/// Sends heartbeat `n` and waits for the answer: `timeout`, extended up to [`LATE_GRACE`]
/// times while worker `pid` is running (slow, not hung). A timeout error carries the whole
/// time waited.
pub(super) fn heartbeat(
    ch: &mut Channel,
    n: u64,
    timeout: Duration,
    pid: u32,
) -> Result<WorkerMessage, WireError> {
    ch.send(&HostMessage::Heartbeat { n }, None)?;
    let mut waited = 0;
    loop {
        match ch.recv::<WorkerMessage>(Some(timeout)) {
            Ok((m, _)) => return Ok(m),
            Err(WireError::Timeout(_)) if waited < LATE_GRACE && running(pid) => waited += 1,
            Err(WireError::Timeout(_)) => return Err(WireError::Timeout(timeout * (waited + 1))),
            Err(e) => return Err(e),
        }
    }
}

/// Whether process `pid` (its main thread, which answers heartbeats) is running or waiting
/// for a CPU or disk (`R` or `D`), i.e. alive and busy rather than asleep, stopped or gone.
pub(super) fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S ...`: the state follows the last `)` (comm may hold any byte).
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next());
    matches!(state, Some('R' | 'D'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_counts_as_running_only_in_state_r_or_d() {
        // This thread reads its own stat while on a CPU (`/proc/TID/stat` names one thread;
        // a worker's pid names its main thread, the one that answers heartbeats).
        let me: u32 = std::fs::read_link("/proc/thread-self")
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(running(me));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let stopped = rustix::process::Pid::from_raw(pid as i32).unwrap();
        // `sleep` goes from running to sleeping; it is never seen stopped before SIGSTOP.
        rustix::process::kill_process(stopped, rustix::process::Signal::STOP).unwrap();
        // SIGSTOP takes effect asynchronously: wait for the `T` state through waitpid.
        let status =
            rustix::process::waitpid(Some(stopped), rustix::process::WaitOptions::UNTRACED)
                .unwrap()
                .unwrap();
        assert!(status.1.stopped());
        assert!(!running(pid), "a stopped process is not running");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!running(pid), "a reaped process is not running");
    }
}
