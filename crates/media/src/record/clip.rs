//! Clips: the ring of a source's last seconds of encoded video, and clips being cut from it.
//!
//! A clip for a moment `t` with `pre`/`post` holds the frames nearest to `[t − pre, t + post]`
//! (within half a frame period), starting at the latest keyframe at or before `t − pre` (so
//! at most one keyframe interval earlier). Frames already in the ring are written at once;
//! the rest follow as they are encoded, and the file is finished with the frame nearest
//! `t + post`.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::encode::Mp4Writer;

/// One encoded frame kept for clips.
pub(crate) struct Entry {
    pub(crate) frame_id: u64,
    pub(crate) t_ns: u64,
    pub(crate) key: bool,
    pub(crate) data: Vec<u8>,
}

/// The last `keep_ns` of encoded video (plus the keyframe interval before it).
pub(crate) struct Ring {
    entries: VecDeque<Entry>,
    spare: Vec<Vec<u8>>,
    keep_ns: u64,
}

impl Ring {
    pub(crate) fn new(keep_ns: u64) -> Self {
        Self {
            entries: VecDeque::new(),
            spare: Vec::new(),
            keep_ns,
        }
    }

    /// Adds a frame and forgets what is older than needed: everything before the latest
    /// keyframe that is itself at least `keep_ns` old.
    pub(crate) fn push(&mut self, frame_id: u64, t_ns: u64, key: bool, data: &[u8]) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        self.entries.push_back(Entry {
            frame_id,
            t_ns,
            key,
            data: buf,
        });
        let horizon = t_ns.saturating_sub(self.keep_ns);
        let cut = self
            .entries
            .iter()
            .rposition(|e| e.key && e.t_ns <= horizon)
            .unwrap_or(0);
        for _ in 0..cut {
            if let Some(e) = self.entries.pop_front() {
                self.spare.push(e.data);
            }
        }
    }

    /// Typical frame period (from the last two frames; 1/30 s when unknown).
    pub(crate) fn period_ns(&self) -> u64 {
        let n = self.entries.len();
        if n >= 2 {
            let d = self.entries[n - 1]
                .t_ns
                .saturating_sub(self.entries[n - 2].t_ns);
            if d > 0 {
                return d;
            }
        }
        33_333_333
    }

    /// Index of the keyframe a clip starting at `start_ns` begins with: the latest keyframe
    /// at or before the first frame it needs, else the first keyframe there is.
    pub(crate) fn start_index(&self, start_ns: u64) -> Option<usize> {
        let half = self.period_ns() / 2;
        let first = self
            .entries
            .iter()
            .position(|e| e.t_ns + half >= start_ns)
            .unwrap_or(self.entries.len());
        let upto = first.min(self.entries.len().saturating_sub(1));
        (0..=upto)
            .rev()
            .find(|&i| self.entries.get(i).is_some_and(|e| e.key))
            .or_else(|| self.entries.iter().position(|e| e.key))
    }

    pub(crate) fn entries(&self) -> &VecDeque<Entry> {
        &self.entries
    }
}

/// What `save_clip` asked for.
#[derive(Debug, Clone)]
pub(crate) struct ClipRequest {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) frame_id: u64,
    pub(crate) t_ns: u64,
    pub(crate) pre_ns: u64,
    pub(crate) post_ns: u64,
    pub(crate) path: PathBuf,
}

/// A clip being written.
pub(crate) struct PendingClip {
    pub(crate) req: ClipRequest,
    pub(crate) writer: Option<Mp4Writer>,
    pub(crate) first_frame_id: Option<u64>,
    pub(crate) last_frame_id: Option<u64>,
    pub(crate) last_t_ns: Option<u64>,
}

/// What to do with a frame for a pending clip.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Not yet in the clip (before its first keyframe).
    Skip,
    /// Write it; more follow.
    Write,
    /// Write it; the clip is complete.
    WriteLast,
    /// Past the end: finish without it.
    Done,
}

impl PendingClip {
    pub(crate) fn end_ns(&self) -> u64 {
        self.req.t_ns + self.req.post_ns
    }

    /// Decides about a frame at `t_ns` (keyframe `key`), `half` being half a frame period.
    pub(crate) fn step(&self, t_ns: u64, key: bool, half: u64) -> Step {
        let end = self.end_ns();
        if t_ns > end + half {
            return Step::Done;
        }
        if self.writer.is_none() && !key {
            return Step::Skip;
        }
        if t_ns + half >= end {
            Step::WriteLast
        } else {
            Step::Write
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 33_333_333;

    fn ring_with(n: u64, gop: u64, keep_s: f64) -> Ring {
        let mut r = Ring::new((keep_s * 1e9) as u64);
        for i in 0..n {
            r.push(i, i * P, i % gop == 0, &[i as u8]);
        }
        r
    }

    #[test]
    fn keeps_the_keyframe_before_the_horizon() {
        let r = ring_with(300, 30, 2.0);
        // Newest at 299; horizon 299·P − 2 s ≈ frame 239 → keyframe 210 stays first.
        assert_eq!(r.entries().front().map(|e| e.frame_id), Some(210));
        assert_eq!(r.entries().back().map(|e| e.frame_id), Some(299));
    }

    #[test]
    fn clip_starts_at_the_keyframe_at_or_before_its_start() {
        let r = ring_with(300, 30, 5.0);
        let i = r.start_index(250 * P - 60 * P).unwrap();
        assert_eq!(r.entries()[i].frame_id, 180);
        let i = r.start_index(210 * P).unwrap();
        assert_eq!(r.entries()[i].frame_id, 210);
        // Older than the ring: the first keyframe.
        let i = r.start_index(0).unwrap();
        assert!(r.entries()[i].key);
    }

    #[test]
    fn steps_end_at_the_frame_nearest_the_end() {
        let clip = PendingClip {
            req: ClipRequest {
                id: "c".into(),
                label: String::new(),
                frame_id: 100,
                t_ns: 100 * P,
                pre_ns: 0,
                post_ns: 30 * P,
                path: PathBuf::new(),
            },
            writer: None,
            first_frame_id: None,
            last_frame_id: None,
            last_t_ns: None,
        };
        assert_eq!(clip.step(101 * P, false, P / 2), Step::Skip);
        assert_eq!(clip.step(101 * P, true, P / 2), Step::Write);
        assert_eq!(clip.step(130 * P + 3, true, P / 2), Step::WriteLast);
        assert_eq!(clip.step(129 * P + P * 2 / 3, true, P / 2), Step::WriteLast);
        assert_eq!(clip.step(131 * P, false, P / 2), Step::Done);
    }
}
