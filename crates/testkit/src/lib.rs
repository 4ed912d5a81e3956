//! Shared test helpers for the framebus crates.
//!
//! This crate is a dev-dependency only: helpers that more than one crate's tests need live
//! here instead of being copied per crate. Layout: [`counter`] draws a frame number into
//! pixels as large black/white blocks that survive lossy video codecs, and reads it back;
//! [`video`] makes test videos with that counter through Debian's `ffmpeg`; [`mp4`] parses an
//! H.264 MP4 with the `mp4` crate and decodes it with OpenH264 to read those counters back;
//! [`process`] has what process-isolation tests need: a paced tick source, stages that crash,
//! abort or hang on command, workers that break the protocol (the `framebus-test-worker`
//! binary), a snapshot tap and the process table of the test; [`alloc`] counts allocations
//! per thread. (A source built outside the runtime takes `SourceInit::standalone`.)

pub mod alloc;
pub mod counter;
pub mod mp4;
pub mod process;
pub mod video;
