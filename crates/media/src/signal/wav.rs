//! `wav_file`: the samples of a WAV file (read with `hound`), in packets of `batch_size`
//! frames. Integer files give counts (as an ADC would, for `to_voltage`); float files give
//! their values. With `realtime` the clock paces packets at the file's rate.

use std::io::BufReader;
use std::path::PathBuf;

use framebus_core::packet::{Packet, PacketPool, PayloadKind};
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceInit, StopFlag};

use super::pacing::Pacer;

/// Params of `wav_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WavFileParams {
    /// The file (relative to the config's directory).
    pub path: PathBuf,
    /// Frames (samples per channel) in each packet.
    #[schemars(range(min = 1, max = 1_048_576))]
    pub batch_size: usize,
    /// Pace packets at the file's sample rate; false: as fast as possible.
    pub realtime: bool,
    /// Start again at the end.
    pub looping: bool,
}

impl Default for WavFileParams {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            batch_size: 4096,
            realtime: true,
            looping: false,
        }
    }
}

/// The `wav_file` source.
pub struct WavFile {
    p: WavFileParams,
    path: PathBuf,
    reader: hound::WavReader<BufReader<std::fs::File>>,
    spec: hound::WavSpec,
    pool: PacketPool,
    pacer: Pacer,
    stop: StopFlag,
}

fn open(path: &std::path::Path) -> Result<hound::WavReader<BufReader<std::fs::File>>> {
    hound::WavReader::open(path)
        .map_err(|e| Error::source(format!("cannot read WAV `{}`: {e}", path.display())))
}

impl WavFile {
    /// The file's format.
    pub fn spec(&self) -> hound::WavSpec {
        self.spec
    }

    fn read_into(&mut self, out: &mut [f32]) -> Result<usize> {
        let mut n = 0;
        let bad = |e: hound::Error| Error::source(format!("corrupt WAV: {e}"));
        match self.spec.sample_format {
            hound::SampleFormat::Float => {
                for (o, s) in out.iter_mut().zip(self.reader.samples::<f32>()) {
                    *o = s.map_err(bad)?;
                    n += 1;
                }
            }
            hound::SampleFormat::Int => {
                for (o, s) in out.iter_mut().zip(self.reader.samples::<i32>()) {
                    *o = s.map_err(bad)? as f32;
                    n += 1;
                }
            }
        }
        Ok(n)
    }
}

impl Source for WavFile {
    type Params = WavFileParams;
    const KIND: &'static str = "wav_file";
    const DESCRIPTION: &'static str = "Samples of a WAV file (integer files give counts)";
    const GIVES: PayloadKind = PayloadKind::Samples;

    fn new(p: WavFileParams, init: &SourceInit) -> Result<Self> {
        let path = init.base_dir.join(&p.path);
        let reader = open(&path)?;
        let spec = reader.spec();
        let ch = spec.channels as usize;
        Ok(Self {
            pool: PacketPool::new(init.pool_frames.max(2), p.batch_size, ch),
            pacer: Pacer::new(init.clock.clone(), spec.sample_rate as f64, p.realtime),
            stop: init.stop.clone(),
            path,
            reader,
            spec,
            p,
        })
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let stop = self.stop.clone();
        let Some(mut packet) = self.pool.acquire(|| stop.is_stopped()) else {
            return Ok(None);
        };
        let ch = self.spec.channels as usize;
        let mut buf = std::mem::take(&mut packet.get_mut().expect("unique").data);
        let mut got = self.read_into(&mut buf)?;
        if got < buf.len() && self.p.looping {
            self.reader = open(&self.path)?;
            got += self.read_into(&mut buf[got..])?;
        }
        let frames = got / ch;
        let d = packet.get_mut().expect("unique");
        d.data = buf;
        if frames == 0 {
            return Ok(None);
        }
        d.reshape(frames, ch);
        let (seq, t_ns) = self.pacer.next(frames);
        d.header.seq = seq;
        d.header.t_ns = t_ns;
        d.header.sample_rate = self.spec.sample_rate as f64;
        Ok(Some(packet))
    }
}

framebus_core::register_source!(WavFile);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
