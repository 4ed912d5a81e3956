//! Fixed binary frames: `sync` bytes, then `frame_samples × channels` little-endian values
//! (interleaved), then an optional one-byte checksum of the values. A frame whose checksum
//! fails or that holds a non-finite `f32` is counted as malformed and the search for the
//! next sync starts one byte after the rejected frame's start, so a sync pattern inside
//! garbage costs at most one false start. Bytes that belong to no accepted frame are counted
//! as skipped. A checksum that passes on a candidate holding a sync pattern inside it, when
//! the bytes after it are not a sync, is treated as a false start too (an 8-bit checksum
//! passes by chance 1 time in 256).

use framebus_core::prelude::*;

use super::{Checksum, Counters};
use crate::signal::RawFormat;

/// Finds frames in a byte stream and decodes their values.
pub(crate) struct FrameParser {
    sync: Vec<u8>,
    format: RawFormat,
    checksum: Checksum,
    /// Values per frame (`frame_samples × channels`).
    values: usize,
    /// Bytes per frame.
    len: usize,
    /// Unparsed bytes are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
}

impl FrameParser {
    pub(crate) fn new(sync: Vec<u8>, format: RawFormat, checksum: Checksum, values: usize) -> Self {
        let len = sync.len() + values * format.width() + usize::from(checksum != Checksum::None);
        Self {
            sync,
            format,
            checksum,
            values,
            len,
            buf: Vec::with_capacity(len * 2 + 4096),
            start: 0,
        }
    }

    /// Drops buffered bytes (after the device was reopened).
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// Appends received bytes.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next valid frame's values written into `out` (`frame_samples × channels` long);
    /// `false` when more bytes are needed.
    pub(crate) fn next_frame(&mut self, out: &mut [f32], counters: &Counters) -> bool {
        loop {
            let rest = &self.buf[self.start..];
            let at = if self.sync.is_empty() {
                0
            } else {
                match rest.windows(self.sync.len()).position(|w| w == self.sync) {
                    Some(i) => i,
                    None => {
                        // Keep a tail that could be the start of a sync pattern.
                        let keep = rest.len().min(self.sync.len() - 1);
                        counters.skip(rest.len() - keep);
                        self.start = self.buf.len() - keep;
                        return false;
                    }
                }
            };
            if rest.len() < at + self.len {
                counters.skip(at);
                self.start += at;
                return false;
            }
            counters.skip(at);
            let frame = &rest[at..at + self.len];
            let body = &frame[self.sync.len()..self.sync.len() + self.values * self.format.width()];
            let ok = match self.checksum {
                Checksum::None => true,
                Checksum::Xor8 => body.iter().fold(0u8, |a, b| a ^ b) == frame[self.len - 1],
                Checksum::Sum8 => {
                    body.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == frame[self.len - 1]
                }
            } && decode(self.format, body, &mut out[..self.values]);
            // A valid checksum not followed by the next frame's sync, with a sync inside the
            // candidate: most likely a stray sync whose bytes ran into the real frame (an
            // 8-bit checksum passes 1 time in 256). Rescan from inside it instead. At the end
            // of the buffer such a frame waits for the bytes after it.
            let n = self.sync.len();
            let suspicious = ok && n > 0 && frame[1..].windows(n).any(|w| w == self.sync);
            let after = &rest[at + self.len..];
            if suspicious && after.len() < n {
                self.start += at;
                return false;
            }
            if ok && (!suspicious || after.starts_with(&self.sync)) {
                self.start += at + self.len;
                counters.frame();
                return true;
            }
            counters.malformed(
                if self.checksum == Checksum::None {
                    "non-finite value in frame"
                } else {
                    "bad checksum or non-finite value in frame"
                },
                frame,
            );
            // Search again from the byte after this frame's start (without sync bytes
            // there is nothing to search for: the whole frame is dropped).
            let step = if n == 0 { self.len } else { 1 };
            counters.skip(step);
            self.start += at + step;
        }
    }
}

/// Decodes little-endian values; `false` if an `f32` is not finite.
fn decode(format: RawFormat, body: &[u8], out: &mut [f32]) -> bool {
    let w = format.width();
    for (o, b) in out.iter_mut().zip(body.chunks_exact(w)) {
        *o = match format {
            RawFormat::I16 => i16::from_le_bytes([b[0], b[1]]) as f32,
            RawFormat::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
            RawFormat::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        };
        if !o.is_finite() {
            return false;
        }
    }
    true
}

/// Parses `sync` as hex (`"A55A"`, `"a5 5a"`, `"0xA5,0x5A"`).
pub(crate) fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let digits: String = s
        .split([' ', ',', ':'])
        .map(|t| t.trim_start_matches("0x").trim_start_matches("0X"))
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(Error::source(format!(
            "sync `{s}`: an even number of hex digits expected"
        )));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| Error::source(format!("sync `{s}`: not hex")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;

    fn frame(v: &[i16]) -> Vec<u8> {
        let body: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut f = vec![0xA5, 0x5A];
        f.extend_from_slice(&body);
        f.push(body.iter().fold(0, |a, b| a ^ b));
        f
    }

    #[test]
    fn resyncs_after_garbage_and_bad_checksums() {
        let c = Counters::default();
        let mut p = FrameParser::new(vec![0xA5, 0x5A], RawFormat::I16, Checksum::Xor8, 2);
        let mut bytes = vec![1, 2, 0xA5];
        bytes.extend(frame(&[1, -2]));
        let mut bad = frame(&[3, 4]);
        bad[3] ^= 0x40;
        bytes.extend(&bad);
        bytes.extend([0xA5, 0x5A, 0xA5]);
        bytes.extend(frame(&[5, 6]));
        let mut out = [0.0; 2];
        let mut got = Vec::new();
        // Byte by byte: frames split across reads.
        for b in &bytes {
            p.push(&[*b]);
            while p.next_frame(&mut out, &c) {
                got.push(out);
            }
        }
        assert_eq!(got, vec![[1.0, -2.0], [5.0, 6.0]]);
        assert_eq!(c.frames.load(Relaxed), 2);
        assert_eq!(
            c.malformed.load(Relaxed),
            2,
            "the bad frame, the stray sync"
        );
        assert_eq!(c.skipped.load(Relaxed), bytes.len() as u64 - 2 * 7);
    }

    #[test]
    fn hex_sync() {
        assert_eq!(parse_hex("A55A").unwrap(), vec![0xA5, 0x5A]);
        assert_eq!(parse_hex("0xa5, 0x5a").unwrap(), vec![0xA5, 0x5A]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("A5A").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
