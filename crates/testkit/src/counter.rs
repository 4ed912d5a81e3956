//! A frame counter drawn in the pixels, robust to H.264 compression.
//!
//! The number is written as [`BITS`] blocks of [`BLOCK`]×[`BLOCK`] pixels along the top of
//! the image, most significant bit first: white (235) for 1, black (16) for 0. Reading samples
//! the centre of each block, so blurring and quantisation at block edges do not matter.

/// How many bits the counter holds.
pub const BITS: u32 = 16;
/// Side of one bit's block in pixels.
pub const BLOCK: u32 = 16;
/// The smallest image width that holds the counter.
pub const MIN_WIDTH: u32 = BITS * BLOCK;

const ONE: u8 = 235;
const ZERO: u8 = 16;

/// Draws `n` (mod 2^16) into an 8-bit plane of `width`×`height` with `stride` bytes per row
/// and `bpp` bytes per pixel (1 for gray or a luma plane, 3 for RGB: all channels are set).
///
/// # Panics
/// When the image is smaller than [`MIN_WIDTH`]×[`BLOCK`].
pub fn draw(plane: &mut [u8], width: u32, height: u32, stride: usize, bpp: usize, n: u32) {
    assert!(
        width >= MIN_WIDTH && height >= BLOCK,
        "image too small for the counter"
    );
    for bit in 0..BITS {
        let on = (n >> (BITS - 1 - bit)) & 1 == 1;
        let v = if on { ONE } else { ZERO };
        let x0 = (bit * BLOCK) as usize;
        for y in 0..BLOCK as usize {
            let row = &mut plane[y * stride..];
            for x in x0..x0 + BLOCK as usize {
                row[x * bpp..(x + 1) * bpp].fill(v);
            }
        }
    }
}

/// Reads the counter back from an 8-bit plane laid out as for [`draw`] (for RGB, the first
/// channel is read).
pub fn read(plane: &[u8], stride: usize, bpp: usize) -> u32 {
    let mut n = 0;
    for bit in 0..BITS {
        let cx = (bit * BLOCK + BLOCK / 2) as usize;
        let cy = (BLOCK / 2) as usize;
        let v = plane[cy * stride + cx * bpp];
        n = (n << 1) | u32::from(v > 128);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_gray_and_rgb() {
        for &(bpp, n) in &[(1usize, 0u32), (1, 1), (1, 54321), (3, 65535), (3, 777)] {
            let (w, h) = (320u32, 32u32);
            let stride = w as usize * bpp;
            let mut img = vec![100u8; stride * h as usize];
            draw(&mut img, w, h, stride, bpp, n);
            assert_eq!(read(&img, stride, bpp), n);
        }
    }

    #[test]
    fn survives_noise_inside_blocks() {
        let (w, h) = (256u32, 16u32);
        let mut img = vec![0u8; (w * h) as usize];
        draw(&mut img, w, h, w as usize, 1, 0xA5A5);
        for (i, p) in img.iter_mut().enumerate() {
            *p = p.saturating_add((i % 7) as u8 * 5).saturating_sub(15);
        }
        assert_eq!(read(&img, w as usize, 1), 0xA5A5);
    }
}
