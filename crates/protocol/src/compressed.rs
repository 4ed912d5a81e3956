//! Compressed JSON messages (seed 002's "compress over 1 KiB" rule, opt-in per client with
//! `subscribe {compress: true}`).
//!
//! Layout: `b"FBZ1"` then a zlib stream (RFC 1950) of the UTF-8 JSON text. Browsers inflate
//! it with `new DecompressionStream("deflate")`. Binary messages are told apart by their
//! first four bytes: `FBV1` is a video frame ([`crate::video`]), `FBZ1` compressed JSON.

/// Magic bytes that start a compressed JSON message.
pub const COMPRESSED_MAGIC: &[u8; 4] = b"FBZ1";

/// JSON messages at most this long are never compressed.
pub const COMPRESS_MIN_BYTES: usize = 1024;

/// A compressed form is used only when it is smaller than this fraction of the original.
pub const COMPRESS_MAX_RATIO: f64 = 0.9;

/// The zlib stream of a compressed message, or `None` if `msg` is not one.
pub fn payload(msg: &[u8]) -> Option<&[u8]> {
    msg.strip_prefix(COMPRESSED_MAGIC.as_slice())
}
