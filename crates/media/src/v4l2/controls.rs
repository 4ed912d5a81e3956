//! `camera_0` / `all_cameras` controls of a V4L2 camera: commands validate and store the
//! wanted values in atomics and mark them dirty; the capture thread, which owns the device,
//! writes the dirty ones to it before the next frame (no lock on the data plane).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use framebus_core::CommandError;
use framebus_core::source::{CameraSettings, SourceControls};
use serde_json::Value;

use super::device::{Control, ControlSet};

/// Exposure, gain and auto-exposure of a V4L2 camera, shared with the command bus.
#[derive(Debug)]
pub struct V4l2Controls {
    device: String,
    supported: AtomicU8,
    dirty: AtomicU8,
    /// Controls ever set by a command (re-applied when the camera comes back).
    ever_set: AtomicU8,
    exposure: AtomicU64,
    gain: AtomicU64,
    auto_exposure: AtomicBool,
}

impl V4l2Controls {
    /// Controls of `device` (named in error messages), none known as supported yet.
    pub fn new(device: String) -> Self {
        Self {
            device,
            supported: AtomicU8::new(0),
            dirty: AtomicU8::new(0),
            ever_set: AtomicU8::new(0),
            exposure: AtomicU64::new(0f64.to_bits()),
            gain: AtomicU64::new(0f64.to_bits()),
            auto_exposure: AtomicBool::new(true),
        }
    }

    /// Records what the (re)opened device supports, and marks every set value dirty so a
    /// camera that comes back gets the settings it had.
    pub(crate) fn opened(&self, supported: ControlSet) {
        self.supported.store(supported.0, Ordering::Relaxed);
        let set = self.ever_set.load(Ordering::Relaxed);
        self.dirty.fetch_or(set & supported.0, Ordering::Relaxed);
    }

    /// Takes the controls to write to the device, with their values.
    pub(crate) fn take_dirty(&self) -> impl Iterator<Item = (Control, i32)> + '_ {
        let dirty = self.dirty.swap(0, Ordering::Relaxed);
        let s = self.settings();
        Control::ALL
            .into_iter()
            .filter(move |c| dirty & c.bit() != 0)
            .map(move |c| {
                let v = match c {
                    Control::Exposure => s.exposure.round() as i32,
                    Control::Gain => s.gain.round() as i32,
                    // V4L2_EXPOSURE_APERTURE_PRIORITY (3) is the auto mode UVC cameras have.
                    Control::AutoExposure => {
                        if s.auto_exposure {
                            3
                        } else {
                            1
                        }
                    }
                };
                (c, v)
            })
    }

    fn supported(&self) -> ControlSet {
        ControlSet(self.supported.load(Ordering::Relaxed))
    }
}

fn number(key: &str, v: &Value, min: f64) -> Result<f64, CommandError> {
    let x = v
        .as_f64()
        .ok_or_else(|| CommandError::bad_args(format!("`{key}` must be a number, not {v}")))?;
    if x < min || x > f64::from(i32::MAX) {
        return Err(CommandError::bad_args(format!(
            "`{key}` = {x} is outside {min}..={}",
            i32::MAX
        )));
    }
    Ok(x)
}

impl SourceControls for V4l2Controls {
    fn settings(&self) -> CameraSettings {
        CameraSettings {
            exposure: f64::from_bits(self.exposure.load(Ordering::Relaxed)),
            gain: f64::from_bits(self.gain.load(Ordering::Relaxed)),
            auto_exposure: self.auto_exposure.load(Ordering::Relaxed),
        }
    }

    fn apply(&self, args: &Value) -> Result<CameraSettings, CommandError> {
        let Value::Object(map) = args else {
            return Err(CommandError::bad_args("camera settings must be an object"));
        };
        let supported = self.supported();
        let mut missing = Vec::new();
        let (mut exposure, mut gain, mut auto) = (None, None, None);
        for (key, v) in map {
            let control = match key.as_str() {
                "exposure" => {
                    exposure = Some(number(key, v, 1.0)?);
                    Control::Exposure
                }
                "gain" => {
                    gain = Some(number(key, v, 0.0)?);
                    Control::Gain
                }
                "auto_exposure" => {
                    auto = Some(v.as_bool().ok_or_else(|| {
                        CommandError::bad_args(format!(
                            "`auto_exposure` must be true or false, not {v}"
                        ))
                    })?);
                    Control::AutoExposure
                }
                other => {
                    return Err(CommandError::bad_args(format!(
                        "unknown camera setting `{other}` (known: exposure, gain, auto_exposure)"
                    )));
                }
            };
            if !supported.contains(control) {
                missing.push(control.key());
            }
        }
        if !missing.is_empty() {
            let has: Vec<&str> = Control::ALL
                .into_iter()
                .filter(|c| supported.contains(*c))
                .map(Control::key)
                .collect();
            return Err(CommandError::bad_args(format!(
                "{} has no {} control (it has: {})",
                self.device,
                missing.join(", "),
                if has.is_empty() {
                    "none".to_string()
                } else {
                    has.join(", ")
                }
            )));
        }
        let mut dirty = 0;
        if let Some(e) = exposure {
            self.exposure.store(e.to_bits(), Ordering::Relaxed);
            dirty |= Control::Exposure.bit();
        }
        if let Some(g) = gain {
            self.gain.store(g.to_bits(), Ordering::Relaxed);
            dirty |= Control::Gain.bit();
        }
        if let Some(a) = auto {
            self.auto_exposure.store(a, Ordering::Relaxed);
            dirty |= Control::AutoExposure.bit();
        }
        self.ever_set.fetch_or(dirty, Ordering::Relaxed);
        self.dirty.fetch_or(dirty, Ordering::Relaxed);
        Ok(self.settings())
    }
}
