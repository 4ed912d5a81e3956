//! Edges between threads with a policy from config: `latest` (one slot, the newest wins),
//! `drop_oldest { capacity }` (a ring that evicts the oldest), `block { capacity }` (the
//! producer waits; nothing is lost). Built on bounded `crossbeam-channel`s: no locks and no
//! allocation per message. Every edge counts what it sent and dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

/// How an edge behaves when its consumer is slower than its producer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
#[derive(Default)]
pub enum EdgePolicy {
    /// One slot; a new item replaces an unread one (counted as dropped). Live cameras.
    #[default]
    Latest,
    /// A queue of `capacity`; when full, the oldest item is dropped (counted).
    DropOldest {
        /// Queue length (≥ 1).
        capacity: usize,
    },
    /// A queue of `capacity`; when full, the producer waits. Offline files: never lose one.
    Block {
        /// Queue length (≥ 1).
        capacity: usize,
    },
}

impl EdgePolicy {
    /// The queue length.
    pub fn capacity(self) -> usize {
        match self {
            Self::Latest => 1,
            Self::DropOldest { capacity } | Self::Block { capacity } => capacity.max(1),
        }
    }
}

/// Counters of one edge, shared with status readers.
#[derive(Debug, Default)]
pub struct EdgeStats {
    /// Items handed to the edge.
    pub sent: AtomicU64,
    /// Items evicted before the consumer read them.
    pub dropped: AtomicU64,
    /// Set when the consumer is gone.
    pub closed: AtomicBool,
}

/// The producing end of an edge.
pub struct EdgeTx<T> {
    tx: Sender<T>,
    evict: Option<Receiver<T>>,
    stats: Arc<EdgeStats>,
}

/// The consuming end of an edge (a plain channel receiver, usable in `select!`).
pub struct EdgeRx<T> {
    /// The receiver.
    pub rx: Receiver<T>,
    stats: Arc<EdgeStats>,
}

/// The consumer went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// Makes an edge with `policy`.
pub fn edge<T>(policy: EdgePolicy) -> (EdgeTx<T>, EdgeRx<T>) {
    let (tx, rx) = bounded(policy.capacity());
    let stats = Arc::new(EdgeStats::default());
    let evict = match policy {
        EdgePolicy::Block { .. } => None,
        _ => Some(rx.clone()),
    };
    (
        EdgeTx {
            tx,
            evict,
            stats: stats.clone(),
        },
        EdgeRx { rx, stats },
    )
}

impl<T> EdgeTx<T> {
    /// Sends per the policy. Blocks only for `block` edges.
    pub fn send(&self, mut item: T) -> Result<(), Closed> {
        if self.stats.closed.load(Ordering::Relaxed) {
            return Err(Closed);
        }
        self.stats.sent.fetch_add(1, Ordering::Relaxed);
        let Some(evict) = &self.evict else {
            // `block`: wait for room by polling with backoff rather than crossbeam's blocking
            // send, whose first wait on a thread allocates (its waker context and list).
            // Only the producer waits here; the consumer is woken by the channel as usual.
            let mut spins = 0u32;
            loop {
                match self.tx.try_send(item) {
                    Ok(()) => return Ok(()),
                    Err(TrySendError::Full(back)) => {
                        item = back;
                        backoff(&mut spins);
                    }
                    Err(TrySendError::Disconnected(_)) => return Err(Closed),
                }
            }
        };
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(back)) => {
                    if evict.try_recv().is_ok() {
                        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    item = back;
                }
                Err(TrySendError::Disconnected(_)) => return Err(Closed),
            }
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.tx.len()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    /// The edge's counters.
    pub fn stats(&self) -> &Arc<EdgeStats> {
        &self.stats
    }
}

fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 16 {
        std::hint::spin_loop();
    } else if *spins < 64 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
}

impl<T> EdgeRx<T> {
    /// The edge's counters.
    pub fn stats(&self) -> &Arc<EdgeStats> {
        &self.stats
    }
}

impl<T> Drop for EdgeRx<T> {
    fn drop(&mut self) {
        self.stats.closed.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_keeps_only_the_newest_and_counts() {
        let (tx, rx) = edge::<u32>(EdgePolicy::Latest);
        for i in 0..10 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.rx.try_recv(), Ok(9));
        assert_eq!(rx.stats().dropped.load(Ordering::Relaxed), 9);
    }

    #[test]
    fn drop_oldest_keeps_the_newest_n() {
        let (tx, rx) = edge::<u32>(EdgePolicy::DropOldest { capacity: 3 });
        for i in 0..10 {
            tx.send(i).unwrap();
        }
        let got: Vec<u32> = rx.rx.try_iter().collect();
        assert_eq!(got, vec![7, 8, 9]);
        assert_eq!(tx.stats().dropped.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn block_waits_for_room_and_loses_nothing() {
        let (tx, rx) = edge::<u32>(EdgePolicy::Block { capacity: 2 });
        let producer = std::thread::spawn(move || {
            for i in 0..1000 {
                tx.send(i).unwrap();
            }
        });
        let got: Vec<u32> = (0..1000).map(|_| rx.rx.recv().unwrap()).collect();
        producer.join().unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
        assert_eq!(rx.stats().dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn closed_when_consumer_drops() {
        let (tx, rx) = edge::<u32>(EdgePolicy::Latest);
        drop(rx);
        assert_eq!(tx.send(1), Err(Closed));
    }
}
