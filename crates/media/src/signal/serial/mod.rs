//! `serial`: a serial port (USB CDC-ACM Arduino, FTDI/CH340 adapter, any tty) streaming
//! samples, the sensor most people actually have.
//!
//! Two wire formats ([`SerialFormat`]):
//! - `lines`: one text line per sample, `channels` numbers separated by commas, semicolons,
//!   tabs or spaces; Arduino Serial Plotter `label:value` tokens are accepted
//!   ([`lines`]). The first (possibly partial) line after opening is skipped unless
//!   `skip_first_line = false`.
//! - `binary`: fixed frames of `sync` bytes, `frame_samples × channels` little-endian
//!   `i16`/`i32`/`f32` values and an optional checksum byte ([`frames`]); the stream is
//!   resynchronised on the sync pattern after garbage.
//!
//! Malformed lines and frames never stop the source: they are counted ([`SerialCounters`]),
//! logged (the 1st, 2nd, 4th, 8th… with the offending bytes) and skipped. Samples are
//! collected into pooled packets of `batch_size` samples per channel; a packet is also sent
//! early once its first sample is `flush_ms` old, so slow sensors still reach the plots.
//! `t_ns` is the injected clock's time when a packet's first sample arrived;
//! `sample_rate` is the nominal rate the device sends at (the header's rate, which
//! filters and the FFT use).
//!
//! A device missing at start is an error naming it. A device that disappears (unplugged,
//! hang-up) ends the current packet early and the next call returns an error; later calls
//! try to reopen it, each failure an error, so the runtime retries with its backoff
//! (50 ms doubling to 5 s) and reports each attempt as an alert. Reopening resets the
//! parser (and skips the first line again).

mod frames;
mod lines;
mod port;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use framebus_core::clock::Clock;
use framebus_core::packet::{Packet, PacketPool, PayloadKind};
use framebus_core::prelude::*;
use framebus_core::source::{Source, SourceCounters, SourceInit, StopFlag};

use self::frames::FrameParser;
use self::lines::LineParser;
use self::port::{Port, Read};
use super::RawFormat;

/// Wire formats of `serial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum SerialFormat {
    /// Text lines of numbers, one sample per channel per line.
    #[default]
    Lines,
    /// Fixed binary frames.
    Binary,
}

/// Checksum byte ending each binary frame, computed over the values (not the sync bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    /// No checksum byte.
    #[default]
    None,
    /// XOR of the value bytes.
    Xor8,
    /// Sum of the value bytes modulo 256.
    Sum8,
}

/// Params of `serial`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SerialParams {
    /// Device path (`/dev/ttyACM0`, `/dev/ttyUSB0`, a `/dev/serial/by-id/…` link).
    pub device: String,
    /// Baud rate (any rate the driver takes; USB CDC ignores it).
    #[schemars(range(min = 50, max = 16_000_000))]
    pub baud: u32,
    /// `lines` (text) or `binary` (fixed frames).
    pub format: SerialFormat,
    /// Values per sample (interleaved channels).
    #[schemars(range(min = 1, max = 64))]
    pub channels: usize,
    /// Samples per second per channel the device sends (written into packet headers).
    pub sample_rate: f64,
    /// Samples per channel in each packet.
    #[schemars(range(min = 1, max = 65_536))]
    pub batch_size: usize,
    /// Send a partial packet once its first sample is this old (0: only full packets).
    #[schemars(range(min = 0, max = 60_000))]
    pub flush_ms: u64,
    /// `lines`: skip the first line after opening (usually cut off mid-way).
    pub skip_first_line: bool,
    /// `lines`: longest valid line in bytes; longer lines are malformed.
    #[schemars(range(min = 8, max = 65_536))]
    pub max_line: usize,
    /// `binary`: sync bytes starting each frame, hex (`"A55A"`); empty: frames back to back
    /// (no resynchronisation possible).
    pub sync: String,
    /// `binary`: value encoding (little-endian).
    pub sample_type: RawFormat,
    /// `binary`: samples per channel in one frame.
    #[schemars(range(min = 1, max = 4096))]
    pub frame_samples: usize,
    /// `binary`: checksum byte after the values.
    pub checksum: Checksum,
}

impl Default for SerialParams {
    fn default() -> Self {
        Self {
            device: "/dev/ttyACM0".into(),
            baud: 115_200,
            format: SerialFormat::Lines,
            channels: 1,
            sample_rate: 100.0,
            batch_size: 16,
            flush_ms: 100,
            skip_first_line: true,
            max_line: 1024,
            sync: String::new(),
            sample_type: RawFormat::I16,
            frame_samples: 1,
            checksum: Checksum::None,
        }
    }
}

/// Counts kept by a `serial` source, shared with whoever holds [`SerialSource::counters`].
#[derive(Debug, Default)]
pub struct SerialCounters {
    /// Valid lines or frames parsed.
    pub frames: AtomicU64,
    /// Lines or frames rejected (wrong value count, not a number, too long, bad checksum,
    /// non-finite value).
    pub malformed: AtomicU64,
    /// `binary`: bytes that belong to no accepted frame.
    pub skipped: AtomicU64,
    /// Times the device was lost.
    pub disconnects: AtomicU64,
    /// Times it was reopened after being lost.
    pub reconnects: AtomicU64,
}

pub(crate) type Counters = SerialCounters;

impl SourceCounters for SerialCounters {
    fn read(&self) -> Vec<(&'static str, u64)> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("frames", get(&self.frames)),
            ("malformed", get(&self.malformed)),
            ("skipped_bytes", get(&self.skipped)),
            ("disconnects", get(&self.disconnects)),
            ("reconnects", get(&self.reconnects)),
        ]
    }
}

impl SerialCounters {
    fn frame(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
    }

    fn skip(&self, n: usize) {
        self.skipped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts one rejected line or frame; logs the 1st, 2nd, 4th, 8th… with its bytes.
    fn malformed(&self, why: &str, bytes: &[u8]) {
        let n = self.malformed.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            let shown = &bytes[..bytes.len().min(80)];
            tracing::warn!(
                malformed = n,
                "serial: skipped a malformed line/frame ({why}): {:?}",
                String::from_utf8_lossy(shown)
            );
        }
    }
}

enum Parser {
    Lines(LineParser),
    Frames(FrameParser),
}

/// The `serial` source.
pub struct SerialSource {
    p: SerialParams,
    port: Option<Port>,
    /// The device was lost; the next call reports it before trying to reopen.
    lost: Option<String>,
    parser: Parser,
    read_buf: Vec<u8>,
    /// One line's values, or one binary frame's `frame_samples × channels` values.
    row: Vec<f32>,
    /// Rows of the last binary frame not yet copied into a packet.
    row_pending: (usize, usize),
    current: Option<Packet>,
    filled: usize,
    first_ns: u64,
    last_t_ns: u64,
    seq: u64,
    counters: Arc<SerialCounters>,
    pool: PacketPool,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
}

impl SerialSource {
    /// The counts of parsed, malformed and skipped input (shared; read at any time).
    pub fn counters(&self) -> Arc<SerialCounters> {
        self.counters.clone()
    }

    fn new_parser(p: &SerialParams) -> Result<Parser> {
        Ok(match p.format {
            SerialFormat::Lines => {
                Parser::Lines(LineParser::new(p.channels, p.max_line, p.skip_first_line))
            }
            SerialFormat::Binary => Parser::Frames(FrameParser::new(
                frames::parse_hex(&p.sync)?,
                p.sample_type,
                p.checksum,
                p.frame_samples * p.channels,
            )),
        })
    }

    /// Moves parsed rows into the current packet; true when it is full.
    fn fill(&mut self) -> bool {
        let ch = self.p.channels;
        loop {
            if self.row_pending.0 == self.row_pending.1 {
                let got = match &mut self.parser {
                    Parser::Lines(l) => l.next_row(&mut self.row, &self.counters),
                    Parser::Frames(f) => f.next_frame(&mut self.row, &self.counters),
                };
                if !got {
                    return false;
                }
                let rows = match self.parser {
                    Parser::Lines(_) => {
                        self.counters.frame();
                        1
                    }
                    Parser::Frames(_) => self.p.frame_samples,
                };
                self.row_pending = (0, rows);
            }
            if self.current.is_none() {
                let stop = self.stop.clone();
                let Some(p) = self.pool.acquire(|| stop.is_stopped()) else {
                    return false;
                };
                self.current = Some(p);
                self.filled = 0;
                self.first_ns = self.clock.now_ns().max(self.last_t_ns + 1);
            }
            let d = self
                .current
                .as_mut()
                .and_then(|p| p.get_mut())
                .expect("the packet being filled is unique");
            let (from, to) = self.row_pending;
            let n = (to - from).min(self.p.batch_size - self.filled);
            d.data[self.filled * ch..(self.filled + n) * ch]
                .copy_from_slice(&self.row[from * ch..(from + n) * ch]);
            self.filled += n;
            self.row_pending.0 += n;
            if self.filled == self.p.batch_size {
                return true;
            }
        }
    }

    /// Stamps and hands out the current packet (shortened if partial).
    fn finish(&mut self) -> Option<Packet> {
        let mut packet = self.current.take()?;
        let d = packet.get_mut().expect("the packet being filled is unique");
        d.reshape(self.filled, self.p.channels);
        self.seq += 1;
        d.header.seq = self.seq;
        d.header.t_ns = self.first_ns;
        d.header.sample_rate = self.p.sample_rate;
        self.last_t_ns = self.first_ns;
        self.filled = 0;
        Some(packet)
    }

    fn reopen(&mut self) -> Result<()> {
        let port = Port::open(&self.p.device, self.p.baud)
            .map_err(|e| Error::source(format!("serial: device lost; reopening failed: {e}")))?;
        tracing::info!(device = %self.p.device, "serial device is back");
        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        match &mut self.parser {
            Parser::Lines(l) => l.reset(self.p.skip_first_line),
            Parser::Frames(f) => f.reset(),
        }
        self.row_pending = (0, 0);
        self.port = Some(port);
        Ok(())
    }
}

impl Source for SerialSource {
    type Params = SerialParams;
    const KIND: &'static str = "serial";
    const DESCRIPTION: &'static str =
        "A serial port streaming lines of numbers or fixed binary frames (Arduino-style sensors)";
    const GIVES: PayloadKind = PayloadKind::Samples;

    fn counters(&self) -> Option<Arc<dyn SourceCounters>> {
        Some(self.counters.clone())
    }

    fn new(p: SerialParams, init: &SourceInit) -> Result<Self> {
        if p.channels == 0 || p.batch_size == 0 || p.frame_samples == 0 || p.baud == 0 {
            return Err(Error::source(
                "serial: channels, batch_size, frame_samples and baud must be positive",
            ));
        }
        if p.sample_rate.is_nan() || p.sample_rate <= 0.0 {
            return Err(Error::source("serial: sample_rate must be positive"));
        }
        if p.max_line < 8 {
            return Err(Error::source("serial: max_line must be at least 8"));
        }
        let parser = Self::new_parser(&p)?;
        let port =
            Port::open(&p.device, p.baud).map_err(|e| Error::source(format!("serial: {e}")))?;
        Ok(Self {
            port: Some(port),
            lost: None,
            parser,
            read_buf: vec![0; 4096],
            row: vec![0.0; p.channels * p.frame_samples],
            row_pending: (0, 0),
            current: None,
            filled: 0,
            first_ns: 0,
            last_t_ns: 0,
            seq: 0,
            counters: Arc::default(),
            pool: PacketPool::new(init.pool_frames.max(2), p.batch_size, p.channels),
            clock: init.clock.clone(),
            stop: init.stop.clone(),
            p,
        })
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        if let Some(why) = self.lost.take() {
            return Err(Error::source(format!(
                "serial `{}`: device lost ({why}); reopening",
                self.p.device
            )));
        }
        loop {
            if self.fill() {
                return Ok(self.finish());
            }
            if self.stop.is_stopped() {
                return Ok(None);
            }
            let Some(port) = &self.port else {
                self.reopen()?;
                continue;
            };
            // Wake in time to flush a partial packet, and at least every 50 ms for shutdown.
            let mut wait_ms = 50;
            if self.current.is_some() && self.filled > 0 && self.p.flush_ms > 0 {
                let age_ms = self.clock.now_ns().saturating_sub(self.first_ns) / 1_000_000;
                if age_ms >= self.p.flush_ms {
                    return Ok(self.finish());
                }
                wait_ms = wait_ms.min(self.p.flush_ms - age_ms);
            }
            match port.read(&mut self.read_buf, wait_ms) {
                Ok(Read::Bytes(n)) => match &mut self.parser {
                    Parser::Lines(l) => l.push(&self.read_buf[..n]),
                    Parser::Frames(f) => f.push(&self.read_buf[..n]),
                },
                Ok(Read::Idle) => {}
                Err(why) => {
                    tracing::warn!(device = %self.p.device, "serial device lost: {why}");
                    self.counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    self.port = None;
                    if self.filled > 0 {
                        // Deliver what arrived before the loss; report the loss next call.
                        self.lost = Some(why);
                        return Ok(self.finish());
                    }
                    self.current = None;
                    return Err(Error::source(format!(
                        "serial `{}`: device lost ({why}); reopening",
                        self.p.device
                    )));
                }
            }
        }
    }
}

framebus_core::register_source!(SerialSource);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
