//! Reading a source: on its own capture thread feeding the edge ([`Capture::run`]), or, for a
//! sample source configured `inline = true`, polled by its pipeline thread between packets
//! ([`run_inline_sample_pipeline`]): no capture thread and no edge hop, so a packet is
//! processed by the thread that read it, without waking another thread first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};
use framebus_protocol::{Notification, NotificationLevel, RunState, ServerMessage};

use super::Pipeline;
use crate::command::Request;
use crate::edge::{EdgeStats, EdgeTx};
use crate::erased::DynSource;
use crate::error::Result;
use crate::observer::Observers;
use crate::packet::Packet;
use crate::source::StopFlag;

/// One source and what its reader reports.
pub(super) struct Capture {
    pub(super) id: String,
    pub(super) source: Box<dyn DynSource>,
    pub(super) stop: StopFlag,
    pub(super) max_frames: Option<u64>,
    pub(super) observers: Observers,
    pub(super) capturing: Arc<AtomicBool>,
    pub(super) last_error: Arc<Mutex<Option<String>>>,
    pub(super) pending: Arc<AtomicU64>,
    /// Set to frames + 1 when the source ended by itself (0 = not ended).
    pub(super) ended: Arc<AtomicU64>,
    /// Items read so far.
    pub(super) read: u64,
    /// Wait before the next retry of a failing source.
    pub(super) backoff: Duration,
}

/// First wait after a capture failure; doubled per failure up to 5 s.
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(50);

impl Capture {
    /// The capture thread: reads items and sends them down the edge until the source ends,
    /// `max_frames` is reached, the runtime stops or the pipeline is gone.
    pub(super) fn run<T>(
        mut self,
        tx: EdgeTx<T>,
        next: fn(&mut dyn DynSource) -> Result<Option<T>>,
    ) {
        while let Some(item) = self.poll(next) {
            self.pending.store(tx.len() as u64, Ordering::Relaxed);
            if tx.send(item).is_err() {
                break;
            }
        }
        self.capturing.store(false, Ordering::Relaxed);
    }

    /// The next item, or `None` once the source ended (end of stream: recorded in `ended`),
    /// `max_frames` was reached or the runtime stopped. A failure is reported (alert, last
    /// error) and retried after a backoff that doubles up to 5 s, waking early on stop.
    pub(super) fn poll<T>(
        &mut self,
        next: fn(&mut dyn DynSource) -> Result<Option<T>>,
    ) -> Option<T> {
        while !self.stop.is_stopped() && self.max_frames.is_none_or(|m| self.read < m) {
            match next(&mut *self.source) {
                Ok(Some(item)) => {
                    self.backoff = FIRST_BACKOFF;
                    self.read += 1;
                    return Some(item);
                }
                Ok(None) => {
                    if !self.stop.is_stopped() {
                        // Reported by the pipeline once it has processed the last frame.
                        self.ended.store(self.read + 1, Ordering::SeqCst);
                    }
                    return None;
                }
                Err(e) => self.failed(&e.to_string()),
            }
        }
        None
    }

    fn failed(&mut self, msg: &str) {
        let backoff = self.backoff;
        tracing::warn!(source = %self.id, error = %msg, "capture failed; retrying");
        self.observers.event(&ServerMessage::Alert(Notification {
            level: NotificationLevel::Warning,
            source: self.id.clone(),
            title: "capture failed".into(),
            message: format!("{msg}; retrying in {} ms", backoff.as_millis()),
        }));
        if let Ok(mut l) = self.last_error.lock() {
            *l = Some(msg.to_owned());
        }
        // Wait with backoff, waking early on shutdown.
        let until = std::time::Instant::now() + backoff;
        while std::time::Instant::now() < until && !self.stop.is_stopped() {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// A sample pipeline that reads its own source (`inline = true`): between packets it applies
/// the commands that arrived, takes back thread-stage jobs and checks for shutdown; then it
/// reads the next packet and processes it at once. Commands wait while the source waits for
/// its next packet (one packet's time for a paced source). Paused, it does not read. The
/// edge's counters still count what was read (`sent`), and nothing is ever dropped.
pub(super) fn run_inline_sample_pipeline(
    mut p: Pipeline,
    mut capture: Capture,
    edge: Arc<EdgeStats>,
    commands: Receiver<Request>,
    shutdown: Receiver<()>,
    mut process: impl FnMut(&mut Pipeline, Packet),
    on_end: impl FnOnce(),
) {
    p.start();
    let done = p.done_channel();
    loop {
        super::apply_queued(&mut p, &commands);
        while let Ok(job) = done.try_recv() {
            p.returned(job);
            p.collect_returned();
        }
        if !matches!(shutdown.try_recv(), Err(TryRecvError::Empty)) {
            break;
        }
        if p.run.get() == RunState::Paused {
            if !super::wait_paused(&mut p, &commands, &done, &shutdown) {
                break;
            }
            continue;
        }
        let Some(packet) = capture.poll(|s| s.next_packet()) else {
            break;
        };
        edge.sent.fetch_add(1, Ordering::Relaxed);
        // Commands that arrived while the source waited apply before the packet.
        super::apply_queued(&mut p, &commands);
        if p.run.get() != RunState::Paused {
            process(&mut p, packet);
        }
    }
    capture.capturing.store(false, Ordering::Relaxed);
    super::finish_pipeline(p, &commands, on_end);
}
