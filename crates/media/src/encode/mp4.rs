//! [`Mp4Writer`]: encoded H.264 access units into a faststart MP4 (`moov` before `mdat`, what
//! browsers need to start playing before the whole file is read), written with the `mp4` crate.
//!
//! The file is written as `NAME.mp4.part` and renamed to `NAME.mp4` once complete, so a file
//! with the `.mp4` name is always whole: an interrupted write leaves no half file under it.
//! Samples go to the `mdat` as they come (the `mp4` crate buffers at most a one-second chunk,
//! and this writer holds back one sample until the next one gives its duration), so memory
//! does not grow with the recording's length; only the sample tables do (a few bytes per
//! frame). [`Mp4Writer::finish`] writes the `moov` at the end, then moves it to the front by
//! copying the file once (as `ffmpeg -movflags faststart` does), shifting the chunk offsets.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use mp4::{
    AvcConfig, BoxHeader, BoxType, FourCC, MediaConfig, MoovBox, Mp4Box, Mp4Config, Mp4Sample,
    ReadBox, TrackConfig, TrackType, WriteBox,
};

use crate::error::{MediaError, Result};

/// Track timescale: ticks per second (90 kHz, as MPEG video).
const TIMESCALE: u32 = 90_000;

/// What a finished MP4 holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Mp4Summary {
    /// The final path.
    pub path: PathBuf,
    /// Video frames.
    pub frames: u64,
    /// Duration in seconds (last timestamp plus one frame).
    pub duration_s: f64,
    /// File size in bytes.
    pub bytes: u64,
}

/// A sample waiting for the next one to give its duration.
struct Held {
    ticks: u64,
    sync: bool,
    data: Bytes,
}

/// An MP4 being written; [`Mp4Writer::finish`] completes it.
pub struct Mp4Writer {
    /// The file until the first keyframe gives the track's parameter sets.
    file: Option<BufWriter<File>>,
    muxer: Option<mp4::Mp4Writer<BufWriter<File>>>,
    part: PathBuf,
    path: PathBuf,
    width: u16,
    height: u16,
    frame_ticks: u64,
    first_t_ns: Option<u64>,
    held: Option<Held>,
    avcc: Vec<u8>,
    frames: u64,
    bytes: u64,
}

impl std::fmt::Debug for Mp4Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Writer")
            .field("path", &self.path)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> MediaError {
    MediaError::Encode(format!("{}: {e}", path.display()))
}

/// The NAL units of an Annex B access unit (start codes `00 00 01` or `00 00 00 01`).
fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| {
            // Drop the start code and the zero byte of a four-byte one before it.
            let mut e = s - 3;
            while e > 0 && data[e - 1] == 0 {
                e -= 1;
            }
            e
        })
        .chain(std::iter::once(data.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .filter(|(s, e)| s < e)
        .map(move |(s, e)| &data[s..e])
}

impl Mp4Writer {
    /// Starts `path` (an `.mp4`) for `width`×`height` video at about `fps`.
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<Self> {
        let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
            return Err(io_err(
                path,
                format!("{width}×{height} is too large for MP4"),
            ));
        };
        let part = path.with_extension("mp4.part");
        let file = File::create(&part).map_err(|e| io_err(&part, e))?;
        Ok(Self {
            file: Some(BufWriter::new(file)),
            muxer: None,
            part,
            path: path.to_owned(),
            width: w,
            height: h,
            frame_ticks: (f64::from(TIMESCALE) / fps.max(1.0)).round().max(1.0) as u64,
            first_t_ns: None,
            held: None,
            avcc: Vec::new(),
            frames: 0,
            bytes: 0,
        })
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Encoded bytes written so far (the file will be this plus a small header).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Capture time of the first frame.
    pub fn first_t_ns(&self) -> Option<u64> {
        self.first_t_ns
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds one access unit (Annex B, as the encoder gives it) captured at `t_ns`. The first
    /// must be a keyframe with its SPS and PPS. Timestamps that do not increase are moved
    /// 1 ms after the previous one.
    pub fn write(&mut self, t_ns: u64, data: &[u8], keyframe: bool) -> Result<()> {
        // Length-prefixed NAL units; the parameter sets go to the track header instead.
        self.avcc.clear();
        let (mut sps, mut pps) = (None, None);
        for nal in nal_units(data) {
            match nal[0] & 0x1f {
                7 => sps = sps.or(Some(nal)),
                8 => pps = pps.or(Some(nal)),
                9 => {}
                _ => {
                    self.avcc
                        .extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    self.avcc.extend_from_slice(nal);
                }
            }
        }
        if self.muxer.is_none() {
            let (true, Some(sps), Some(pps)) = (keyframe, sps, pps) else {
                return Err(io_err(
                    &self.path,
                    "the first frame must be a keyframe with its SPS and PPS",
                ));
            };
            self.start(sps, pps)?;
        }
        if self.avcc.is_empty() {
            return Err(io_err(&self.path, "an access unit without a picture"));
        }
        let first = *self.first_t_ns.get_or_insert(t_ns);
        let mut ticks = (t_ns.saturating_sub(first) as u128 * u128::from(TIMESCALE) + 500_000_000)
            / 1_000_000_000;
        if let Some(h) = &self.held
            && ticks <= u128::from(h.ticks)
        {
            ticks = u128::from(h.ticks) + u128::from(TIMESCALE / 1000);
        }
        let ticks = u64::try_from(ticks).map_err(|e| io_err(&self.path, e))?;
        let next = Held {
            ticks,
            sync: keyframe,
            data: Bytes::copy_from_slice(&self.avcc),
        };
        if let Some(prev) = self.held.replace(next) {
            self.put(prev, ticks)?;
        }
        self.frames += 1;
        self.bytes += data.len() as u64;
        Ok(())
    }

    fn start(&mut self, sps: &[u8], pps: &[u8]) -> Result<()> {
        let file = self
            .file
            .take()
            .expect("the file is kept until the track starts");
        let brand = |s: &str| s.parse::<FourCC>().expect("a four-letter brand");
        let config = Mp4Config {
            major_brand: brand("isom"),
            minor_version: 512,
            compatible_brands: vec![brand("isom"), brand("iso2"), brand("avc1"), brand("mp41")],
            timescale: 1000,
        };
        let mut muxer =
            mp4::Mp4Writer::write_start(file, &config).map_err(|e| io_err(&self.part, e))?;
        muxer
            .add_track(&TrackConfig {
                track_type: TrackType::Video,
                timescale: TIMESCALE,
                language: "und".into(),
                media_conf: MediaConfig::AvcConfig(AvcConfig {
                    width: self.width,
                    height: self.height,
                    seq_param_set: sps.to_vec(),
                    pic_param_set: pps.to_vec(),
                }),
            })
            .map_err(|e| io_err(&self.part, e))?;
        self.muxer = Some(muxer);
        Ok(())
    }

    /// Writes a held sample, which lasts until `until` (ticks).
    fn put(&mut self, s: Held, until: u64) -> Result<()> {
        let duration = u32::try_from(until.saturating_sub(s.ticks).max(1))
            .map_err(|e| io_err(&self.path, e))?;
        let muxer = self.muxer.as_mut().expect("a sample implies a track");
        muxer
            .write_sample(
                1,
                &Mp4Sample {
                    start_time: s.ticks,
                    duration,
                    rendering_offset: 0,
                    is_sync: s.sync,
                    bytes: s.data,
                },
            )
            .map_err(|e| io_err(&self.part, e))
    }

    /// Writes the last sample and the header, puts the header first, then renames the file
    /// to its final name.
    pub fn finish(mut self) -> Result<Mp4Summary> {
        let Some(last) = self.held.take() else {
            return Err(io_err(&self.path, "no frame was written"));
        };
        // The last frame lasts as long as the one before it (one frame period if alone).
        let step = if self.frames > 1 {
            (last.ticks + (self.frames - 1) / 2) / (self.frames - 1)
        } else {
            self.frame_ticks
        };
        let end = last.ticks + step.max(1);
        self.put(last, end)?;
        let mut muxer = self.muxer.take().expect("a sample implies a track");
        muxer.write_end().map_err(|e| io_err(&self.part, e))?;
        let mut file = muxer.into_writer();
        file.flush().map_err(|e| io_err(&self.part, e))?;
        drop(file);
        let fast = self.path.with_extension("mp4.fast.part");
        let written = faststart(&self.part, &fast).map_err(|e| {
            let _ = std::fs::remove_file(&fast);
            io_err(&self.path, e)
        });
        let _ = std::fs::remove_file(&self.part);
        let bytes = written?;
        std::fs::rename(&fast, &self.path).map_err(|e| io_err(&self.path, e))?;
        Ok(Mp4Summary {
            path: self.path.clone(),
            frames: self.frames,
            duration_s: end as f64 / f64::from(TIMESCALE),
            bytes,
        })
    }
}

/// Copies `src` (`ftyp`, `mdat`, `moov`) to `dst` as `ftyp`, `moov`, `mdat`, with the chunk
/// offsets moved by the `moov`'s size (64-bit offsets where 32 bits no longer reach); the
/// new file's size.
fn faststart(src: &Path, dst: &Path) -> std::result::Result<u64, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut r = BufReader::new(File::open(src).map_err(|x| e(&x))?);
    let len = r.get_ref().metadata().map_err(|x| e(&x))?.len();
    let (mut ftyp, mut mdat, mut moov) = (None, None, None);
    let mut at = 0;
    while at < len {
        r.seek(SeekFrom::Start(at)).map_err(|x| e(&x))?;
        let h = BoxHeader::read(&mut r).map_err(|x| e(&x))?;
        if h.size < 8 || at + h.size > len {
            return Err(format!(
                "a box of {} bytes at {at} runs past the end",
                h.size
            ));
        }
        match h.name {
            BoxType::FtypBox => ftyp = Some((at, h.size)),
            BoxType::MdatBox => mdat = Some((at, h.size)),
            BoxType::MoovBox => moov = Some(MoovBox::read_box(&mut r, h.size).map_err(|x| e(&x))?),
            _ => {}
        }
        at += h.size;
    }
    let (Some((f_at, f_size)), Some((m_at, m_size)), Some(mut moov)) = (ftyp, mdat, moov) else {
        return Err("the file lacks an ftyp, mdat or moov box".into());
    };
    let old: Vec<Vec<u64>> = moov
        .traks
        .iter()
        .map(|t| {
            let stbl = &t.mdia.minf.stbl;
            match (&stbl.stco, &stbl.co64) {
                (Some(s), _) => s.entries.iter().map(|&o| u64::from(o)).collect(),
                (None, Some(c)) => c.entries.clone(),
                (None, None) => Vec::new(),
            }
        })
        .collect();
    // The `mp4` crate sums the movie-timescale durations frame by frame, truncating each;
    // take them from the exact track durations instead.
    let movie = u64::from(moov.mvhd.timescale);
    let mut longest = 0;
    for t in &mut moov.traks {
        let track = u64::from(t.mdia.mdhd.timescale.max(1));
        t.tkhd.duration = (t.mdia.mdhd.duration * movie + track / 2) / track;
        longest = longest.max(t.tkhd.duration);
    }
    moov.mvhd.duration = longest;
    // The moov's size depends on the offsets' width, which depends on the moov's size.
    let mut shift = moov.box_size();
    for _ in 0..3 {
        let new_mdat = f_size + shift;
        for (t, offsets) in moov.traks.iter_mut().zip(&old) {
            let moved = offsets.iter().map(|o| o - m_at + new_mdat);
            let stbl = &mut t.mdia.minf.stbl;
            if offsets
                .last()
                .is_some_and(|o| o - m_at + new_mdat > u64::from(u32::MAX))
            {
                let mut co64 = stbl.co64.take().unwrap_or_default();
                co64.entries = moved.collect();
                (stbl.stco, stbl.co64) = (None, Some(co64));
            } else {
                let mut stco = stbl.stco.take().unwrap_or_default();
                // In range: the last offset is the largest.
                stco.entries = moved.map(|o| o as u32).collect();
                (stbl.stco, stbl.co64) = (Some(stco), None);
            }
        }
        if moov.box_size() == shift {
            break;
        }
        shift = moov.box_size();
    }
    if moov.box_size() != shift {
        return Err("the moov's size does not settle".into());
    }
    let mut w = BufWriter::new(File::create(dst).map_err(|x| e(&x))?);
    let copy = |r: &mut BufReader<File>, w: &mut BufWriter<File>, at: u64, n: u64| {
        r.seek(SeekFrom::Start(at)).map_err(|x| e(&x))?;
        let copied = std::io::copy(&mut r.by_ref().take(n), w).map_err(|x| e(&x))?;
        if copied == n {
            Ok(())
        } else {
            Err(format!("{src:?} ended {} bytes early", n - copied))
        }
    };
    copy(&mut r, &mut w, f_at, f_size)?;
    moov.write_box(&mut w).map_err(|x| e(&x))?;
    copy(&mut r, &mut w, m_at, m_size)?;
    let file = w.into_inner().map_err(|x| e(&x))?;
    file.sync_all().map_err(|x| e(&x))?;
    Ok(f_size + shift + m_size)
}

impl Drop for Mp4Writer {
    fn drop(&mut self) {
        // Finished, the part files are gone already; otherwise (an error, or no frame was
        // ever written) leave no partial file.
        let _ = std::fs::remove_file(&self.part);
        let _ = std::fs::remove_file(self.path.with_extension("mp4.fast.part"));
    }
}
