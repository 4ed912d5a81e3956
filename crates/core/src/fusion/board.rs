//! The signal board: for cross-source conditions (`{ source = "cam_b", signal = "motion",
//! above = 0.5 }`), the latest value of each `(source, signal)` pair a rule reads, with the
//! time of the observation that published it. Each source's pipeline writes its own pairs
//! after its stages ran; rules on any pipeline read them. Only the pairs named by rules are
//! kept (fixed when the rules compile), each behind its own lock, so a write or a read
//! costs a short uncontended lock and no allocation.
//!
//! Sources run on their own threads, so which of another source's observations a rule sees
//! depends on timing; `max_age` bounds how stale it may be (observation times, so sources
//! must share a clock: cameras, generators, browser ingest; not files replayed at their own
//! timestamps).

use std::sync::Mutex;

use crate::results::Signal;

struct Entry {
    source: String,
    name: String,
    latest: Mutex<Option<(f64, u64)>>,
}

/// The latest values of the `(source, signal)` pairs cross-source conditions read.
pub struct SignalBoard {
    entries: Vec<Entry>,
}

impl SignalBoard {
    /// A board for these `(source, signal)` pairs, all empty.
    pub fn new(pairs: &[(String, String)]) -> Self {
        Self {
            entries: pairs
                .iter()
                .map(|(source, name)| Entry {
                    source: source.clone(),
                    name: name.clone(),
                    latest: Mutex::new(None),
                })
                .collect(),
        }
    }

    /// True when some pair belongs to `source` (its pipeline must publish).
    pub fn reads(&self, source: &str) -> bool {
        self.entries.iter().any(|e| e.source == source)
    }

    /// Books `source`'s observation at `t_ns`: each of its pairs whose signal is among
    /// `signals` (the last of a name wins) takes the value; the others keep theirs.
    pub fn publish(&self, source: &str, signals: &[Signal], t_ns: u64) {
        for e in self.entries.iter().filter(|e| e.source == source) {
            if let Some(s) = signals.iter().rev().find(|s| s.name == e.name)
                && let Ok(mut l) = e.latest.lock()
            {
                *l = Some((s.value, t_ns));
            }
        }
    }

    /// The latest `(value, t_ns)` of `source`'s signal `name`, if ever published.
    pub fn get(&self, source: &str, name: &str) -> Option<(f64, u64)> {
        let e = self
            .entries
            .iter()
            .find(|e| e.source == source && e.name == name)?;
        *e.latest.lock().ok()?
    }
}
