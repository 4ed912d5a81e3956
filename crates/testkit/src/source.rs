//! What a test needs to construct a source outside the runtime.

use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::source::{SourceInit, StopFlag};

/// A [`SourceInit`] for source `id` (index 0) on `clock`: a pool of 4 frames on the heap,
/// relative paths against the system temp directory, no stop requested.
pub fn source_init(id: &str, clock: Arc<dyn Clock>) -> SourceInit {
    SourceInit {
        id: Arc::from(id),
        index: 0,
        clock,
        stop: StopFlag::new(),
        pool_frames: 4,
        base_dir: std::env::temp_dir(),
        shared_frames: false,
    }
}
