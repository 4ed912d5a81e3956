//! SSD detector decoding (MediaPipe `TensorsToDetections`) and weighted non-max suppression.

/// Most keypoints a detection carries (the palm detector has 7, the pose detector 4).
pub const MAX_KEYPOINTS: usize = 7;

/// One detection, coordinates normalised to the detector input (0..1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Detection {
    /// Probability (sigmoid of the logit).
    pub score: f32,
    /// Box centre x.
    pub cx: f32,
    /// Box centre y.
    pub cy: f32,
    /// Box width.
    pub w: f32,
    /// Box height.
    pub h: f32,
    /// Keypoints `[x, y]`.
    pub kps: [[f32; 2]; MAX_KEYPOINTS],
}

impl Detection {
    fn iou(&self, o: &Detection) -> f32 {
        let ix = ((self.cx + self.w / 2.0).min(o.cx + o.w / 2.0)
            - (self.cx - self.w / 2.0).max(o.cx - o.w / 2.0))
        .max(0.0);
        let iy = ((self.cy + self.h / 2.0).min(o.cy + o.h / 2.0)
            - (self.cy - self.h / 2.0).max(o.cy - o.h / 2.0))
        .max(0.0);
        let inter = ix * iy;
        let union = self.w * self.h + o.w * o.h - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// Decodes the raw boxes (`values` per anchor: box `cx, cy, w, h`, then `n_kps` keypoint
/// pairs, in input pixels relative to the anchor centre) and score logits, keeping those with
/// probability `>= min_score` in `out` (cleared first; no allocation once it has capacity).
#[allow(clippy::too_many_arguments)]
pub fn decode(
    raw: &[f32],
    logits: &[f32],
    anchors: &[[f32; 2]],
    values: usize,
    n_kps: usize,
    input: f32,
    min_score: f32,
    out: &mut Vec<Detection>,
) {
    out.clear();
    for (k, (&logit, a)) in logits.iter().zip(anchors).enumerate() {
        let score = sigmoid(logit.clamp(-100.0, 100.0));
        if score < min_score {
            continue;
        }
        let r = &raw[k * values..(k + 1) * values];
        let mut d = Detection {
            score,
            cx: r[0] / input + a[0],
            cy: r[1] / input + a[1],
            w: r[2] / input,
            h: r[3] / input,
            kps: [[0.0; 2]; MAX_KEYPOINTS],
        };
        for i in 0..n_kps.min(MAX_KEYPOINTS) {
            d.kps[i] = [r[4 + 2 * i] / input + a[0], r[5 + 2 * i] / input + a[1]];
        }
        out.push(d);
    }
}

/// Weighted non-max suppression (MediaPipe's `WEIGHTED` algorithm): the best remaining
/// detection and every one overlapping it by IoU above `iou` are averaged, weighted by score,
/// into one detection with the best score. `cands` is sorted in place; `kept` is cleared first
/// and holds at most `max` detections. `used` is scratch space.
pub fn weighted_nms(
    cands: &mut [Detection],
    iou: f32,
    max: usize,
    used: &mut Vec<bool>,
    kept: &mut Vec<Detection>,
) {
    kept.clear();
    cands.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
    used.clear();
    used.resize(cands.len(), false);
    for i in 0..cands.len() {
        if kept.len() >= max {
            break;
        }
        if used[i] {
            continue;
        }
        let top = cands[i];
        let mut sum = Detection::default();
        let mut total = 0.0;
        for j in i..cands.len() {
            if used[j] || (j != i && top.iou(&cands[j]) <= iou) {
                continue;
            }
            used[j] = true;
            let c = &cands[j];
            let s = c.score;
            total += s;
            sum.cx += c.cx * s;
            sum.cy += c.cy * s;
            sum.w += c.w * s;
            sum.h += c.h * s;
            for (acc, p) in sum.kps.iter_mut().zip(&c.kps) {
                acc[0] += p[0] * s;
                acc[1] += p[1] * s;
            }
        }
        let mut d = Detection {
            score: top.score,
            cx: sum.cx / total,
            cy: sum.cy / total,
            w: sum.w / total,
            h: sum.h / total,
            kps: sum.kps,
        };
        for p in &mut d.kps {
            p[0] /= total;
            p[1] /= total;
        }
        kept.push(d);
    }
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, cx: f32) -> Detection {
        Detection {
            score,
            cx,
            cy: 0.5,
            w: 0.2,
            h: 0.2,
            kps: [[cx, 0.5]; MAX_KEYPOINTS],
        }
    }

    #[test]
    fn overlapping_boxes_average_by_score() {
        let mut c = vec![det(0.6, 0.52), det(0.9, 0.5), det(0.8, 0.1)];
        let (mut used, mut kept) = (Vec::new(), Vec::new());
        weighted_nms(&mut c, 0.3, 10, &mut used, &mut kept);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        let want = (0.9 * 0.5 + 0.6 * 0.52) / 1.5;
        assert!((kept[0].cx - want).abs() < 1e-6);
        assert!((kept[0].kps[3][0] - want).abs() < 1e-6);
        assert!((kept[1].cx - 0.1).abs() < 1e-6);
    }

    #[test]
    fn decode_thresholds_and_offsets_by_anchor() {
        let anchors = [[0.25, 0.25], [0.75, 0.75]];
        let mut raw = vec![0.0; 2 * 12];
        raw[12] = 22.4; // +0.1 in x on anchor 1
        raw[12 + 4] = -22.4;
        let logits = [-3.0, 3.0];
        let mut out = Vec::new();
        decode(&raw, &logits, &anchors, 12, 4, 224.0, 0.5, &mut out);
        assert_eq!(out.len(), 1);
        assert!((out[0].cx - 0.85).abs() < 1e-6);
        assert!((out[0].kps[0][0] - 0.65).abs() < 1e-6);
        assert!((out[0].score - sigmoid(3.0)).abs() < 1e-7);
    }
}
