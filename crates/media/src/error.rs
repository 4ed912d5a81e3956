//! The crate's error type: what can go wrong decoding or encoding pictures.

/// A media failure. Sources turn it into a [`framebus_core::Error::Source`].
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The bytes are not a PNG or JPEG image.
    #[error("not a PNG or JPEG image")]
    UnknownFormat,
    /// The image is larger than allowed.
    #[error("image {width}x{height} exceeds the limit {max_width}x{max_height}")]
    TooLarge {
        /// Width of the image (0 when the decoder refused before reading it).
        width: u32,
        /// Height of the image (0 when unknown).
        height: u32,
        /// Largest width allowed.
        max_width: u32,
        /// Largest height allowed.
        max_height: u32,
    },
    /// The image is damaged or cannot be decoded.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// The frame cannot be encoded.
    #[error("encode: {0}")]
    Encode(String),
}

/// The crate's result alias.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;

impl From<MediaError> for framebus_core::Error {
    fn from(e: MediaError) -> Self {
        framebus_core::Error::source(e.to_string())
    }
}
