//! [`Payload`]: a JSON message serialized once and shared by every client, with its
//! compressed form (seed 002's rule) computed at most once, on first demand.

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use framebus_protocol::compressed::{COMPRESS_MAX_RATIO, COMPRESS_MIN_BYTES, COMPRESSED_MAGIC};

/// One JSON message as bytes, shared by all clients.
#[derive(Debug)]
pub(crate) struct Payload {
    json: Utf8Bytes,
    compressed: OnceLock<Option<Bytes>>,
}

impl Payload {
    /// Wraps serialized JSON, checked for UTF-8 once here (never per client). Invalid
    /// UTF-8 (which serde_json never writes) is replaced.
    pub(crate) fn new(json: Bytes) -> Self {
        let json = Utf8Bytes::try_from(json.clone())
            .unwrap_or_else(|_| Utf8Bytes::from(String::from_utf8_lossy(&json).into_owned()));
        Self {
            json,
            compressed: OnceLock::new(),
        }
    }

    /// The JSON text, cheap to clone into a WebSocket text message.
    pub(crate) fn text(&self) -> &Utf8Bytes {
        &self.json
    }

    /// The compressed binary form (`FBZ1` + zlib), if the message is over 1 KiB and
    /// compresses below 90 %; computed once, whichever client asks first.
    pub(crate) fn compressed(&self) -> Option<&Bytes> {
        self.compressed
            .get_or_init(|| compress(self.json.as_bytes()))
            .as_ref()
    }
}

/// `FBZ1` + zlib(level 6) of `json` when that pays off (seed 002: over 1 KiB, ratio < 0.9).
pub(crate) fn compress(json: &[u8]) -> Option<Bytes> {
    if json.len() <= COMPRESS_MIN_BYTES {
        return None;
    }
    let mut out = Vec::with_capacity(json.len() / 3 + 16);
    out.extend_from_slice(COMPRESSED_MAGIC);
    let mut enc = ZlibEncoder::new(out, Compression::new(6));
    enc.write_all(json).ok()?;
    let out = enc.finish().ok()?;
    let ratio = (out.len() - COMPRESSED_MAGIC.len()) as f64 / json.len() as f64;
    (ratio < COMPRESS_MAX_RATIO).then(|| Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compresses_large_repetitive_json_only() {
        let small = Payload::new(Bytes::from_static(br#"{"type":"ack"}"#));
        assert!(small.compressed().is_none());
        let big = format!("[{}]", vec![r#"{"x":1.0,"y":2.0}"#; 200].join(","));
        let p = Payload::new(Bytes::from(big.clone()));
        let c = p.compressed().unwrap();
        assert!(c.len() < big.len() / 4);
        let z = framebus_protocol::compressed::payload(c).unwrap();
        let mut back = String::new();
        flate2::read::ZlibDecoder::new(z)
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, big);
        // Data that does not compress below 90 % is sent as is.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..4000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(compress(&noise).is_none());
    }
}
