//! [`Mp4Writer`]: encoded H.264 access units into a faststart MP4 (`moov` before `mdat`, what
//! browsers need to start playing before the whole file is read), written by muxide.
//!
//! The file is written as `NAME.mp4.part` and renamed to `NAME.mp4` once complete, so a file
//! with the `.mp4` name is always whole: an interrupted write leaves no half file under it.
//! muxide keeps the samples in memory until [`Mp4Writer::finish`] (about 450 MB an hour at
//! 1 Mbit/s), then writes the header and the samples in one go.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use muxide::api::{Muxer, MuxerBuilder, VideoCodec};

use crate::error::{MediaError, Result};

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

/// An MP4 being written; [`Mp4Writer::finish`] completes it.
pub struct Mp4Writer {
    muxer: Option<Muxer<BufWriter<File>>>,
    part: PathBuf,
    path: PathBuf,
    first_t_ns: Option<u64>,
    last_pts: f64,
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

impl Mp4Writer {
    /// Starts `path` (an `.mp4`) for `width`×`height` video at about `fps`.
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<Self> {
        let part = path.with_extension("mp4.part");
        let file = File::create(&part).map_err(|e| io_err(&part, e))?;
        let muxer = MuxerBuilder::new(BufWriter::new(file))
            .video(VideoCodec::H264, width, height, fps.max(1.0))
            .with_fast_start(true)
            .build()
            .map_err(|e| io_err(path, e))?;
        Ok(Self {
            muxer: Some(muxer),
            part,
            path: path.to_owned(),
            first_t_ns: None,
            last_pts: -1.0,
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

    /// Adds one access unit captured at `t_ns`. The first must be a keyframe. Timestamps
    /// that do not increase are moved 1 ms after the previous one.
    pub fn write(&mut self, t_ns: u64, data: &[u8], keyframe: bool) -> Result<()> {
        let Some(muxer) = self.muxer.as_mut() else {
            return Err(io_err(&self.path, "already finished"));
        };
        let first = *self.first_t_ns.get_or_insert(t_ns);
        let mut pts = t_ns.saturating_sub(first) as f64 / 1e9;
        if pts <= self.last_pts {
            pts = self.last_pts + 0.001;
        }
        muxer
            .write_video(pts, data, keyframe)
            .map_err(|e| io_err(&self.path, e))?;
        self.last_pts = pts;
        self.frames += 1;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Writes the header and samples, then renames the file to its final name.
    pub fn finish(mut self) -> Result<Mp4Summary> {
        let muxer = self.muxer.take().expect("finish once");
        let stats = muxer
            .finish_with_stats()
            .map_err(|e| io_err(&self.path, e))?;
        std::fs::rename(&self.part, &self.path).map_err(|e| io_err(&self.path, e))?;
        Ok(Mp4Summary {
            path: self.path.clone(),
            frames: stats.video_frames,
            duration_s: stats.duration_secs,
            bytes: stats.bytes_written,
        })
    }
}

impl Drop for Mp4Writer {
    fn drop(&mut self) {
        // Not finished (an error, or no frame was ever written): leave no partial file.
        if self.muxer.is_some() {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}
