//! Results of well-known shapes the UI draws with no per-stage code. Each serializes with a
//! `shape` tag: `{"shape":"time_series",...}` or `{"shape":"spectrum",...}`.

use framebus_core::prelude::*;

/// The last points of a signal, decimated for display.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(tag = "shape", rename = "time_series")]
pub struct TimeSeries {
    /// Time of the first point, seconds.
    pub t0_s: f64,
    /// Spacing of the points, seconds.
    pub dt_s: f64,
    /// Values (first channel).
    pub values: Vec<f32>,
    /// Unit of the values (`V`, `counts`).
    pub unit: &'static str,
}

/// A magnitude spectrum.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(tag = "shape", rename = "spectrum")]
pub struct Spectrum {
    /// Spacing of the bins, Hz (bin k is at `k · df_hz`).
    pub df_hz: f64,
    /// Magnitudes per bin, dB (or linear when `db` is false).
    pub values: Vec<f32>,
    /// True when `values` are in dB.
    pub db: bool,
    /// Frequency of the strongest bin (DC excluded), Hz.
    pub peak_hz: f64,
    /// Its level.
    pub peak: f64,
    /// Spectra averaged into this one.
    pub averaged: u32,
}
