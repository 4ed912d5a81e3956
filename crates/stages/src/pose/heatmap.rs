//! MediaPipe's `RefineLandmarksFromHeatmapCalculator`: each landmark moves to the
//! confidence-weighted mean cell of a small window of its heatmap around it, when the window's
//! best confidence is high enough.

/// Refines `lm` (`n` points × `stride` values, x and y first, in crop pixels of side `crop`)
/// from `heatmap` (`side`×`side`×`n`, logits), window `kernel`×`kernel`, threshold `min_conf`.
#[allow(clippy::too_many_arguments)]
pub fn refine(
    lm: &mut [f32],
    n: usize,
    stride: usize,
    crop: f32,
    heatmap: &[f32],
    side: usize,
    kernel: usize,
    min_conf: f32,
) {
    let off = (kernel - 1) / 2;
    for i in 0..n {
        let p = &mut lm[i * stride..i * stride + 2];
        let (fx, fy) = (p[0] / crop * side as f32, p[1] / crop * side as f32);
        if !(fx >= 0.0 && fy >= 0.0) {
            continue;
        }
        let (col, row) = (fx as usize, fy as usize);
        if col >= side || row >= side {
            continue;
        }
        let (mut sum, mut wc, mut wr, mut best) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for r in row.saturating_sub(off)..(row + off + 1).min(side) {
            for c in col.saturating_sub(off)..(col + off + 1).min(side) {
                let conf = super::detect::sigmoid(heatmap[(r * side + c) * n + i]);
                sum += conf;
                best = best.max(conf);
                wc += c as f32 * conf;
                wr += r as f32 * conf;
            }
        }
        if best >= min_conf && sum > 0.0 {
            p[0] = wc / sum / side as f32 * crop;
            p[1] = wr / sum / side as f32 * crop;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_to_the_weighted_peak_only_when_confident() {
        // One landmark, 8×8 heatmap, a strong blob at cells (5,2) and (6,2).
        let mut hm = vec![-20.0f32; 64];
        hm[2 * 8 + 5] = 10.0;
        hm[2 * 8 + 6] = 10.0;
        let mut lm = [4.0 * 32.0 / 8.0, 3.0 * 32.0 / 8.0, 0.0];
        refine(&mut lm, 1, 3, 32.0, &hm, 8, 7, 0.5);
        assert!((lm[0] - 5.5 * 4.0).abs() < 1e-3, "{lm:?}");
        assert!((lm[1] - 2.0 * 4.0).abs() < 1e-3);
        // No confident cell: unchanged.
        let mut lm2 = [10.0, 10.0, 0.0];
        refine(&mut lm2, 1, 3, 32.0, &vec![-20.0; 64], 8, 7, 0.5);
        assert_eq!(lm2, [10.0, 10.0, 0.0]);
    }
}
