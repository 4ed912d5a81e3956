//! A client's fps cap (`max_fps`) on one kind of latest-wins item (snapshots or video): when
//! each source's next item may go out, and whether one was held back for it (so what it
//! replaced counts as capped rather than dropped).

use tokio::time::{Duration, Instant};

use crate::latest::{Cursor, Latest, Numbered};

/// Per-source pacing of one kind of latest-wins item.
pub(crate) struct Pace {
    /// When each source's next item may go out.
    pub(crate) next_at: Vec<Instant>,
    /// Whether an item of each source was held back by the cap since the last send.
    pub(crate) waited: Vec<bool>,
}

impl Pace {
    /// Nothing held, every source due now, for `slots` sources.
    pub(crate) fn new(slots: usize) -> Self {
        let now = Instant::now();
        Self {
            next_at: vec![now; slots],
            waited: vec![false; slots],
        }
    }

    /// Whether `slot`'s next item may go out at `now`.
    pub(crate) fn due(&self, slot: usize, now: Instant) -> bool {
        self.next_at.get(slot).is_none_or(|t| *t <= now)
    }

    /// Records that an item of `slot` went out at `now` under a cap of one per `interval`;
    /// returns whether an item had been held back for the cap since the last one.
    pub(crate) fn sent(&mut self, slot: usize, now: Instant, interval: Option<Duration>) -> bool {
        if let Some(i) = interval
            && let Some(t) = self.next_at.get_mut(slot)
        {
            *t = now + i;
        }
        self.waited.get_mut(slot).is_some_and(std::mem::take)
    }

    /// Records that an item of `slot` was held back by the cap.
    pub(crate) fn hold(&mut self, slot: usize) {
        if let Some(w) = self.waited.get_mut(slot) {
            *w = true;
        }
    }

    /// Makes every source due at `now` (the cap changed).
    pub(crate) fn reset(&mut self, now: Instant) {
        self.next_at.iter_mut().for_each(|t| *t = now);
    }

    /// The earliest time a source with a new item waiting on the cap becomes due (marking
    /// those sources as having waited).
    pub(crate) fn deadline<T: Numbered>(
        &mut self,
        cursor: &Cursor,
        board: &Latest<T>,
        now: Instant,
    ) -> Option<Instant> {
        let mut earliest: Option<Instant> = None;
        for slot in 0..board.len().min(self.next_at.len()) {
            if self.next_at[slot] > now && cursor.has_new(board, slot) {
                self.waited[slot] = true;
                earliest = Some(earliest.map_or(self.next_at[slot], |e| e.min(self.next_at[slot])));
            }
        }
        earliest
    }
}
