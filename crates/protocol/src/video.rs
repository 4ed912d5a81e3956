//! Binary video preview messages: a fixed header followed by JPEG bytes.
//!
//! Layout (little endian): `b"FBV1"`, `frame_id: u64`, `camera_id: u32`, `width: u16`,
//! `height: u16`, then the JPEG bytes up to the end of the message. 20 bytes of header.

/// The header in front of every binary preview frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoHeader {
    /// Frame id of the encoded frame.
    pub frame_id: u64,
    /// Camera index.
    pub camera_id: u32,
    /// Encoded width.
    pub width: u16,
    /// Encoded height.
    pub height: u16,
}

/// Magic bytes that start a video message.
pub const VIDEO_MAGIC: &[u8; 4] = b"FBV1";
/// Header length in bytes.
pub const VIDEO_HEADER_LEN: usize = 20;

impl VideoHeader {
    /// Appends the header to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(VIDEO_MAGIC);
        out.extend_from_slice(&self.frame_id.to_le_bytes());
        out.extend_from_slice(&self.camera_id.to_le_bytes());
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
    }

    /// Splits a message into header and JPEG bytes.
    pub fn parse(msg: &[u8]) -> Option<(Self, &[u8])> {
        if msg.len() < VIDEO_HEADER_LEN || &msg[..4] != VIDEO_MAGIC {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(msg[i..i + 8].try_into().unwrap());
        let u32_at = |i: usize| u32::from_le_bytes(msg[i..i + 4].try_into().unwrap());
        let u16_at = |i: usize| u16::from_le_bytes(msg[i..i + 2].try_into().unwrap());
        Some((
            Self {
                frame_id: u64_at(4),
                camera_id: u32_at(12),
                width: u16_at(16),
                height: u16_at(18),
            },
            &msg[VIDEO_HEADER_LEN..],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = VideoHeader {
            frame_id: 42,
            camera_id: 1,
            width: 640,
            height: 480,
        };
        let mut buf = Vec::new();
        h.write(&mut buf);
        buf.extend_from_slice(&[0xff, 0xd8]);
        let (back, jpeg) = VideoHeader::parse(&buf).unwrap();
        assert_eq!(back, h);
        assert_eq!(jpeg, &[0xff, 0xd8]);
        assert!(VideoHeader::parse(b"FBV1").is_none());
    }
}
