//! The device layer of the `v4l2` source: a small trait ([`CameraDevice`]) so the capture and
//! reconnect logic can run on a real V4L2 device ([`LinuxVideoDevice`], through the pure-Rust
//! `linuxvideo` crate: no bindgen, no system library) or on a device a test injects.

use std::path::PathBuf;

use linuxvideo::controls::Cid;
use linuxvideo::format::{PixFormat, PixelFormat as V4lFormat};
use linuxvideo::stream::ReadStream;
use linuxvideo::{Device, Fract};

/// Pixel formats a camera can be asked for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CaptureFormat {
    /// Packed 4:2:2 (uncompressed; frames pass through as `Yuyv`).
    Yuyv,
    /// Motion JPEG (each frame decoded to RGB).
    Mjpeg,
}

/// The camera controls framebus maps (seed 000's `exposure`, `gain`, `auto_exposure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `V4L2_CID_EXPOSURE_ABSOLUTE` (units of 100 µs).
    Exposure,
    /// `V4L2_CID_GAIN`.
    Gain,
    /// `V4L2_CID_EXPOSURE_AUTO` (manual = 1, aperture priority = 3).
    AutoExposure,
}

impl Control {
    /// Every control, in bit order of [`ControlSet`].
    pub const ALL: [Control; 3] = [Control::Exposure, Control::Gain, Control::AutoExposure];

    /// The command argument naming it.
    pub fn key(self) -> &'static str {
        match self {
            Control::Exposure => "exposure",
            Control::Gain => "gain",
            Control::AutoExposure => "auto_exposure",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            Control::Exposure => 1,
            Control::Gain => 2,
            Control::AutoExposure => 4,
        }
    }

    fn cid(self) -> Cid {
        match self {
            Control::Exposure => Cid::EXPOSURE_ABSOLUTE,
            Control::Gain => Cid::GAIN,
            Control::AutoExposure => Cid::EXPOSURE_AUTO,
        }
    }
}

/// A set of [`Control`]s (bit mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlSet(pub u8);

impl ControlSet {
    /// Whether `c` is in the set.
    pub fn contains(self, c: Control) -> bool {
        self.0 & c.bit() != 0
    }
    /// The set with `c` added.
    pub fn with(self, c: Control) -> Self {
        Self(self.0 | c.bit())
    }
}

/// What an opened device streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per row (YUYV).
    pub stride: usize,
    /// Pixel format delivered.
    pub format: CaptureFormat,
    /// The controls the device has.
    pub controls: ControlSet,
}

/// A camera the `v4l2` source reads: real V4L2, or one injected by a test.
pub trait CameraDevice: Send + 'static {
    /// Opens (or re-opens) the device and starts streaming.
    fn open(&mut self) -> Result<StreamInfo, String>;
    /// Blocks for the next frame and hands its bytes to `sink`.
    fn read(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), String>;
    /// Stops streaming and closes the device (after a failure).
    fn close(&mut self);
    /// Sets a control on the open device.
    fn set_control(&mut self, control: Control, value: i32) -> Result<(), String>;
}

/// What to ask a V4L2 device for.
#[derive(Debug, Clone)]
pub struct DeviceRequest {
    /// Device node (`/dev/video0`).
    pub path: PathBuf,
    /// Wanted width (the driver may pick the nearest it has).
    pub width: u32,
    /// Wanted height.
    pub height: u32,
    /// Wanted frames per second.
    pub fps: u32,
    /// Wanted pixel format.
    pub format: CaptureFormat,
}

/// A real V4L2 capture device (memory-mapped streaming through `linuxvideo`).
pub struct LinuxVideoDevice {
    request: DeviceRequest,
    stream: Option<ReadStream>,
    controls: Option<Device>,
}

impl LinuxVideoDevice {
    /// A device that opens `request.path` on [`CameraDevice::open`].
    pub fn new(request: DeviceRequest) -> Self {
        Self {
            request,
            stream: None,
            controls: None,
        }
    }
}

impl CameraDevice for LinuxVideoDevice {
    fn open(&mut self) -> Result<StreamInfo, String> {
        self.close();
        let r = &self.request;
        let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
        let device = Device::open(&r.path).map_err(|e| io("cannot open", e))?;
        let mut controls = ControlSet::default();
        for desc in device.controls().flatten() {
            for c in Control::ALL {
                if desc.id() == c.cid() {
                    controls = controls.with(c);
                }
            }
        }
        let wanted = match r.format {
            CaptureFormat::Yuyv => V4lFormat::YUYV,
            CaptureFormat::Mjpeg => V4lFormat::MJPG,
        };
        let capture = device
            .video_capture(PixFormat::new(r.width, r.height, wanted))
            .map_err(|e| io("cannot set the format", e))?;
        let (width, height, got, stride) = {
            let f = capture.format();
            (
                f.width(),
                f.height(),
                f.pixel_format(),
                f.bytes_per_line() as usize,
            )
        };
        if got != wanted {
            return Err(format!(
                "the device does not deliver {:?} (it offered {})",
                r.format, got
            ));
        }
        if r.fps > 0 {
            // Not every driver lets the rate be set; the frames then come at its own rate.
            let _ = capture.set_frame_interval(Fract::new(1, r.fps));
        }
        let stream = capture
            .into_stream()
            .map_err(|e| io("cannot start streaming", e))?;
        // A second handle for controls while the first streams.
        self.controls = Device::open(&r.path).ok();
        self.stream = Some(stream);
        Ok(StreamInfo {
            width,
            height,
            stride,
            format: r.format,
            controls,
        })
    }

    fn read(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), String> {
        let stream = self.stream.as_mut().ok_or("the device is not open")?;
        stream
            .dequeue(|view| {
                if !view.is_error() {
                    sink(&view);
                }
                Ok(())
            })
            .map_err(|e| format!("read failed: {e}"))
    }

    fn close(&mut self) {
        self.stream = None;
        self.controls = None;
    }

    fn set_control(&mut self, control: Control, value: i32) -> Result<(), String> {
        let device = self.controls.as_mut().ok_or("the device is not open")?;
        device
            .write_control_raw(control.cid(), value)
            .map_err(|e| format!("cannot set {}: {e}", control.key()))
    }
}
