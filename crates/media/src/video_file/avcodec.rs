//! H.264 decoding with the system's libavcodec (feature `ffmpeg`, through `ffmpeg-next`):
//! the decoder `ffmpeg -c:v h264` uses, about 2.5× faster per frame than OpenH264.
//!
//! Access units go in as Annex-B (what the demuxer gives OpenH264 too); one send gives at
//! most one picture (H.264 decoders emit one per packet, in presentation order after their
//! reorder delay), which is written straight into the caller's buffer: for NV12 and gray8 the
//! luma rows copied and the chroma interleaved in that copy ([`crate::yuv`]); for RGB through
//! libswscale into a reused picture, then its rows. Pictures in another layout (4:2:2, 4:4:4,
//! 10-bit) go through libswscale for every format. `threads` (default 1) is libavcodec's
//! frame-thread count.

use ff::codec::threading;
use ff::format::Pixel;
use ff::software::scaling;
use ffmpeg_next as ff;
use framebus_core::frame::PixelFormat;

use super::decode::{Dims, tail_slot};
use crate::yuv::{Planes, copy_rows, write_yuv};

/// A libavcodec H.264 decoder with its reused output picture and colour converter.
pub(crate) struct AvDecoder {
    dec: ff::decoder::Video,
    /// The picture the decoder writes into (its buffers come from libavcodec's pool).
    picture: ff::frame::Video,
    /// The converter for pictures that are not written directly, and its output picture,
    /// kept while the input layout, size and output format stay the same.
    convert: Option<Converter>,
}

/// A libswscale context for one (input layout, size, output format) and its output picture.
struct Converter {
    key: (Pixel, u32, u32, Pixel),
    ctx: scaling::Context,
    out: ff::frame::Video,
}

// SAFETY: `scaling::Context` owns its `SwsContext` pointer exclusively (created in
// `Context::get`, freed in its `Drop`, never shared or cloned), and `Converter` is only used
// through `&mut` from the one thread that owns the source at a time. libswscale contexts have
// no thread affinity (no thread-local state); they must just not be used from two threads at
// once, which `&mut` rules out. The source is built on the runtime's thread and moved to its
// capture thread: `tests/ffmpeg_decode.rs` (`a_4_4_4_stream_is_converted_into_every_format`)
// moves a source whose converter exists to another thread and keeps decoding.
#[allow(unsafe_code)]
unsafe impl Send for Converter {}

/// Initialises libavcodec's logging once: errors only (a corrupt stream is reported through
/// the source's error, not printed by the library).
fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| ff::util::log::set_level(ff::util::log::Level::Fatal));
}

impl AvDecoder {
    /// A fresh decoder using `threads` frame threads (1 = single-threaded).
    pub(crate) fn new(threads: u32) -> Result<Self, String> {
        init();
        let codec = ff::decoder::find(ff::codec::Id::H264)
            .ok_or("the system's libavcodec has no H.264 decoder")?;
        let mut ctx = ff::codec::Context::new_with_codec(codec);
        ctx.set_threading(threading::Config {
            kind: if threads > 1 {
                threading::Type::Frame
            } else {
                threading::Type::None
            },
            count: threads.max(1) as usize,
            ..Default::default()
        });
        let dec = ctx
            .decoder()
            .open_as(codec)
            .and_then(|d| d.video())
            .map_err(|e| format!("cannot start libavcodec's H.264 decoder: {e}"))?;
        Ok(Self {
            dec,
            picture: ff::frame::Video::empty(),
            convert: None,
        })
    }

    /// Decodes one access unit (Annex-B); returns the picture's size when one came out (it
    /// stays in the decoder until [`Self::write`]).
    pub(crate) fn decode(&mut self, access_unit: &[u8]) -> Result<Option<Dims>, String> {
        self.dec
            .send_packet(&ff::Packet::borrow(access_unit))
            .map_err(|e| format!("H.264 decode failed (libavcodec): {e}"))?;
        self.receive()
    }

    /// The next picture the decoder has ready, if any.
    fn receive(&mut self) -> Result<Option<Dims>, String> {
        match self.dec.receive_frame(&mut self.picture) {
            Ok(()) => Ok(Some((self.picture.width(), self.picture.height()))),
            Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => Ok(None),
            Err(ff::Error::Eof) => Ok(None),
            Err(e) => Err(format!("H.264 decode failed (libavcodec): {e}")),
        }
    }

    /// Takes every picture the decoder still holds (end of stream), writing each in `format`
    /// into a buffer of `tail` (grown as needed, kept for reuse). Returns how many.
    pub(crate) fn drain(
        &mut self,
        format: PixelFormat,
        tail: &mut Vec<(Dims, Vec<u8>)>,
    ) -> Result<usize, String> {
        // After an error the decoder may already have been told; a second EOF is refused.
        let _ = self.dec.send_eof();
        let mut n = 0;
        while let Some((w, h)) = self.receive()? {
            let buf = tail_slot(tail, n, format, (w, h));
            self.write(format, buf, format.min_stride(w))?;
            n += 1;
        }
        Ok(n)
    }

    /// Writes the last decoded picture in `format` into `buf` (rows `stride` bytes apart).
    pub(crate) fn write(
        &mut self,
        format: PixelFormat,
        buf: &mut [u8],
        stride: usize,
    ) -> Result<(), String> {
        let p = &self.picture;
        let (w, h) = (p.width(), p.height());
        let direct = matches!(format, PixelFormat::Nv12 | PixelFormat::Gray8)
            && matches!(p.format(), Pixel::YUV420P | Pixel::YUVJ420P);
        if direct {
            let planes = Planes::I420 {
                y: (p.data(0), p.stride(0)),
                u: (p.data(1), p.stride(1)),
                v: (p.data(2), p.stride(2)),
            };
            return write_yuv(&planes, (w as usize, h as usize), format, buf, stride);
        }
        let target = match format {
            PixelFormat::Nv12 => Pixel::NV12,
            PixelFormat::Gray8 => Pixel::GRAY8,
            PixelFormat::Rgb8 => Pixel::RGB24,
            other => return Err(format!("the video_file source does not give {other:?}")),
        };
        let key = (p.format(), w, h, target);
        if self.convert.as_ref().is_none_or(|c| c.key != key) {
            let ctx = scaling::Context::get(
                p.format(),
                w,
                h,
                target,
                w,
                h,
                scaling::Flags::FAST_BILINEAR,
            )
            .map_err(|e| format!("cannot convert {:?} to {target:?}: {e}", p.format()))?;
            self.convert = Some(Converter {
                key,
                ctx,
                out: ff::frame::Video::new(target, w, h),
            });
        }
        let c = self.convert.as_mut().expect("set above");
        if target == Pixel::RGB24 && w % 16 == 0 && stride == w as usize * 3 {
            return scale_rgb_into(&mut c.ctx, p, buf, stride);
        }
        c.ctx
            .run(p, &mut c.out)
            .map_err(|e| format!("colour conversion failed: {e}"))?;
        let rows = h as usize;
        match target {
            Pixel::NV12 => {
                let row = w as usize;
                let (luma, chroma) = buf.split_at_mut(stride * rows);
                copy_rows(c.out.data(0), c.out.stride(0), luma, stride, row, rows)?;
                copy_rows(
                    c.out.data(1),
                    c.out.stride(1),
                    chroma,
                    stride,
                    row,
                    rows.div_ceil(2),
                )
            }
            _ => {
                let row = format.min_stride(w);
                copy_rows(c.out.data(0), c.out.stride(0), buf, stride, row, rows)
            }
        }
    }
}

/// Converts `src` with `ctx` (made for its layout and size, output RGB24 at the same size)
/// straight into packed RGB rows in `dst`, `stride` bytes apart: no intermediate picture.
/// Only for widths that are a multiple of 16 with rows exactly `width × 3` bytes (libswscale's
/// unscaled YUV → RGB converters then write whole 8-pixel groups that end at the row's end);
/// other sizes go through the converter's own picture.
#[allow(unsafe_code)]
fn scale_rgb_into(
    ctx: &mut scaling::Context,
    src: &ff::frame::Video,
    dst: &mut [u8],
    stride: usize,
) -> Result<(), String> {
    let (w, h) = (src.width(), src.height());
    let (input, output) = (ctx.input(), ctx.output());
    let matches = input.format == src.format()
        && (input.width, input.height) == (w, h)
        && output.format == Pixel::RGB24
        && (output.width, output.height) == (w, h);
    let fits = w % 16 == 0 && stride == w as usize * 3 && dst.len() >= stride * h as usize;
    let (Ok(rows), Ok(line)) = (
        std::ffi::c_int::try_from(h),
        std::ffi::c_int::try_from(stride),
    ) else {
        return Err(format!("a {w}×{h} picture is too large"));
    };
    if !(matches && fits) {
        return Err(format!(
            "cannot convert a {w}×{h} {:?} picture into {} bytes of RGB rows {stride} apart",
            src.format(),
            dst.len()
        ));
    }
    let planes: [*mut u8; 4] = [
        dst.as_mut_ptr(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    ];
    let lines: [std::ffi::c_int; 4] = [line, 0, 0, 0];
    // SAFETY: `ctx` is a live SwsContext made for exactly `src`'s format and size with RGB24
    // output at the same size (checked above), so libswscale reads `src`'s planes (a decoded
    // picture libavcodec allocated with its own padding, `data`/`linesize` describe them) for
    // `h` rows, and writes `h` rows of `w × 3` bytes at `dst + y × stride`: the last byte
    // written is below `stride × h ≤ dst.len()` (checked). Its unscaled YUV → RGB24 code
    // (the only path for same-size input and output, which `FAST_BILINEAR` without
    // `ACCURATE_RND` keeps) steps 8 pixels at a time and widths here are multiples of 16, so
    // it never writes past a row's end. `dst` is borrowed mutably for the call only and the
    // pointer arrays live on this stack frame. Tested against OpenH264's RGB on a 320-pixel
    // wide video in `tests/ffmpeg_decode.rs` (and every video_file test with the feature).
    let written = unsafe {
        ff::ffi::sws_scale(
            ctx.as_mut_ptr(),
            (*src.as_ptr()).data.as_ptr() as *const *const u8,
            (*src.as_ptr()).linesize.as_ptr(),
            0,
            rows,
            planes.as_ptr(),
            lines.as_ptr(),
        )
    };
    if written != rows {
        return Err(format!("libswscale wrote {written} of {h} rows"));
    }
    Ok(())
}
