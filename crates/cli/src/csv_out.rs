//! `framebus run --csv FILE`: one row per processed frame with every signal, for a
//! spreadsheet.
//!
//! Columns: `source, frame_id, t_ns`, then every signal name seen during the run, sorted by
//! name. A signal that first appears late (a stage that publishes only once it has locked on)
//! still gets its column: rows are kept until the run ends and written with the union of the
//! names; a frame without a value for a signal leaves that cell empty. Rows are in the order
//! frames were processed (per source in frame order).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use framebus_core::observer::{Observer, SnapshotOut};
use serde::Deserialize;

/// The parts of a snapshot a row needs (other fields are skipped by the parser).
#[derive(Deserialize)]
struct Row {
    source: String,
    frame_id: u64,
    t_ns: u64,
    #[serde(default)]
    signals: BTreeMap<String, f64>,
}

/// Collects one row per snapshot; [`CsvSignals::write`] writes them at the end of the run.
#[derive(Default)]
pub(crate) struct CsvSignals {
    rows: Mutex<Vec<Row>>,
}

impl Observer for CsvSignals {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        match serde_json::from_slice::<Row>(snap.json) {
            Ok(row) => {
                if let Ok(mut rows) = self.rows.lock() {
                    rows.push(row);
                }
            }
            Err(e) => tracing::error!("csv: cannot read a snapshot: {e}"),
        }
    }
}

impl CsvSignals {
    /// Writes the header and every row to `path`; returns the number of rows.
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<usize> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        let mut names: Vec<&str> = rows
            .iter()
            .flat_map(|r| r.signals.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        write!(out, "source,frame_id,t_ns")?;
        for n in &names {
            write!(out, ",{}", field(n))?;
        }
        writeln!(out)?;
        for r in rows.iter() {
            write!(out, "{},{},{}", field(&r.source), r.frame_id, r.t_ns)?;
            for n in &names {
                match r.signals.get(*n) {
                    Some(v) => write!(out, ",{v}")?,
                    None => write!(out, ",")?,
                }
            }
            writeln!(out)?;
        }
        out.flush()?;
        Ok(rows.len())
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted() {
        assert_eq!(field("knee_angle"), "knee_angle");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
