//! `blob_detection`: bright (or dark) spots found by thresholding and connected components.
//!
//! # How it works
//! The gray view of the frame (shared with every other stage, converted once) is thresholded:
//! a pixel is foreground when it is `>= threshold` (or `<= threshold` with `invert`). Each row
//! is cut into runs of foreground pixels; runs that touch a run of the row above (including
//! diagonally: 8-connectivity) are joined with a union-find over run indices. Every component
//! then sums its area, pixel coordinates and bounding box in one pass over the runs.
//! Components outside `min_area..=max_area` are dropped; when more than `max_blobs` remain the
//! largest are kept. Blobs are sorted by centroid y, then x, and numbered in that order.
//!
//! Every buffer (runs, parents, labels, components, blob list) is sized for the worst case of
//! the frame size the first time it is seen, so steady-state frames never allocate.
//!
//! The centroid is the mean of the pixel indices: the pixel at column 3 has x = 3.0.
//!
//! Result (namespace: the instance id, `blob_detection` by default):
//! `{"blobs":[{"id":0,"x":..,"y":..,"area":..,"bbox":{"x":..,"y":..,"w":..,"h":..}}],
//! "count":n,"params":{..the params in force..}}`. Each blob is also published as the point
//! `blob_<id>`, and the count as the signal `blob_count`.
//!
//! # Parameters
//! - `threshold` (0..255, default 200): gray level that separates blobs from background.
//! - `invert` (default false): find dark blobs (`<= threshold`) instead of bright ones.
//! - `min_area`, `max_area` (px, default 10 and 5000): blob size filter, inclusive.
//! - `max_blobs` (default 64): at most this many blobs, the largest first.

use framebus_core::prelude::*;

use super::components::{Component, Labeler};

/// Params of [`BlobDetection`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BlobParams {
    /// Gray level (0–255) separating blobs from the background.
    #[schemars(range(min = 0, max = 255))]
    pub threshold: u8,
    /// Find dark blobs (pixels at or below the threshold) instead of bright ones.
    pub invert: bool,
    /// Smallest blob kept, in pixels.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub min_area: u32,
    /// Largest blob kept, in pixels.
    #[schemars(range(min = 1, max = 10_000_000))]
    pub max_area: u32,
    /// At most this many blobs are reported (the largest ones).
    #[schemars(range(min = 1, max = 1024))]
    pub max_blobs: u32,
}

impl BlobParams {
    /// Default `threshold`.
    pub const THRESHOLD: u8 = 200;
    /// Default `min_area`.
    pub const MIN_AREA: u32 = 10;
    /// Default `max_area`.
    pub const MAX_AREA: u32 = 5000;
    /// Default `max_blobs`.
    pub const MAX_BLOBS: u32 = 64;
}

impl Default for BlobParams {
    fn default() -> Self {
        Self {
            threshold: Self::THRESHOLD,
            invert: false,
            min_area: Self::MIN_AREA,
            max_area: Self::MAX_AREA,
            max_blobs: Self::MAX_BLOBS,
        }
    }
}

/// A bounding box in pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BBox {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

/// One blob.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Blob {
    /// Index in this frame's list (sorted by y, then x).
    pub id: u32,
    /// Centroid x in pixels.
    pub x: f64,
    /// Centroid y in pixels.
    pub y: f64,
    /// Area in pixels.
    pub area: u32,
    /// Bounding box.
    pub bbox: BBox,
}

/// The result of [`BlobDetection`]: blobs of this frame and the params that found them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Blobs {
    /// Blobs, sorted by centroid y, then x.
    pub blobs: Vec<Blob>,
    /// `blobs.len()`.
    pub count: usize,
    /// The params in force for this frame.
    pub params: BlobParams,
}

/// Finds blobs by threshold and 8-connected components. See the [module docs](self).
pub struct BlobDetection {
    params: BlobParams,
    labeler: Labeler,
    blobs: Vec<Blob>,
    /// `blob_0`, `blob_1`, …: point names, made once.
    names: Vec<String>,
}

impl BlobDetection {
    fn ensure_names(&mut self) {
        let n = self.params.max_blobs as usize;
        while self.names.len() < n {
            self.names.push(format!("blob_{}", self.names.len()));
        }
        self.blobs.reserve(n);
    }
}

impl Stage for BlobDetection {
    type Params = BlobParams;

    const INFO: StageInfo = StageInfo {
        id: "blob_detection",
        version: "0.1.0",
        description: "Bright or dark spots by threshold and 8-connected components",
        namespace: None,
        commands: &[],
    };

    fn new(params: BlobParams, _init: &StageInit) -> Result<Self> {
        let mut s = Self {
            params,
            labeler: Labeler::default(),
            blobs: Vec::new(),
            names: Vec::new(),
        };
        s.ensure_names();
        Ok(s)
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let p = self.params;
        let gray = ctx.gray();
        self.labeler.label(
            gray.data,
            gray.width as usize,
            gray.height as usize,
            p.threshold,
            p.invert,
        );

        let comps = &mut self.labeler.comps;
        comps.retain(|c| (p.min_area..=p.max_area).contains(&c.area));
        let max = p.max_blobs as usize;
        if comps.len() > max {
            comps.select_nth_unstable_by(max - 1, |a, b| b.area.cmp(&a.area));
            comps.truncate(max);
        }
        self.blobs.clear();
        self.blobs.extend(comps.iter().map(|&c| to_blob(c)));
        self.blobs.sort_unstable_by(|a, b| {
            a.y.total_cmp(&b.y)
                .then(a.x.total_cmp(&b.x))
                .then(a.area.cmp(&b.area))
        });
        for (i, b) in self.blobs.iter_mut().enumerate() {
            b.id = i as u32;
        }

        let out = ctx.output::<Blobs>();
        out.blobs.clone_from(&self.blobs);
        out.count = self.blobs.len();
        out.params = p;
        for (b, name) in self.blobs.iter().zip(&self.names) {
            ctx.publish_point(name, b.x, b.y, 1.0);
        }
        ctx.signal("blob_count", self.blobs.len() as f64);
        Ok(Flow::Continue)
    }

    fn set_params(&mut self, params: BlobParams, _ctx: &mut CommandCtx<'_>) -> Result<()> {
        // Keep the buffers: only the params change.
        self.params = params;
        self.ensure_names();
        Ok(())
    }
}

/// The blob a component describes (its id is set after sorting).
fn to_blob(c: Component) -> Blob {
    let a = f64::from(c.area);
    Blob {
        id: 0,
        x: c.sum_x as f64 / a,
        y: c.sum_y as f64 / a,
        area: c.area,
        bbox: BBox {
            x: c.x0,
            y: c.y0,
            w: c.x1 - c.x0 + 1,
            h: c.y1 - c.y0 + 1,
        },
    }
}

framebus_core::register_stage!(BlobDetection);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}

#[cfg(test)]
mod tests {
    use framebus_core::frame::Frame;
    use framebus_core::harness::Harness;
    use framebus_core::protocol::{ErrorCode, RunState};

    use super::*;

    const W: u32 = 320;
    const H: u32 = 240;

    /// Draws discs `(cx, cy, r)` of level `fg` on `bg`.
    fn discs(h: &mut Harness, discs: &[(f64, f64, f64)], fg: u8, bg: u8) -> Frame {
        h.frame(W, H, PixelFormat::Gray8, |d| {
            d.fill(bg);
            for &(cx, cy, r) in discs {
                for y in 0..H as usize {
                    for x in 0..W as usize {
                        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                        if dx * dx + dy * dy <= r * r {
                            d[y * W as usize + x] = fg;
                        }
                    }
                }
            }
        })
    }

    fn harness(params: Value) -> Harness {
        Harness::builder()
            .stage::<BlobDetection>("blob_detection", params)
            .build()
            .unwrap()
    }

    fn blobs(h: &Harness) -> Blobs {
        h.result::<Blobs>("blob_detection").unwrap().clone()
    }

    const DISCS: [(f64, f64, f64); 4] = [
        (40.3, 30.7, 6.0),
        (200.0, 30.2, 9.5),
        (120.6, 120.4, 12.0),
        (60.5, 200.5, 4.0),
    ];

    #[test]
    fn finds_every_disc_with_subpixel_centroids() {
        let mut h = harness(json!({}));
        let f = discs(&mut h, &DISCS, 255, 20);
        let snap = h.process(&f);
        let b = blobs(&h);
        assert_eq!(b.count, 4);
        let mut want = DISCS.to_vec();
        want.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
        for (i, (blob, (cx, cy, r))) in b.blobs.iter().zip(want).enumerate() {
            assert_eq!(blob.id, i as u32);
            assert!(
                (blob.x - cx).abs() < 0.5 && (blob.y - cy).abs() < 0.5,
                "{blob:?} vs {cx},{cy}"
            );
            let area = std::f64::consts::PI * r * r;
            assert!(
                (f64::from(blob.area) - area).abs() < 0.15 * area,
                "{blob:?}"
            );
            assert!(blob.bbox.w as f64 <= 2.0 * r + 1.0 && blob.bbox.x as f64 >= cx - r - 1.0);
        }
        assert_eq!(snap["signals"]["blob_count"], 4.0);
        let res = &snap["results"]["blob_detection"];
        assert_eq!(res["count"], 4);
        assert_eq!(
            res["params"],
            json!({"threshold":200,"invert":false,"min_area":10,"max_area":5000,"max_blobs":64})
        );
        assert_eq!(res["blobs"][0]["bbox"].as_object().unwrap().len(), 4);
        // Points blob_0.. for later stages.
        let p = h.pipeline().results().points.as_slice();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].name, "blob_0");
        assert_eq!((p[3].name.as_str(), p[3].x), ("blob_3", b.blobs[3].x));
    }

    #[test]
    fn invert_finds_dark_discs() {
        let mut h = harness(json!({"invert": true, "threshold": 50}));
        let f = discs(&mut h, &DISCS, 10, 230);
        h.process(&f);
        let b = blobs(&h);
        assert_eq!(b.count, 4);
        assert!(b.params.invert);
        // Without invert the bright background is one huge component, beyond max_area.
        let mut h = harness(json!({"threshold": 50}));
        let f = discs(&mut h, &DISCS, 10, 230);
        h.process(&f);
        assert_eq!(blobs(&h).count, 0);
    }

    #[test]
    fn area_limits_filter_blobs() {
        // Areas ≈ 113, 284, 452, 50.
        let mut h = harness(json!({"min_area": 100, "max_area": 400}));
        let f = discs(&mut h, &DISCS, 255, 0);
        h.process(&f);
        let b = blobs(&h);
        let areas: Vec<u32> = b.blobs.iter().map(|b| b.area).collect();
        assert_eq!(b.count, 2, "{areas:?}");
        assert!(areas.iter().all(|a| (100..=400).contains(a)));
    }

    #[test]
    fn max_blobs_keeps_the_largest() {
        let mut h = harness(json!({"max_blobs": 2}));
        let f = discs(&mut h, &DISCS, 255, 0);
        h.process(&f);
        let b = blobs(&h);
        assert_eq!(b.count, 2);
        assert!(b.blobs.iter().all(|b| b.area > 250), "{b:?}");
        assert!(b.blobs[0].y < b.blobs[1].y);
    }

    #[test]
    fn eight_connectivity_joins_diagonals_and_u_shapes() {
        let mut h = harness(json!({"min_area": 1}));
        let f = h.frame(16, 8, PixelFormat::Gray8, |d| {
            d.fill(0);
            // A diagonal line of 5 pixels.
            for i in 0..5 {
                d[i * 16 + i] = 255;
            }
            // A U: two columns joined only at the bottom row (merge found late).
            for y in 0..6 {
                d[y * 16 + 9] = 255;
                d[y * 16 + 13] = 255;
            }
            for x in 9..=13 {
                d[6 * 16 + x] = 255;
            }
        });
        h.process(&f);
        let b = blobs(&h);
        assert_eq!(b.count, 2, "{b:?}");
        let diag = b.blobs.iter().find(|b| b.area == 5).unwrap();
        assert_eq!(
            (diag.x, diag.y, diag.bbox),
            (
                2.0,
                2.0,
                BBox {
                    x: 0,
                    y: 0,
                    w: 5,
                    h: 5
                }
            )
        );
        let u = b.blobs.iter().find(|b| b.area == 6 + 6 + 5).unwrap();
        assert_eq!(
            u.bbox,
            BBox {
                x: 9,
                y: 0,
                w: 5,
                h: 7
            }
        );
        assert!((u.x - 11.0).abs() < 1e-9);
    }

    #[test]
    fn set_params_applies_from_the_next_frame() {
        let mut h = harness(json!({}));
        let f = discs(&mut h, &DISCS, 150, 0);
        h.process(&f);
        assert_eq!(blobs(&h).count, 0);
        let ack = h
            .command("blob_detection", "set_params", json!({"threshold": 120}))
            .unwrap();
        assert_eq!(ack.result["threshold"], 120);
        // Nothing recomputed until a frame is processed.
        assert_eq!(blobs(&h).count, 0);
        assert_eq!(blobs(&h).params.threshold, 200);
        let f = discs(&mut h, &DISCS, 150, 0);
        let snap = h.process(&f);
        assert_eq!(blobs(&h).count, 4);
        assert_eq!(
            snap["results"]["blob_detection"]["params"]["threshold"],
            120
        );
        let got = h
            .command("blob_detection", "get_params", json!({}))
            .unwrap();
        assert_eq!(got.result["threshold"], 120);
    }

    #[test]
    fn bad_args_change_nothing() {
        let mut h = harness(json!({}));
        let f = discs(&mut h, &DISCS, 255, 0);
        h.process(&f);
        let before = blobs(&h);
        for bad in [
            json!({"threshold": "x"}),
            json!({"threshold": 300}),
            json!({"nope": 1}),
            json!({"min_area": -1}),
        ] {
            let e = h
                .command("blob_detection", "set_params", bad.clone())
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::BadArgs, "{bad}: {}", e.message);
        }
        let f = discs(&mut h, &DISCS, 255, 0);
        h.process(&f);
        assert_eq!(blobs(&h), before);
        assert_eq!(
            h.command("blob_detection", "get_params", json!({}))
                .unwrap()
                .result["threshold"],
            200
        );
    }

    #[test]
    fn recording_lock_refuses_set_params() {
        let mut h = harness(json!({}));
        h.set_state(RunState::Recording);
        let e = h
            .command("blob_detection", "set_params", json!({"threshold": 10}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Busy);
        let f = discs(&mut h, &DISCS, 255, 0);
        h.process(&f);
        assert_eq!(blobs(&h).params.threshold, 200);
        assert_eq!(blobs(&h).count, 4);
        h.set_state(RunState::Running);
        assert!(
            h.command("blob_detection", "set_params", json!({"threshold": 10}))
                .is_ok()
        );
    }

    #[test]
    fn reads_color_frames_through_the_gray_view() {
        let mut h = harness(json!({}));
        let f = h.frame(W, H, PixelFormat::Rgb8, |d| {
            d.fill(0);
            for y in 100..110 {
                for x in 50..60 {
                    let i = 3 * (y * W as usize + x);
                    d[i..i + 3].fill(255);
                }
            }
        });
        h.process(&f);
        let b = blobs(&h);
        assert_eq!(
            (b.count, b.blobs[0].x, b.blobs[0].y, b.blobs[0].area),
            (1, 54.5, 104.5, 100)
        );
    }
}
