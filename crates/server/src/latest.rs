//! [`Latest`]: one latest-wins slot per source plus a generation counter that wakes readers.
//!
//! Writers (pipeline threads, the video encoder) replace a slot without locking and bump the
//! generation; every reader keeps its own cursor per slot and, when woken, takes only the
//! newest item of each slot. A reader that is slow simply skips items: nothing queues up, so
//! its memory stays bounded and it never holds back a writer or another reader.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

/// An item published into a [`Latest`] board, with its per-slot publish number.
pub(crate) trait Numbered {
    /// 1 for the first item of a slot, then +1 per publish.
    fn number(&self) -> u64;
}

/// Latest-wins slots, one per source.
pub(crate) struct Latest<T> {
    slots: Box<[ArcSwapOption<T>]>,
    counts: Box<[AtomicU64]>,
    generation: watch::Sender<u64>,
}

impl<T: Numbered> Latest<T> {
    /// A board with `slots` empty slots.
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            slots: (0..slots).map(|_| ArcSwapOption::empty()).collect(),
            counts: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            generation: watch::channel(0).0,
        }
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The publish number the next item of `slot` must carry.
    pub(crate) fn next_number(&self, slot: usize) -> u64 {
        self.counts
            .get(slot)
            .map_or(0, |c| c.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Replaces the item of `slot` and wakes readers. Never blocks for long: the slot is
    /// swapped lock-free, the generation is bumped under a short internal lock.
    pub(crate) fn publish(&self, slot: usize, item: Arc<T>) {
        if self.store(slot, item) {
            self.wake();
        }
    }

    /// Replaces the item of `slot` without waking readers (then call [`Latest::wake`]);
    /// false if there is no such slot.
    pub(crate) fn store(&self, slot: usize, item: Arc<T>) -> bool {
        let Some(s) = self.slots.get(slot) else {
            return false;
        };
        s.store(Some(item));
        true
    }

    /// Wakes readers: bumps the generation under a short internal lock.
    pub(crate) fn wake(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// The newest item of `slot`.
    pub(crate) fn get(&self, slot: usize) -> Option<Arc<T>> {
        self.slots.get(slot).and_then(ArcSwapOption::load_full)
    }

    /// A receiver that is marked changed on every publish.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Total items published so far.
    pub(crate) fn published(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// A reader's position in a [`Latest`] board.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cursor {
    /// Publish number last taken, per slot.
    taken: Vec<u64>,
}

impl Cursor {
    /// Takes the newest item of `slot` if it is newer than the last one taken, and returns it
    /// with how many items were skipped in between.
    pub(crate) fn take<T: Numbered>(
        &mut self,
        board: &Latest<T>,
        slot: usize,
    ) -> Option<(Arc<T>, u64)> {
        let item = board.get(slot)?;
        if self.taken.len() <= slot {
            self.taken.resize(slot + 1, 0);
        }
        let last = self.taken[slot];
        let n = item.number();
        if n <= last {
            return None;
        }
        self.taken[slot] = n;
        // The first item taken after connecting skips nothing: older ones were never due.
        let skipped = if last == 0 { 0 } else { n - last - 1 };
        Some((item, skipped))
    }

    /// True if `slot` holds an item newer than the last one taken.
    pub(crate) fn has_new<T: Numbered>(&self, board: &Latest<T>, slot: usize) -> bool {
        let last = self.taken.get(slot).copied().unwrap_or(0);
        board.get(slot).is_some_and(|i| i.number() > last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(u64);
    impl Numbered for Item {
        fn number(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn readers_take_only_the_newest_and_count_skips() {
        let board = Latest::<Item>::new(2);
        let mut rx = board.watch();
        let mut cursor = Cursor::default();
        assert!(cursor.take(&board, 0).is_none());
        for _ in 0..3 {
            let n = board.next_number(0);
            board.publish(0, Arc::new(Item(n)));
        }
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        let (item, skipped) = cursor.take(&board, 0).unwrap();
        assert_eq!((item.0, skipped), (3, 0));
        assert!(cursor.take(&board, 0).is_none());
        for _ in 0..4 {
            let n = board.next_number(0);
            board.publish(0, Arc::new(Item(n)));
        }
        assert!(cursor.has_new(&board, 0));
        let (item, skipped) = cursor.take(&board, 0).unwrap();
        assert_eq!((item.0, skipped), (7, 3));
        assert!(!cursor.has_new(&board, 1));
        assert_eq!(board.published(), 7);
        // Out-of-range slots are ignored.
        board.publish(5, Arc::new(Item(1)));
        assert!(board.get(5).is_none());
    }
}
