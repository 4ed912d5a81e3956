//! [`probe`]: the facts of an MP4 file from its boxes (frames, duration, size, whether the
//! header comes first), without decoding anything. Used to list recordings and clips.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{MediaError, Result};

/// What [`probe`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Mp4Info {
    /// Samples of the first video track.
    pub frames: u64,
    /// Duration of that track in seconds.
    pub duration_s: f64,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// `moov` comes before `mdat` (plays before it is fully downloaded).
    pub faststart: bool,
}

fn corrupt(path: &Path, what: &str) -> MediaError {
    MediaError::Corrupt(format!("{}: {what}", path.display()))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .map(|s| u64::from_be_bytes(s.try_into().expect("8 bytes")))
}

/// The children of a box body: (type, body).
fn children(body: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let size = be32(body, at)? as usize;
        let kind: [u8; 4] = body.get(at + 4..at + 8)?.try_into().ok()?;
        let (start, end) = if size == 1 {
            (at + 16, at + be64(body, at + 8)? as usize)
        } else {
            (at + 8, at + size)
        };
        if size < 8 || end > body.len() {
            return None;
        }
        let out = (kind, &body[start..end]);
        at = end;
        Some(out)
    })
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(body).find(|(k, _)| k == kind).map(|(_, b)| b)
}

/// Reads the boxes of `path`.
pub fn probe(path: &Path) -> Result<Mp4Info> {
    let mut f = File::open(path).map_err(|e| corrupt(path, &e.to_string()))?;
    let len = f
        .metadata()
        .map_err(|e| corrupt(path, &e.to_string()))?
        .len();
    let mut pos = 0u64;
    let mut moov = None;
    let mut mdat_seen = false;
    let mut faststart = false;
    while pos + 8 <= len {
        let mut head = [0u8; 16];
        f.seek(SeekFrom::Start(pos))
            .and_then(|_| f.read_exact(&mut head[..8]))
            .map_err(|e| corrupt(path, &e.to_string()))?;
        let mut size = u64::from(be32(&head, 0).expect("8 bytes"));
        let mut header = 8;
        if size == 1 {
            f.read_exact(&mut head[8..16])
                .map_err(|e| corrupt(path, &e.to_string()))?;
            size = be64(&head, 8).expect("16 bytes");
            header = 16;
        } else if size == 0 {
            size = len - pos;
        }
        if size < header || pos + size > len {
            return Err(corrupt(path, "truncated box"));
        }
        match &head[4..8] {
            b"moov" => {
                let mut body = vec![0u8; (size - header) as usize];
                f.read_exact(&mut body)
                    .map_err(|e| corrupt(path, &e.to_string()))?;
                faststart = !mdat_seen;
                moov = Some(body);
            }
            b"mdat" => mdat_seen = true,
            _ => {}
        }
        pos += size;
    }
    let moov = moov.ok_or_else(|| corrupt(path, "no moov box"))?;
    for (kind, trak) in children(&moov) {
        if &kind != b"trak" {
            continue;
        }
        let Some(mdia) = child(trak, b"mdia") else {
            continue;
        };
        let is_video = child(mdia, b"hdlr").and_then(|h| h.get(8..12)) == Some(b"vide");
        if !is_video {
            continue;
        }
        let mdhd = child(mdia, b"mdhd").ok_or_else(|| corrupt(path, "no mdhd"))?;
        let (timescale, duration) = if mdhd.first() == Some(&1) {
            (be32(mdhd, 20), be64(mdhd, 24))
        } else {
            (be32(mdhd, 12), be32(mdhd, 16).map(u64::from))
        };
        let (timescale, duration) = timescale
            .zip(duration)
            .ok_or_else(|| corrupt(path, "short mdhd"))?;
        let stbl = child(mdia, b"minf")
            .and_then(|m| child(m, b"stbl"))
            .ok_or_else(|| corrupt(path, "no stbl"))?;
        let frames = child(stbl, b"stsz")
            .and_then(|s| be32(s, 8))
            .ok_or_else(|| corrupt(path, "no stsz"))?;
        let (width, height) = child(trak, b"tkhd")
            .and_then(|t| {
                let at = if t.first() == Some(&1) { 88 } else { 76 };
                Some((be32(t, at)? >> 16, be32(t, at + 4)? >> 16))
            })
            .unwrap_or((0, 0));
        return Ok(Mp4Info {
            frames: u64::from(frames),
            duration_s: if timescale == 0 {
                0.0
            } else {
                duration as f64 / f64::from(timescale)
            },
            width,
            height,
            faststart,
        });
    }
    Err(corrupt(path, "no video track"))
}
