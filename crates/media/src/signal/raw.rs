//! `raw_file`: headerless interleaved little-endian samples (`i16`, `i32` or `f32`), as
//! data loggers and `arecord -t raw` write them. Integer formats give counts. A trailing
//! partial frame is ignored.

use std::io::{BufReader, Read};
use std::path::PathBuf;

use framebus_core::packet::{Packet, PacketPool, PayloadKind};
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceInit, StopFlag};

use super::pacing::Pacer;

/// Sample encodings of `raw_file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum RawFormat {
    /// Signed 16-bit little-endian.
    #[default]
    I16,
    /// Signed 32-bit little-endian.
    I32,
    /// 32-bit float little-endian.
    F32,
}

impl RawFormat {
    pub(crate) fn width(self) -> usize {
        match self {
            Self::I16 => 2,
            Self::I32 | Self::F32 => 4,
        }
    }
}

/// Params of `raw_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RawFileParams {
    /// The file (relative to the config's directory).
    pub path: PathBuf,
    /// Sample encoding.
    pub format: RawFormat,
    /// Interleaved channels.
    #[schemars(range(min = 1, max = 64))]
    pub channels: usize,
    /// Samples per second per channel.
    pub sample_rate: f64,
    /// Frames (samples per channel) in each packet.
    #[schemars(range(min = 1, max = 1_048_576))]
    pub batch_size: usize,
    /// Pace packets at `sample_rate`; false: as fast as possible.
    pub realtime: bool,
}

impl Default for RawFileParams {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            format: RawFormat::I16,
            channels: 1,
            sample_rate: 48_000.0,
            batch_size: 4096,
            realtime: true,
        }
    }
}

/// The `raw_file` source.
pub struct RawFile {
    p: RawFileParams,
    reader: BufReader<std::fs::File>,
    bytes: Vec<u8>,
    pool: PacketPool,
    pacer: Pacer,
    stop: StopFlag,
}

impl Source for RawFile {
    type Params = RawFileParams;
    const KIND: &'static str = "raw_file";
    const DESCRIPTION: &'static str = "Headerless interleaved i16/i32/f32 little-endian samples";
    const GIVES: PayloadKind = PayloadKind::Samples;

    fn new(p: RawFileParams, init: &SourceInit) -> Result<Self> {
        if p.channels == 0 || p.batch_size == 0 || p.sample_rate.is_nan() || p.sample_rate <= 0.0 {
            return Err(Error::source(
                "channels, batch_size and sample_rate must be positive",
            ));
        }
        let path = init.base_dir.join(&p.path);
        let file = std::fs::File::open(&path)
            .map_err(|e| Error::source(format!("cannot open `{}`: {e}", path.display())))?;
        Ok(Self {
            reader: BufReader::new(file),
            bytes: vec![0; p.batch_size * p.channels * p.format.width()],
            pool: PacketPool::new(init.pool_frames.max(2), p.batch_size, p.channels),
            pacer: Pacer::new(init.clock.clone(), p.sample_rate, p.realtime),
            stop: init.stop.clone(),
            p,
        })
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let mut got = 0;
        while got < self.bytes.len() {
            match self.reader.read(&mut self.bytes[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (w, ch) = (self.p.format.width(), self.p.channels);
        let frames = got / (w * ch);
        if frames == 0 {
            return Ok(None);
        }
        let stop = self.stop.clone();
        let Some(mut packet) = self.pool.acquire(|| stop.is_stopped()) else {
            return Ok(None);
        };
        let d = packet.get_mut().expect("a fresh packet is unique");
        d.reshape(frames, ch);
        for (o, b) in d.data.iter_mut().zip(self.bytes.chunks_exact(w)) {
            *o = match self.p.format {
                RawFormat::I16 => i16::from_le_bytes([b[0], b[1]]) as f32,
                RawFormat::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
                RawFormat::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            };
        }
        let (seq, t_ns) = self.pacer.next(frames);
        d.header.seq = seq;
        d.header.t_ns = t_ns;
        d.header.sample_rate = self.p.sample_rate;
        Ok(Some(packet))
    }
}

framebus_core::register_source!(RawFile);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
