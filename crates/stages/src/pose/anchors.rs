//! SSD anchors as MediaPipe's `SsdAnchorsCalculator` makes them with a fixed anchor size:
//! only the centres matter.

/// Anchor centres in normalised input coordinates, for `input`×`input` and the layer
/// `strides`; consecutive equal strides share a grid and add two anchors each per cell.
pub fn ssd_anchors(input: usize, strides: &[usize]) -> Vec<[f32; 2]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < strides.len() {
        let mut j = i;
        let mut per_cell = 0;
        while j < strides.len() && strides[j] == strides[i] {
            per_cell += 2;
            j += 1;
        }
        let fm = input.div_ceil(strides[i]);
        for y in 0..fm {
            for x in 0..fm {
                let c = [(x as f32 + 0.5) / fm as f32, (y as f32 + 0.5) / fm as f32];
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pose_and_palm_counts() {
        let a = ssd_anchors(224, &[8, 16, 32, 32, 32]);
        assert_eq!(a.len(), 2254);
        assert_eq!(a[0], [0.5 / 28.0, 0.5 / 28.0]);
        assert_eq!(a[1], a[0]);
        // First 16-stride anchor after the 28×28×2 block.
        assert_eq!(a[28 * 28 * 2], [0.5 / 14.0, 0.5 / 14.0]);
        assert_eq!(ssd_anchors(192, &[8, 16, 16, 16]).len(), 2016);
    }
}
