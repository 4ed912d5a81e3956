//! Sample sources (seed 001): each gives pooled [`Packet`](framebus_core::packet::Packet)s
//! of `f32` samples instead of frames.
//!
//! - [`generator`]: `signal_generator`, sums of sines, noise, a chirp and steps, quantized
//!   to an ADC bit depth; deterministic for a seed; paced by the clock or as fast as possible.
//! - [`wav`]: `wav_file`, samples of a WAV file (hound); integer files give counts.
//! - [`raw`]: `raw_file`, headerless interleaved i16/i32/f32 little-endian samples.
//! - [`serial`]: `serial`, a serial port streaming text lines of numbers or binary frames.
//! - [`pacing`]: sample-time stamps and realtime pacing shared by the sources above.

pub mod generator;
pub(crate) mod pacing;
pub mod raw;
pub mod serial;
pub mod wav;

pub use generator::{Chirp, SignalGenerator, SignalGeneratorParams, Steps, Tone};
pub use raw::{RawFile, RawFileParams, RawFormat};
pub use serial::{Checksum, SerialCounters, SerialFormat, SerialParams, SerialSource};
pub use wav::{WavFile, WavFileParams};
