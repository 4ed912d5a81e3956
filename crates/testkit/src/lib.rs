//! Shared test helpers for the framebus crates.
//!
//! This crate is a dev-dependency only: helpers that more than one crate's tests need live
//! here instead of being copied per crate. Layout: [`counter`] draws a frame number into
//! pixels as large black/white blocks that survive lossy video codecs, and reads it back;
//! [`video`] makes test videos with that counter through Debian's `ffmpeg`.

pub mod counter;
pub mod video;
