//! Sample stages (seed 001): they take [`Packet`](framebus_core::packet::Packet)s of `f32`
//! samples. A typical sensor chain: `to_voltage` → `gain` → `filter` → `downsample` → `fft`,
//! with `stats` anywhere for levels and a time series.
//!
//! Stages that keep the shape (`to_voltage`, `gain`, `filter`) work in place; `downsample`
//! and `fft` take packets of the new shape from their own pools.

pub mod downsample;
pub mod dsp;
pub mod fft;
pub mod filter;
pub mod gain;
pub mod iir;
pub mod shapes;
pub mod spectrum;
pub mod stats;
pub mod to_voltage;
