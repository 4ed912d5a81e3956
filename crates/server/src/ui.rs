//! The embedded web UI (placeholder until the UI lands).
