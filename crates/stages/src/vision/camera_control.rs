//! `camera_control`: the camera's exposure, gain and auto-exposure, shown every frame and set
//! through `set_params` (seed 000: `camera_control` → forward to the camera).
//!
//! # How it works
//! Each frame the stage reads the settings the pipeline's camera really has
//! ([`SourceControls::settings`]) and writes them as its result, so the UI shows what the
//! camera is doing (auto-exposure included), not what was last asked. `set_params` is
//! forwarded to the camera with [`SourceControls::apply`]: the camera fields the command
//! changed are sent (when it changed none, all three are re-sent so the camera matches the
//! params). If the camera refuses, the params stay as they were. With `apply_on_start` the
//! params are pushed to the camera when the pipeline starts.
//!
//! Without a camera (a file or a browser source) the result holds nulls, frames still
//! process, and `set_params` of a camera field fails with `no camera`.
//!
//! Result (namespace `camera_control`): `{"exposure":157.0,"gain":0.0,"auto_exposure":false}`.
//!
//! # Parameters
//! - `exposure` (1..1000, default 157): exposure in the camera's units.
//! - `gain` (0..24 dB, default 0): analog gain.
//! - `auto_exposure` (default false): let the camera choose the exposure.
//! - `apply_on_start` (default false): push these values to the camera at start.
//!
//! [`SourceControls::settings`]: framebus_core::source::SourceControls::settings
//! [`SourceControls::apply`]: framebus_core::source::SourceControls::apply

use framebus_core::prelude::*;
use framebus_core::source::{CameraSettings, SourceControls};
use serde_json::Map;

/// Params of [`CameraControl`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CameraControlParams {
    /// Exposure in the camera's units (synthetic camera: 1–1000, 157 is nominal).
    #[schemars(range(min = 1, max = 1000))]
    pub exposure: f64,
    /// Analog gain in dB (0 = none; more gain, more noise).
    #[schemars(range(min = 0, max = 24))]
    pub gain: f64,
    /// Let the camera choose the exposure.
    pub auto_exposure: bool,
    /// Push these settings to the camera when the pipeline starts.
    pub apply_on_start: bool,
}

impl CameraControlParams {
    /// Default `exposure`.
    pub const EXPOSURE: f64 = 157.0;
}

impl Default for CameraControlParams {
    fn default() -> Self {
        Self {
            exposure: Self::EXPOSURE,
            gain: 0.0,
            auto_exposure: false,
            apply_on_start: false,
        }
    }
}

/// The result of [`CameraControl`]: the camera's settings in force (nulls without a camera).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CameraState {
    /// Exposure in force.
    pub exposure: Option<f64>,
    /// Gain in force, dB.
    pub gain: Option<f64>,
    /// Auto-exposure on/off.
    pub auto_exposure: Option<bool>,
}

impl From<Option<CameraSettings>> for CameraState {
    fn from(s: Option<CameraSettings>) -> Self {
        Self {
            exposure: s.map(|s| s.exposure),
            gain: s.map(|s| s.gain),
            auto_exposure: s.map(|s| s.auto_exposure),
        }
    }
}

/// Shows and sets the camera's settings. See the [module docs](self).
pub struct CameraControl {
    params: CameraControlParams,
}

fn camera_args(
    p: &CameraControlParams,
    changed_from: Option<&CameraControlParams>,
) -> Map<String, Value> {
    let mut m = Map::new();
    let old = changed_from;
    if old.is_none_or(|o| o.exposure != p.exposure) {
        m.insert("exposure".into(), json!(p.exposure));
    }
    if old.is_none_or(|o| o.gain != p.gain) {
        m.insert("gain".into(), json!(p.gain));
    }
    if old.is_none_or(|o| o.auto_exposure != p.auto_exposure) {
        m.insert("auto_exposure".into(), json!(p.auto_exposure));
    }
    m
}

fn push(camera: Option<&dyn SourceControls>, args: Map<String, Value>) -> Result<CameraSettings> {
    let camera = camera.ok_or_else(|| Error::stage("no camera"))?;
    camera
        .apply(&Value::Object(args))
        .map_err(|e| Error::stage(e.message))
}

impl Stage for CameraControl {
    type Params = CameraControlParams;

    const INFO: StageInfo = StageInfo {
        id: "camera_control",
        version: "0.1.0",
        description: "Shows the camera's exposure, gain and auto-exposure; set_params forwards them to the camera",
        namespace: Some("camera_control"),
        commands: &[],
    };

    fn new(params: CameraControlParams, _init: &StageInit) -> Result<Self> {
        Ok(Self { params })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let state = CameraState::from(ctx.camera().map(|c| c.settings()));
        *ctx.output::<CameraState>() = state;
        Ok(Flow::Continue)
    }

    fn set_params(&mut self, params: CameraControlParams, ctx: &mut CommandCtx<'_>) -> Result<()> {
        let old = self.params;
        let args = if params == old {
            // A re-send of the same values: make the camera match all of them.
            camera_args(&params, None)
        } else {
            camera_args(&params, Some(&old))
        };
        if !args.is_empty() {
            push(ctx.camera(), args)?;
        }
        self.params = params;
        Ok(())
    }

    fn start(&mut self, ctx: &mut CommandCtx<'_>) -> Result<()> {
        if self.params.apply_on_start {
            match ctx.camera() {
                Some(cam) => {
                    push(Some(cam), camera_args(&self.params, None))?;
                }
                None => {
                    tracing::warn!(stage = %ctx.init().id, "apply_on_start: the pipeline has no camera")
                }
            }
        }
        Ok(())
    }
}

framebus_core::register_stage!(CameraControl);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use framebus_core::harness::Harness;
    use framebus_core::protocol::{ErrorCode, RunState};

    use super::*;

    /// A camera double: settings behind a mutex, and a log of what was applied.
    #[derive(Default)]
    struct FakeCamera {
        settings: Mutex<Option<CameraSettings>>,
        applied: Mutex<Vec<Value>>,
    }

    impl FakeCamera {
        fn new() -> Arc<Self> {
            let cam = Self::default();
            *cam.settings.lock().unwrap() = Some(CameraSettings {
                exposure: 157.0,
                gain: 0.0,
                auto_exposure: false,
            });
            Arc::new(cam)
        }
        fn applied(&self) -> Vec<Value> {
            self.applied.lock().unwrap().clone()
        }
    }

    impl SourceControls for FakeCamera {
        fn settings(&self) -> CameraSettings {
            self.settings.lock().unwrap().unwrap()
        }
        fn apply(&self, args: &Value) -> Result<CameraSettings, CommandError> {
            self.applied.lock().unwrap().push(args.clone());
            let mut s = self.settings();
            if let Some(e) = args.get("exposure").and_then(Value::as_f64) {
                if e > 900.0 {
                    return Err(CommandError::bad_args(
                        "exposure too long for this frame rate",
                    ));
                }
                s.exposure = e;
            }
            if let Some(g) = args.get("gain").and_then(Value::as_f64) {
                s.gain = g;
            }
            if let Some(a) = args.get("auto_exposure").and_then(Value::as_bool) {
                s.auto_exposure = a;
            }
            *self.settings.lock().unwrap() = Some(s);
            Ok(s)
        }
    }

    fn harness(cam: Option<Arc<FakeCamera>>, params: Value) -> Harness {
        let mut b = Harness::builder().stage::<CameraControl>("camera_control", params);
        if let Some(cam) = cam {
            b = b.camera(cam);
        }
        b.build().unwrap()
    }

    fn frame(h: &mut Harness) -> Value {
        let f = h.frame(8, 8, PixelFormat::Gray8, |d| d.fill(0));
        h.process(&f)
    }

    #[test]
    fn shows_what_the_camera_is_doing() {
        let cam = FakeCamera::new();
        let mut h = harness(Some(cam.clone()), json!({}));
        let snap = frame(&mut h);
        assert_eq!(
            snap["results"]["camera_control"],
            json!({"exposure":157.0,"gain":0.0,"auto_exposure":false})
        );
        // Changed behind the stage's back (auto exposure, or `camera_0` directly).
        cam.apply(&json!({"exposure": 320.0, "auto_exposure": true}))
            .unwrap();
        frame(&mut h);
        let r = h.result::<CameraState>("camera_control").unwrap();
        assert_eq!((r.exposure, r.auto_exposure), (Some(320.0), Some(true)));
    }

    #[test]
    fn set_params_is_forwarded_to_the_camera() {
        let cam = FakeCamera::new();
        let mut h = harness(Some(cam.clone()), json!({}));
        cam.apply(&json!({"gain": 6.0})).unwrap(); // set on `camera_0` directly
        let ack = h
            .command("camera_control", "set_params", json!({"exposure": 500}))
            .unwrap();
        assert_eq!(ack.result["exposure"], 500.0);
        // Only the field the command changed is sent: the direct gain change survives.
        assert_eq!(cam.applied().last().unwrap(), &json!({"exposure": 500.0}));
        frame(&mut h);
        let r = *h.result::<CameraState>("camera_control").unwrap();
        assert_eq!((r.exposure, r.gain), (Some(500.0), Some(6.0)));
        // Re-sending the same values makes the camera match all of them.
        h.command("camera_control", "set_params", json!({"exposure": 500}))
            .unwrap();
        assert_eq!(
            cam.applied().last().unwrap(),
            &json!({"exposure": 500.0, "gain": 0.0, "auto_exposure": false})
        );
    }

    #[test]
    fn a_refusal_by_the_camera_keeps_the_params() {
        let cam = FakeCamera::new();
        let mut h = harness(Some(cam.clone()), json!({}));
        let e = h
            .command("camera_control", "set_params", json!({"exposure": 950}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::StageFailed);
        assert!(e.message.contains("too long"), "{}", e.message);
        assert_eq!(
            h.command("camera_control", "get_params", json!({}))
                .unwrap()
                .result["exposure"],
            157.0
        );
        // Out of the params' range: refused before reaching the camera.
        let n = cam.applied().len();
        let e = h
            .command("camera_control", "set_params", json!({"gain": 30}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgs);
        assert_eq!(cam.applied().len(), n);
    }

    #[test]
    fn recording_lock_keeps_the_camera_untouched() {
        let cam = FakeCamera::new();
        let mut h = harness(Some(cam.clone()), json!({}));
        h.set_state(RunState::Recording);
        let e = h
            .command("camera_control", "set_params", json!({"exposure": 300}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Busy);
        assert!(cam.applied().is_empty());
    }

    #[test]
    fn apply_on_start_pushes_the_params() {
        let cam = FakeCamera::new();
        let _h = harness(
            Some(cam.clone()),
            json!({"apply_on_start": true, "exposure": 250, "gain": 3}),
        );
        assert_eq!(
            cam.applied(),
            vec![json!({"exposure": 250.0, "gain": 3.0, "auto_exposure": false})]
        );
        let cam = FakeCamera::new();
        let _h = harness(Some(cam.clone()), json!({"exposure": 250}));
        assert!(cam.applied().is_empty());
    }

    #[test]
    fn without_a_camera_results_are_null_and_set_params_fails() {
        let mut h = harness(None, json!({"apply_on_start": true}));
        let snap = frame(&mut h);
        assert_eq!(
            snap["results"]["camera_control"],
            json!({"exposure":null,"gain":null,"auto_exposure":null})
        );
        assert!(snap["errors"].as_array().unwrap().is_empty());
        let e = h
            .command("camera_control", "set_params", json!({"exposure": 300}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::StageFailed);
        assert!(e.message.contains("no camera"));
        // A param that is not a camera field still applies.
        h.command(
            "camera_control",
            "set_params",
            json!({"apply_on_start": false}),
        )
        .unwrap();
    }
}
