//! `t_ns` from buffer timestamps: each pipeline session's PTS less its first PTS, plus the
//! session's start offset, forced strictly increasing across sessions (RTSP reconnects).

/// Timestamps of the frames given out.
#[derive(Debug, Default)]
pub(crate) struct Stamper {
    /// First PTS of the running session.
    first_pts: Option<u64>,
    /// Added to the session's times (0 for the first session).
    offset_ns: u64,
    /// `t_ns` of the last frame given out.
    last: Option<u64>,
}

impl Stamper {
    /// A new session (pipeline) starts at `offset_ns` on the source's time line (no earlier
    /// than just after the last frame).
    pub(crate) fn new_session(&mut self, offset_ns: u64) {
        self.first_pts = None;
        self.offset_ns = self.last.map_or(offset_ns, |l| offset_ns.max(l + 1));
    }

    /// The next frame's `t_ns` from its PTS; `fallback_ns` (time since the session started,
    /// from the clock) when the buffer has none.
    pub(crate) fn stamp(&mut self, pts: Option<u64>, fallback_ns: u64) -> u64 {
        let rel = match pts {
            Some(p) => p.saturating_sub(*self.first_pts.get_or_insert(p)),
            None => fallback_ns,
        };
        let t = self.offset_ns + rel;
        let t = self.last.map_or(t, |l| t.max(l + 1));
        self.last = Some(t);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::Stamper;

    #[test]
    fn times_start_at_zero_and_keep_increasing_across_sessions() {
        let mut s = Stamper::default();
        s.new_session(0);
        assert_eq!(s.stamp(Some(1_000), 0), 0);
        assert_eq!(s.stamp(Some(34_000), 0), 33_000);
        // A PTS that goes back still gives a later time.
        assert_eq!(s.stamp(Some(2_000), 0), 33_001);
        // A new session whose offset is earlier than the last frame starts just after it.
        s.new_session(10);
        assert_eq!(s.stamp(Some(5), 0), 33_002);
        s.new_session(1_000_000);
        assert_eq!(s.stamp(None, 7), 1_000_007);
    }
}
