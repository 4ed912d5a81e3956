//! Reading an H.264 MP4 back for tests, independently of framebus's writer: the `mp4` crate
//! parses the boxes, OpenH264 decodes every sample, and [`crate::counter`] reads the frame
//! number drawn in each picture.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

/// What an MP4 holds, as read by the `mp4` crate and decoded by OpenH264.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Samples in the video track.
    pub samples: u32,
    /// Track duration in seconds.
    pub duration_s: f64,
    /// Width and height from the track header.
    pub size: (u16, u16),
    /// Sync (key) samples, by index.
    pub keyframes: Vec<u32>,
    /// The counter read from each decoded picture, in decode order.
    pub counters: Vec<u32>,
    /// `moov` comes before `mdat`.
    pub faststart: bool,
}

fn annex_b(out: &mut Vec<u8>, nal: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1]);
    out.extend_from_slice(nal);
}

/// True when the `moov` box starts before the `mdat` box.
pub fn is_faststart(bytes: &[u8]) -> bool {
    let find = |tag: &[u8]| bytes.windows(4).position(|w| w == tag);
    matches!((find(b"moov"), find(b"mdat")), (Some(m), Some(d)) if m < d)
}

/// Parses `path`, decodes every video sample and reads the counter of each picture.
pub fn decode(path: &Path) -> Result<Decoded, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let head = std::fs::read(path).map_err(|e| e.to_string())?;
    let faststart = is_faststart(&head);
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut reader =
        mp4::Mp4Reader::read_header(BufReader::new(file), size).map_err(|e| e.to_string())?;
    let (id, track) = reader
        .tracks()
        .iter()
        .find(|(_, t)| t.track_type().ok() == Some(mp4::TrackType::Video))
        .map(|(id, t)| (*id, t))
        .ok_or("no video track")?;
    let mut params = Vec::new();
    annex_b(
        &mut params,
        track.sequence_parameter_set().map_err(|e| e.to_string())?,
    );
    annex_b(
        &mut params,
        track.picture_parameter_set().map_err(|e| e.to_string())?,
    );
    let samples = track.sample_count();
    let duration_s = track.duration().as_secs_f64();
    let dims = (track.width(), track.height());
    let mut decoder = Decoder::new().map_err(|e| e.to_string())?;
    let mut keyframes = Vec::new();
    let mut counters = Vec::new();
    let mut unit = Vec::new();
    for i in 1..=samples {
        let s = reader
            .read_sample(id, i)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("sample {i} missing"))?;
        if s.is_sync {
            keyframes.push(i - 1);
        }
        unit.clear();
        if i == 1 {
            unit.extend_from_slice(&params);
        }
        let mut b: &[u8] = &s.bytes;
        while b.len() >= 4 {
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let nal = b.get(4..4 + n).ok_or("truncated NAL unit")?;
            annex_b(&mut unit, nal);
            b = &b[4 + n..];
        }
        if let Some(pic) = decoder
            .decode(&unit)
            .map_err(|e| format!("sample {i}: {e}"))?
        {
            counters.push(crate::counter::read(pic.y(), pic.strides().0, 1));
        }
    }
    for pic in decoder.flush_remaining().map_err(|e| e.to_string())? {
        counters.push(crate::counter::read(pic.y(), pic.strides().0, 1));
    }
    Ok(Decoded {
        samples,
        duration_s,
        size: dims,
        keyframes,
        counters,
        faststart,
    })
}
