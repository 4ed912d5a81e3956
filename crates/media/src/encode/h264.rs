//! [`H264Encoder`]: frames in, H.264 access units (Annex B) out, with a keyframe at least
//! every `gop` of capture time, via OpenH264 built from its bundled C source.

use framebus_core::frame::FrameData;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, RateControlMode, UsageType,
};

use super::yuv::I420;
use crate::error::{MediaError, Result};

/// Settings of an [`H264Encoder`]. Rate control is OpenH264's buffer-based mode: every frame
/// is encoded (none skipped), with the quality adjusted to stay near the bit rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderSettings {
    /// Target bit rate in bits per second; 0 picks one from the picture size
    /// (0.1 bit per pixel at 30 fps: 0.9 Mbit/s for 640×480, 2.8 Mbit/s for 1280×720).
    pub bitrate_bps: u32,
    /// Frame rate the rate control plans for.
    pub fps: f32,
    /// Longest time between keyframes, nanoseconds of capture time (clips start at a keyframe).
    pub gop_ns: u64,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            bitrate_bps: 0,
            fps: 30.0,
            gop_ns: 1_000_000_000,
        }
    }
}

/// One encoded picture, borrowed from the encoder until the next call.
#[derive(Debug)]
pub struct EncodedFrame<'a> {
    /// The access unit in Annex B form (start codes; SPS and PPS before every keyframe).
    pub data: &'a [u8],
    /// True for an IDR picture (decoding can start here).
    pub keyframe: bool,
}

/// A single-threaded H.264 encoder that reuses its buffers between frames.
pub struct H264Encoder {
    settings: EncoderSettings,
    encoder: Option<(Encoder, u32, u32)>,
    picture: I420,
    out: Vec<u8>,
    last_key_ns: Option<u64>,
    force_key: bool,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn open(settings: &EncoderSettings, width: u32, height: u32) -> Result<Encoder> {
    let bitrate = if settings.bitrate_bps > 0 {
        settings.bitrate_bps
    } else {
        ((width as f64 * height as f64 * 30.0 * 0.1) as u32).max(100_000)
    };
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bitrate))
        .max_frame_rate(FrameRate::from_hz(settings.fps.max(1.0)))
        .rate_control_mode(RateControlMode::Bufferbased)
        .usage_type(UsageType::CameraVideoRealTime)
        .complexity(Complexity::Low)
        .skip_frames(false)
        .num_threads(1);
    Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| MediaError::Encode(format!("cannot open the H.264 encoder: {e}")))
}

impl H264Encoder {
    /// An encoder; OpenH264 is initialised at the first frame (and again if the size changes).
    pub fn new(settings: EncoderSettings) -> Self {
        Self {
            settings,
            encoder: None,
            picture: I420::new(),
            out: Vec::new(),
            last_key_ns: None,
            force_key: false,
        }
    }

    /// The next frame will be a keyframe (e.g. the first frame of a recording).
    pub fn force_keyframe(&mut self) {
        self.force_key = true;
    }

    /// The last picture converted (for tests).
    pub fn picture(&self) -> &I420 {
        &self.picture
    }

    /// The last access unit [`H264Encoder::encode`] produced.
    pub fn last_output(&self) -> &[u8] {
        &self.out
    }

    /// Converts and encodes `frame`; `t_ns` places it in time for the keyframe interval.
    pub fn encode(&mut self, frame: &FrameData, t_ns: u64) -> Result<EncodedFrame<'_>> {
        if frame.width < 2 || frame.height < 2 {
            return Err(MediaError::Encode(format!(
                "frame {}x{} is too small to encode",
                frame.width, frame.height
            )));
        }
        self.picture.convert(frame);
        let (w, h) = (self.picture.width() as u32, self.picture.height() as u32);
        let fresh = !matches!(&self.encoder, Some((_, ew, eh)) if *ew == w && *eh == h);
        if fresh {
            self.encoder = Some((open(&self.settings, w, h)?, w, h));
            self.last_key_ns = None;
        }
        let (enc, _, _) = self.encoder.as_mut().expect("opened above");
        // 2 ms of slack: timestamps of a 30 fps source put frame 30 a few ns short of 1 s.
        let due = self
            .last_key_ns
            .is_none_or(|k| t_ns.saturating_sub(k) + 2_000_000 >= self.settings.gop_ns);
        if (due || self.force_key) && !fresh {
            enc.force_intra_frame();
        }
        self.force_key = false;
        let ts = openh264::Timestamp::from_millis(t_ns / 1_000_000);
        let bits = enc
            .encode_at(&self.picture, ts)
            .map_err(|e| MediaError::Encode(format!("H.264 encode failed: {e}")))?;
        let keyframe = bits.frame_type() == FrameType::IDR;
        self.out.clear();
        bits.write_vec(&mut self.out);
        if self.out.is_empty() {
            return Err(MediaError::Encode("the encoder produced no data".into()));
        }
        if keyframe {
            self.last_key_ns = Some(t_ns);
        }
        Ok(EncodedFrame {
            data: &self.out,
            keyframe,
        })
    }
}
