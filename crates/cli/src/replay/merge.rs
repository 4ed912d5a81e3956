//! Several recorded sources replayed in one order, so that rules across sources (and the
//! order of the snapshots) come out the same in every replay.
//!
//! Live, each source runs on its own threads, and which observation of `camera_1` a rule on
//! `camera_0` sees depends on timing. In a replay of several sources, each source is a
//! [`ReplayVideo`] (a `video_file` whose frames pass a gate) and the [`Merge`] lets a frame
//! through only when it is the next one in `(t_ns, source index)` order over all sources and
//! every frame let through before it has been processed (its snapshot seen by the merge, an
//! observer). So frames are processed one at a time in that order, and a cross-source rule
//! reads exactly the other sources' observations with a smaller key, whatever the speed or
//! the machine. A source whose next frame is not decoded yet holds the others until it is
//! (or until it ends).
//!
//! A gate that waits [`STALL`] (a frame that never produced a snapshot, which a replay does
//! not do) lets its frame through with a warning rather than hanging the replay.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use framebus_core::Result;
use framebus_core::frame::Frame;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_media::{VideoFile, VideoFileParams};

/// Longest a gate waits before letting its frame through anyway.
pub(crate) const STALL: Duration = Duration::from_secs(10);

/// How often a waiting gate looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// The merge of the replay running in this process (one per process: `framebus replay`).
static CURRENT: Mutex<Option<Arc<Merge>>> = Mutex::new(None);

/// One source's place in the merge.
#[derive(Debug, Clone, Copy, Default)]
struct Lane {
    /// `t_ns` of the frame waiting at this source's gate.
    waiting: Option<u64>,
    /// The source gave its last frame.
    ended: bool,
    /// Frames let through and not processed yet.
    in_flight: u64,
}

/// Releases the frames of several sources in `(t_ns, source index)` order, one processed
/// frame at a time. Pass it to the runtime as an observer (it counts processed frames by
/// their snapshots).
pub(crate) struct Merge {
    lanes: Mutex<Vec<Lane>>,
    changed: Condvar,
}

impl Merge {
    /// A merge of `sources` sources, installed for this process's [`ReplayVideo`] sources.
    pub(crate) fn install(sources: usize) -> Arc<Self> {
        let m = Arc::new(Self {
            lanes: Mutex::new(vec![Lane::default(); sources]),
            changed: Condvar::new(),
        });
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(m.clone());
        m
    }

    fn lanes(&self) -> MutexGuard<'_, Vec<Lane>> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when the frame `(t_ns, lane)` is the next in order: every other source has no
    /// frame in flight, and has ended or waits with a later key.
    fn is_next(lanes: &[Lane], lane: usize, t_ns: u64) -> bool {
        lanes.iter().enumerate().all(|(j, l)| {
            j == lane
                || (l.in_flight == 0
                    && (l.ended || l.waiting.is_some_and(|t| (t, j) > (t_ns, lane))))
        })
    }

    /// Waits until the frame at `t_ns` of source `lane` is the next in order (or `stop`).
    fn pass(&self, lane: usize, t_ns: u64, stop: &StopFlag) {
        let mut lanes = self.lanes();
        let Some(me) = lanes.get_mut(lane) else {
            return;
        };
        me.waiting = Some(t_ns);
        self.changed.notify_all();
        let deadline = Instant::now() + STALL;
        while !Self::is_next(&lanes, lane, t_ns) && !stop.is_stopped() {
            if Instant::now() >= deadline {
                eprintln!(
                    "warning: replay: source {lane}'s frame at {t_ns} ns waited {STALL:?} for \
                     the other sources; let through out of order"
                );
                break;
            }
            lanes = self
                .changed
                .wait_timeout(lanes, STOP_CHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        lanes[lane].waiting = None;
        lanes[lane].in_flight += 1;
        self.changed.notify_all();
    }

    /// Source `lane` gave its last frame.
    fn end(&self, lane: usize) {
        if let Some(l) = self.lanes().get_mut(lane) {
            l.ended = true;
            l.waiting = None;
        }
        self.changed.notify_all();
    }
}

impl Observer for Merge {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        if let Some(l) = self.lanes().get_mut(snap.source_index as usize) {
            l.in_flight = l.in_flight.saturating_sub(1);
        }
        self.changed.notify_all();
    }
}

/// `replay_video`: a `video_file` whose frames pass this process's [`Merge`] (installed by
/// `framebus replay` for a session of several sources); without one it is a `video_file`.
pub(crate) struct ReplayVideo {
    video: VideoFile,
    merge: Option<Arc<Merge>>,
    lane: usize,
    stop: StopFlag,
}

impl Source for ReplayVideo {
    type Params = VideoFileParams;
    const KIND: &'static str = "replay_video";
    const DESCRIPTION: &'static str = "A recorded video in `framebus replay` of several sources: a video_file whose frames are released in (t_ns, source) order across the sources";

    fn new(params: VideoFileParams, init: &SourceInit) -> Result<Self> {
        Ok(Self {
            video: VideoFile::new(params, init)?,
            merge: CURRENT
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            lane: init.index as usize,
            stop: init.stop.clone(),
        })
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let next = self.video.next_frame()?;
        if let Some(m) = &self.merge {
            match &next {
                Some(f) => m.pass(self.lane, f.t_ns, &self.stop),
                None => m.end(self.lane),
            }
        }
        Ok(next)
    }
}

framebus_core::register_source!(ReplayVideo);

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(v: &[(Option<u64>, bool, u64)]) -> Vec<Lane> {
        v.iter()
            .map(|&(waiting, ended, in_flight)| Lane {
                waiting,
                ended,
                in_flight,
            })
            .collect()
    }

    #[test]
    fn the_next_frame_is_the_smallest_key_with_nothing_in_flight_elsewhere() {
        // Source 0 at 100 ns, source 1 waits at 200 ns: 0 goes first, 1 waits.
        let l = lanes(&[(Some(100), false, 0), (Some(200), false, 0)]);
        assert!(Merge::is_next(&l, 0, 100));
        assert!(!Merge::is_next(&l, 1, 200));
        // A tie goes to the lower source index.
        let l = lanes(&[(Some(100), false, 0), (Some(100), false, 0)]);
        assert!(Merge::is_next(&l, 0, 100) && !Merge::is_next(&l, 1, 100));
        // Source 1 has not decoded its next frame yet: 0 waits for it.
        let l = lanes(&[(Some(100), false, 0), (None, false, 0)]);
        assert!(!Merge::is_next(&l, 0, 100));
        // ... unless it has ended.
        let l = lanes(&[(Some(100), false, 0), (None, true, 0)]);
        assert!(Merge::is_next(&l, 0, 100));
        // A frame of another source still being processed holds everyone else.
        let l = lanes(&[(Some(100), false, 0), (Some(300), false, 1)]);
        assert!(!Merge::is_next(&l, 0, 100));
        // A source's own frames in flight do not hold it (its pipeline keeps their order).
        let l = lanes(&[(Some(150), false, 1), (Some(300), false, 0)]);
        assert!(Merge::is_next(&l, 0, 150));
    }
}
