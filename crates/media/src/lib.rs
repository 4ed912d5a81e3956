//! framebus-media: frame sources (synthetic scenes, image sequences, browser ingest) and JPEG codecs.
