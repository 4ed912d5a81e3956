//! Copying decoded YUV 4:2:0 pictures (planar I420 or semi-planar NV12, rows padded to any
//! stride) into the core's packed frame layouts: NV12 (luma rows, then rows of interleaved
//! U/V) and gray8 (luma rows only). Shared by the decoding sources (`video_file` with either
//! decoder, `gstreamer`): the decoder's planes are written once, straight into the pooled
//! frame, with the I420 → NV12 chroma interleave done in that same copy.

use framebus_core::frame::PixelFormat;

/// One decoded 4:2:0 picture's planes as the decoder hands them out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Planes<'a> {
    /// Three planes (Y, U, V), each `(data, stride)`; chroma is half size rounded up.
    I420 {
        /// Luma plane and its stride.
        y: (&'a [u8], usize),
        /// Cb plane and its stride.
        u: (&'a [u8], usize),
        /// Cr plane and its stride.
        v: (&'a [u8], usize),
    },
    /// Two planes (Y, interleaved UV), each `(data, stride)`.
    #[cfg_attr(
        not(any(feature = "gstreamer", test)),
        expect(dead_code, reason = "given by GStreamer's decoders")
    )]
    Nv12 {
        /// Luma plane and its stride.
        y: (&'a [u8], usize),
        /// Interleaved Cb/Cr plane and its stride.
        uv: (&'a [u8], usize),
    },
}

impl Planes<'_> {
    /// The luma plane and its stride.
    fn luma(&self) -> (&[u8], usize) {
        match *self {
            Self::I420 { y, .. } | Self::Nv12 { y, .. } => y,
        }
    }
}

/// Writes `planes` (a `width × height` picture) as `format` (`Nv12` or `Gray8`) into `dst`,
/// whose rows are `dst_stride` bytes apart (NV12's chroma rows follow the `height` luma rows).
/// Returns an error for another format or planes too small for the size.
pub(crate) fn write_yuv(
    planes: &Planes<'_>,
    (width, height): (usize, usize),
    format: PixelFormat,
    dst: &mut [u8],
    dst_stride: usize,
) -> Result<(), String> {
    if !matches!(format, PixelFormat::Nv12 | PixelFormat::Gray8) {
        return Err(format!("YUV pictures are not copied as {format:?}"));
    }
    let (luma, chroma) = dst.split_at_mut((dst_stride * height).min(dst.len()));
    let (y, y_stride) = planes.luma();
    copy_rows(y, y_stride, luma, dst_stride, width, height)?;
    if format == PixelFormat::Gray8 {
        return Ok(());
    }
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    // The core's NV12 chroma rows are `width` bytes: an odd width loses its last chroma
    // column, which 4:2:0 streams (even coded sizes) do not have.
    let pairs = width / 2;
    match *planes {
        Planes::Nv12 { uv, .. } => copy_rows(uv.0, uv.1, chroma, dst_stride, pairs * 2, ch),
        Planes::I420 { u, v, .. } => {
            if !fits(u, cw, ch) || !fits(v, cw, ch) || !fits((&*chroma, dst_stride), pairs * 2, ch)
            {
                return Err(format!(
                    "I420 chroma planes too small for {width}×{height} (strides {} / {})",
                    u.1, v.1
                ));
            }
            for row in 0..ch {
                let out = &mut chroma[row * dst_stride..][..pairs * 2];
                interleave(&u.0[row * u.1..][..pairs], &v.0[row * v.1..][..pairs], out);
            }
            Ok(())
        }
    }
}

/// Whether a plane `(data, stride)` holds `rows` rows of `row` bytes.
fn fits((data, stride): (&[u8], usize), row: usize, rows: usize) -> bool {
    rows == 0 || (stride >= row && data.len() >= stride * (rows - 1) + row)
}

/// Copies `rows` rows of `row` bytes from `src` (rows `src_stride` apart) to `dst` (rows
/// `dst_stride` apart); an error when either is too small.
pub(crate) fn copy_rows(
    src: &[u8],
    src_stride: usize,
    dst: &mut [u8],
    dst_stride: usize,
    row: usize,
    rows: usize,
) -> Result<(), String> {
    if !fits((src, src_stride), row, rows) || !fits((&*dst, dst_stride), row, rows) {
        return Err(format!(
            "plane too small: {rows} rows of {row} bytes, strides {src_stride} → {dst_stride}"
        ));
    }
    if src_stride == row && dst_stride == row {
        dst[..row * rows].copy_from_slice(&src[..row * rows]);
        return Ok(());
    }
    for y in 0..rows {
        dst[y * dst_stride..][..row].copy_from_slice(&src[y * src_stride..][..row]);
    }
    Ok(())
}

/// Writes `u[i], v[i]` pairs into `out` (`2 × u.len()` bytes). Blocks of 16 pairs with fixed
/// sizes let the compiler use byte-unpack instructions.
pub(crate) fn interleave(u: &[u8], v: &[u8], out: &mut [u8]) {
    const B: usize = 16;
    let n = u.len().min(v.len()).min(out.len() / 2);
    let (u, v, out) = (&u[..n], &v[..n], &mut out[..2 * n]);
    let blocks = n / B;
    for ((o, u), v) in out
        .chunks_exact_mut(2 * B)
        .zip(u.chunks_exact(B))
        .zip(v.chunks_exact(B))
    {
        let o: &mut [u8; 2 * B] = o.try_into().expect("chunk of 2B");
        let u: &[u8; B] = u.try_into().expect("chunk of B");
        let v: &[u8; B] = v.try_into().expect("chunk of B");
        for i in 0..B {
            o[2 * i] = u[i];
            o[2 * i + 1] = v[i];
        }
    }
    for i in blocks * B..n {
        out[2 * i] = u[i];
        out[2 * i + 1] = v[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_pairs_every_length() {
        for n in [0usize, 1, 15, 16, 17, 40, 640] {
            let u: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let v: Vec<u8> = (0..n).map(|i| 255 - i as u8).collect();
            let mut out = vec![7; 2 * n];
            interleave(&u, &v, &mut out);
            for i in 0..n {
                assert_eq!((out[2 * i], out[2 * i + 1]), (u[i], v[i]), "n {n} i {i}");
            }
        }
    }

    /// A 6×4 I420 picture with padded strides written as NV12 and gray8 into padded rows.
    #[test]
    fn i420_and_nv12_planes_give_the_same_packed_frames() {
        let (w, h) = (6usize, 4usize);
        let y: Vec<u8> = (0..8 * h).map(|i| i as u8).collect();
        let u: Vec<u8> = (0..5 * 2).map(|i| 100 + i as u8).collect();
        let v: Vec<u8> = (0..5 * 2).map(|i| 200 + i as u8).collect();
        let i420 = Planes::I420 {
            y: (&y, 8),
            u: (&u, 5),
            v: (&v, 5),
        };
        let mut nv12 = vec![0u8; 7 * h * 3 / 2];
        write_yuv(&i420, (w, h), PixelFormat::Nv12, &mut nv12, 7).unwrap();
        for row in 0..h {
            assert_eq!(&nv12[row * 7..][..w], &y[row * 8..][..w]);
        }
        let chroma = &nv12[7 * h..];
        assert_eq!(&chroma[..6], &[100, 200, 101, 201, 102, 202]);
        assert_eq!(&chroma[7..13], &[105, 205, 106, 206, 107, 207]);
        // The same picture handed out as NV12 planes gives the same frame.
        let uv: Vec<u8> = chroma.to_vec();
        let semi = Planes::Nv12 {
            y: (&y, 8),
            uv: (&uv, 7),
        };
        let mut again = vec![0u8; nv12.len()];
        write_yuv(&semi, (w, h), PixelFormat::Nv12, &mut again, 7).unwrap();
        assert_eq!(again, nv12);
        let mut gray = vec![0u8; w * h];
        write_yuv(&i420, (w, h), PixelFormat::Gray8, &mut gray, w).unwrap();
        assert_eq!(&gray[w..2 * w], &y[8..14]);
        // Planes smaller than the size are an error, not a panic.
        let short = Planes::I420 {
            y: (&y, 8),
            u: (&u[..4], 5),
            v: (&v, 5),
        };
        assert!(write_yuv(&short, (w, h), PixelFormat::Nv12, &mut nv12, 7).is_err());
        assert!(write_yuv(&i420, (w, h), PixelFormat::Rgb8, &mut nv12, 7).is_err());
    }
}
