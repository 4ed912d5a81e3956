//! Camera controls of the synthetic rider: exposure, gain and auto-exposure held in atomics,
//! so the capture thread reads them every frame without a lock while commands write them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use framebus_core::CommandError;
use framebus_core::source::{CameraSettings, SourceControls};
use serde_json::Value;

/// Exposure range, in the synthetic camera's units (157 = nominal brightness).
pub const EXPOSURE_RANGE: (f64, f64) = (1.0, 1000.0);
/// Gain range in dB.
pub const GAIN_RANGE: (f64, f64) = (0.0, 24.0);

/// Live exposure/gain/auto-exposure of a synthetic camera, shared with the command bus.
#[derive(Debug)]
pub struct RiderControls {
    exposure: AtomicU64,
    gain: AtomicU64,
    auto_exposure: AtomicBool,
}

impl RiderControls {
    /// Controls starting at `settings`.
    pub fn new(settings: CameraSettings) -> Self {
        Self {
            exposure: AtomicU64::new(settings.exposure.to_bits()),
            gain: AtomicU64::new(settings.gain.to_bits()),
            auto_exposure: AtomicBool::new(settings.auto_exposure),
        }
    }

    /// Stores an exposure chosen by the auto-exposure loop (clamped to the range).
    pub(crate) fn set_exposure(&self, exposure: f64) {
        let e = exposure.clamp(EXPOSURE_RANGE.0, EXPOSURE_RANGE.1);
        self.exposure.store(e.to_bits(), Ordering::Relaxed);
    }
}

fn number(key: &str, v: &Value, (min, max): (f64, f64)) -> Result<f64, CommandError> {
    let x = v
        .as_f64()
        .ok_or_else(|| CommandError::bad_args(format!("`{key}` must be a number, not {v}")))?;
    if !(min..=max).contains(&x) {
        return Err(CommandError::bad_args(format!(
            "`{key}` = {x} is outside {min}..={max}"
        )));
    }
    Ok(x)
}

impl SourceControls for RiderControls {
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
        // Validate everything first, so a bad argument changes nothing.
        let (mut exposure, mut gain, mut auto) = (None, None, None);
        for (key, v) in map {
            match key.as_str() {
                "exposure" => exposure = Some(number(key, v, EXPOSURE_RANGE)?),
                "gain" => gain = Some(number(key, v, GAIN_RANGE)?),
                "auto_exposure" => {
                    auto = Some(v.as_bool().ok_or_else(|| {
                        CommandError::bad_args(format!(
                            "`auto_exposure` must be true or false, not {v}"
                        ))
                    })?);
                }
                other => {
                    return Err(CommandError::bad_args(format!(
                        "unknown camera setting `{other}` (known: exposure, gain, auto_exposure)"
                    )));
                }
            }
        }
        if let Some(e) = exposure {
            self.exposure.store(e.to_bits(), Ordering::Relaxed);
        }
        if let Some(g) = gain {
            self.gain.store(g.to_bits(), Ordering::Relaxed);
        }
        if let Some(a) = auto {
            self.auto_exposure.store(a, Ordering::Relaxed);
        }
        Ok(self.settings())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use framebus_protocol::ErrorCode;
    use serde_json::json;

    fn controls() -> RiderControls {
        RiderControls::new(CameraSettings {
            exposure: 157.0,
            gain: 0.0,
            auto_exposure: false,
        })
    }

    #[test]
    fn applies_partial_updates() {
        let c = controls();
        let s = c.apply(&json!({"exposure": 500, "gain": 3})).unwrap();
        assert_eq!(
            s,
            CameraSettings {
                exposure: 500.0,
                gain: 3.0,
                auto_exposure: false
            }
        );
        let s = c.apply(&json!({"auto_exposure": true})).unwrap();
        assert_eq!(
            s,
            CameraSettings {
                exposure: 500.0,
                gain: 3.0,
                auto_exposure: true
            }
        );
        assert_eq!(c.settings(), s);
        assert_eq!(c.apply(&json!({})).unwrap(), s);
    }

    #[test]
    fn refuses_bad_args_and_changes_nothing() {
        let c = controls();
        for bad in [
            json!({"exposure": 0}),
            json!({"exposure": 1001}),
            json!({"exposure": "bright"}),
            json!({"gain": -1}),
            json!({"gain": 25}),
            json!({"auto_exposure": 1}),
            json!({"iso": 100}),
            json!({"exposure": 300, "shutter": 1}),
            json!([1, 2]),
            json!(null),
        ] {
            let e = c.apply(&bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadArgs, "{bad}");
        }
        assert_eq!(c.settings(), controls().settings());
    }
}
