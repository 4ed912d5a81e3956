//! The socket of a live worker, shared between the pipeline thread and an idle watchdog.
//!
//! The pipeline sends frames and commands; while nothing flows (a paused run, a stalled
//! source) the watchdog thread sends a `heartbeat` after [`super::host`]'s idle time and
//! kills a worker that does not answer within `heartbeat_timeout_ms`, leaving a note the
//! pipeline reports (and restarts from) at its next frame or command. Every exchange holds
//! the channel's lock from request to answer, so the two never interleave; the watchdog only
//! tries the lock, so it never delays a frame.

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
                let got = ch
                    .send(&HostMessage::Heartbeat { n }, None)
                    .and_then(|()| ch.recv::<WorkerMessage>(Some(timeout)));
                link.touch();
                let note = match got {
                    Ok((WorkerMessage::Heartbeat { n: m }, _)) if m == n => continue,
                    // Died while idle: the pipeline finds the EOF and reports how it ended.
                    Err(WireError::Eof) => return,
                    Err(WireError::Timeout(t)) => format!(
                        "{label} hung: no answer to a heartbeat within {} ms while idle; killed",
                        t.as_millis()
                    ),
                    Ok((other, _)) => format!(
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
