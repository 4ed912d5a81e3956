//! MP4 demuxing: the H.264 track's sample table, flattened once at open, and samples read
//! into a reused buffer as Annex-B (start-code) NAL units for the decoder.
//!
//! The `mp4` crate parses the boxes; the sample table (offsets, sizes, decode and
//! composition times) is computed here from `stsz`/`stsc`/`stco`/`co64`/`stts`/`ctts` so that
//! reading a sample costs one seek and one read into a buffer that is kept between samples.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use mp4::{Mp4Reader, Mp4Track, TrackType};

/// One compressed picture in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Byte offset in the file.
    pub(crate) offset: u64,
    /// Size in bytes.
    pub(crate) size: u32,
    /// Presentation time in track timescale units (decode time + composition offset).
    pub(crate) pts: i64,
}

/// An opened MP4 with one H.264 video track.
pub(crate) struct Mp4H264 {
    path: PathBuf,
    file: BufReader<File>,
    /// Samples in decode order.
    pub(crate) samples: Vec<Sample>,
    /// Track timescale (ticks per second).
    pub(crate) timescale: u32,
    /// Coded width and height from the sample description.
    pub(crate) width: u32,
    /// See `width`.
    pub(crate) height: u32,
    /// Bytes of each NAL length prefix (1, 2 or 4).
    length_size: usize,
    /// SPS and PPS as Annex-B, fed before the first sample and after a restart.
    pub(crate) parameter_sets: Vec<u8>,
    /// Presentation times of all samples, ascending (the order the decoder outputs pictures).
    pub(crate) pts_sorted: Vec<i64>,
    /// Length of the track in timescale units (last presentation end − first presentation).
    pub(crate) duration: i64,
    raw: Vec<u8>,
}

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Why a file cannot be opened as an H.264 MP4.
pub(crate) fn open_error(path: &Path, why: impl std::fmt::Display) -> String {
    format!("video_file {}: {why}", path.display())
}

impl Mp4H264 {
    /// Opens `path`, finds its video track and checks that it is H.264.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| open_error(path, format!("cannot open: {e}")))?;
        let size = file
            .metadata()
            .map_err(|e| open_error(path, format!("cannot stat: {e}")))?
            .len();
        let mut reader = BufReader::new(file);
        let extent = complete_boxes(&mut reader, size)
            .map_err(|e| open_error(path, format!("cannot read: {e}")))?;
        if !extent.has_moov {
            return Err(open_error(
                path,
                if extent.len == 0 {
                    "not a readable MP4: no MP4 box at the start of the file".to_string()
                } else {
                    "not a readable MP4: no complete moov box (the index; a file cut short has none unless written with faststart)".to_string()
                },
            ));
        }
        reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| open_error(path, format!("cannot read: {e}")))?;
        let size = extent.len;
        // The box parser is third-party code reading untrusted bytes; a panic in it is a
        // malformed file, not a reason to take the capture thread down.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Mp4Reader::read_header(reader, size)
        }))
        .map_err(|_| open_error(path, "not a readable MP4 (the box parser failed)"))?
        .map_err(|e| open_error(path, format!("not a readable MP4: {e}")))?;
        if parsed.is_fragmented() {
            return Err(open_error(
                path,
                "fragmented MP4 is not supported by video_file (remux with `ffmpeg -i in.mp4 -c copy out.mp4`)",
            ));
        }
        let track = parsed
            .tracks()
            .values()
            .filter(|t| matches!(t.track_type(), Ok(TrackType::Video)))
            .min_by_key(|t| t.track_id())
            .ok_or_else(|| open_error(path, "no video track"))?;
        let stsd = &track.trak.mdia.minf.stbl.stsd;
        let Some(avc1) = stsd.avc1.as_ref() else {
            let codec = if stsd.hev1.is_some() {
                "H.265/HEVC".to_string()
            } else if stsd.vp09.is_some() {
                "VP9".to_string()
            } else {
                "an unrecognised codec".to_string()
            };
            return Err(open_error(
                path,
                format!(
                    "the video track is {codec}; video_file decodes H.264 only (use the gstreamer source for other codecs)"
                ),
            ));
        };
        let avcc = &avc1.avcc;
        let length_size = usize::from(avcc.length_size_minus_one & 3) + 1;
        if length_size == 3 {
            return Err(open_error(path, "invalid avcC NAL length size 3"));
        }
        let mut parameter_sets = Vec::new();
        for nal in avcc
            .sequence_parameter_sets
            .iter()
            .chain(&avcc.picture_parameter_sets)
        {
            parameter_sets.extend_from_slice(&START_CODE);
            parameter_sets.extend_from_slice(&nal.bytes);
        }
        if avcc.sequence_parameter_sets.is_empty() || avcc.picture_parameter_sets.is_empty() {
            return Err(open_error(path, "the avcC box holds no SPS or PPS"));
        }
        let timescale = track.trak.mdia.mdhd.timescale;
        if timescale == 0 {
            return Err(open_error(path, "the video track's timescale is 0"));
        }
        let (samples, duration) =
            sample_table(track).map_err(|e| open_error(path, format!("bad sample table: {e}")))?;
        if samples.is_empty() {
            return Err(open_error(path, "the video track has no frames"));
        }
        let mut pts_sorted: Vec<i64> = samples.iter().map(|s| s.pts).collect();
        pts_sorted.sort_unstable();
        let max_size = samples.iter().map(|s| s.size).max().unwrap_or(0) as usize;
        let file = File::open(path).map_err(|e| open_error(path, format!("cannot open: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: BufReader::new(file),
            samples,
            timescale,
            width: u32::from(avc1.width),
            height: u32::from(avc1.height),
            length_size,
            parameter_sets,
            pts_sorted,
            duration,
            raw: Vec::with_capacity(max_size),
        })
    }

    /// The file this reads.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads sample `index` (0-based, decode order) and appends it to `out` as Annex-B NAL
    /// units. Errors name the problem (short read, bad NAL length); the caller adds the file
    /// and frame.
    pub(crate) fn read_annexb(&mut self, index: usize, out: &mut Vec<u8>) -> Result<(), String> {
        let s = self.samples[index];
        self.raw.resize(s.size as usize, 0);
        self.file
            .seek(SeekFrom::Start(s.offset))
            .and_then(|_| self.file.read_exact(&mut self.raw))
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    format!(
                        "the file ends before this frame's {} bytes at offset {} (truncated?)",
                        s.size, s.offset
                    )
                } else {
                    format!("read failed: {e}")
                }
            })?;
        length_prefixed_to_annexb(&self.raw, self.length_size, out)
    }
}

/// The top-level boxes that fit whole in the file.
struct Extent {
    /// Bytes covered by whole boxes from the start (a truncated `mdat` is left out).
    len: u64,
    /// Whether a whole `moov` box is among them.
    has_moov: bool,
}

/// Walks the top-level boxes (8-byte headers, 64-bit sizes, size 0 = to the end) and stops
/// at the first one that does not fit in `size` bytes.
fn complete_boxes(r: &mut (impl Read + Seek), size: u64) -> std::io::Result<Extent> {
    let mut at = 0u64;
    let mut has_moov = false;
    while at + 8 <= size {
        r.seek(SeekFrom::Start(at))?;
        let mut h = [0u8; 16];
        r.read_exact(&mut h[..8])?;
        let mut len = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        let kind = [h[4], h[5], h[6], h[7]];
        if !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            break;
        }
        if len == 1 {
            if at + 16 > size {
                break;
            }
            r.read_exact(&mut h[8..16])?;
            len = u64::from_be_bytes(h[8..16].try_into().expect("8 bytes"));
        } else if len == 0 {
            len = size - at;
        }
        if len < 8 || at.checked_add(len).is_none_or(|end| end > size) {
            break;
        }
        has_moov |= &kind == b"moov";
        at += len;
    }
    Ok(Extent { len: at, has_moov })
}

/// Converts length-prefixed NAL units (as stored in MP4) to start-code form, appending to
/// `out`.
pub(crate) fn length_prefixed_to_annexb(
    mut data: &[u8],
    length_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    while !data.is_empty() {
        if data.len() < length_size {
            return Err(format!(
                "{} stray bytes after the last NAL unit",
                data.len()
            ));
        }
        let len = data[..length_size]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        data = &data[length_size..];
        if len > data.len() {
            return Err(format!(
                "a NAL unit claims {len} bytes but only {} remain in the sample",
                data.len()
            ));
        }
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&data[..len]);
        data = &data[len..];
    }
    Ok(())
}

/// Flattens the track's sample table into decode-ordered samples, and returns the track's
/// presentation length.
fn sample_table(track: &Mp4Track) -> Result<(Vec<Sample>, i64), String> {
    let stbl = &track.trak.mdia.minf.stbl;
    let count = stbl.stsz.sample_count as usize;
    let size_of = |i: usize| -> Result<u32, String> {
        if stbl.stsz.sample_size > 0 {
            Ok(stbl.stsz.sample_size)
        } else {
            stbl.stsz
                .sample_sizes
                .get(i)
                .copied()
                .ok_or_else(|| format!("stsz has no size for sample {}", i + 1))
        }
    };
    let chunks: Vec<u64> = match (&stbl.stco, &stbl.co64) {
        (Some(stco), _) => stco.entries.iter().map(|&o| u64::from(o)).collect(),
        (None, Some(co64)) => co64.entries.clone(),
        (None, None) => return Err("no chunk offsets (stco/co64)".into()),
    };
    // Offsets: walk chunks with the stsc runs.
    let mut offsets = Vec::with_capacity(count);
    let entries = &stbl.stsc.entries;
    'runs: for (k, e) in entries.iter().enumerate() {
        let first = e.first_chunk.max(1) as usize;
        let last = entries
            .get(k + 1)
            .map_or(chunks.len(), |n| (n.first_chunk as usize).saturating_sub(1));
        for chunk in first..=last.min(chunks.len()) {
            let mut offset = chunks[chunk - 1];
            for _ in 0..e.samples_per_chunk {
                if offsets.len() == count {
                    break 'runs;
                }
                offsets.push(offset);
                offset += u64::from(size_of(offsets.len() - 1)?);
            }
        }
    }
    if offsets.len() != count {
        return Err(format!(
            "stsc/stco locate {} of {count} samples",
            offsets.len()
        ));
    }
    // Decode times from stts, composition offsets from ctts.
    let mut dts = Vec::with_capacity(count);
    let mut t = 0i64;
    let mut last_delta = 0i64;
    for e in &stbl.stts.entries {
        for _ in 0..e.sample_count {
            if dts.len() == count {
                break;
            }
            dts.push(t);
            last_delta = i64::from(e.sample_delta);
            t += last_delta;
        }
    }
    if dts.len() != count {
        return Err(format!("stts times {} of {count} samples", dts.len()));
    }
    let mut cts = vec![0i64; count];
    if let Some(ctts) = &stbl.ctts {
        let mut i = 0;
        for e in &ctts.entries {
            for _ in 0..e.sample_count {
                if i < count {
                    cts[i] = i64::from(e.sample_offset);
                    i += 1;
                }
            }
        }
    }
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        samples.push(Sample {
            offset: offsets[i],
            size: size_of(i)?,
            pts: dts[i] + cts[i],
        });
    }
    let first = samples.iter().map(|s| s.pts).min().unwrap_or(0);
    let end = samples.iter().map(|s| s.pts).max().unwrap_or(0) + last_delta;
    Ok((samples, end - first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_become_start_codes() {
        let mut out = Vec::new();
        length_prefixed_to_annexb(&[0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x41], 4, &mut out)
            .unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xaa, 0, 0, 0, 1, 0x41]);
        out.clear();
        length_prefixed_to_annexb(&[0, 3, 1, 2, 3], 2, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 1, 2, 3]);
    }

    #[test]
    fn a_nal_longer_than_its_sample_is_refused() {
        let mut out = Vec::new();
        let e = length_prefixed_to_annexb(&[0, 0, 0, 9, 0x65], 4, &mut out).unwrap_err();
        assert!(e.contains("claims 9 bytes"), "{e}");
        let e = length_prefixed_to_annexb(&[0, 0], 4, &mut out).unwrap_err();
        assert!(e.contains("stray"), "{e}");
    }
}
