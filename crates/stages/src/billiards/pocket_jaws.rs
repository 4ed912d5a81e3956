//! The pocket jaws in the image, for `ball_detection`: a ball can rest in a pocket's mouth
//! with its centre past the cushion nose (outside the playing area) and still be on the
//! table until it drops. [`JawRegion`] labels each sample of the detection's region of
//! interest — the playing area's bounding box widened by a cushion width — as playing area,
//! jaw (the cushion band within a ball or two of a pocket circle), pocket hole (inside the
//! circle) or neither (rails, the cushion away from the pockets: never a ball). It is made
//! from the table geometry and kept until the geometry changes (no work per frame).
//! [`centre_in_jaws`] tells whether a fitted centre in table metres lies in a pocket's jaws.

use super::geometry::{CUSHION_WIDTH, RadialLens, TABLE_LENGTH, TABLE_WIDTH, ball_radius, pockets};
use super::table_detection::TableGeometry;

/// Not a place for a ball: rails, the cushion away from the pockets.
pub(crate) const NONE: u8 = 0;
/// Inside the playing area's bounding box.
pub(crate) const PLAY: u8 = 1;
/// The cushion band near a pocket: the mouth between the jaws.
pub(crate) const JAW: u8 = 2;
/// Inside a pocket circle: the hole (dark), or a ball hanging over it.
pub(crate) const HOLE: u8 = 3;

/// Pixels of the mouth reach this many ball radii beyond a pocket circle (a ball whose
/// centre is a radius past it, and the ball's own radius).
const REACH_RADII: f64 = 2.5;

/// Whether a point in table metres lies within the cushion outline (the playing area grown
/// by a cushion width on every side).
fn in_cushion_outline(m: [f64; 2]) -> bool {
    (-CUSHION_WIDTH..=TABLE_LENGTH + CUSHION_WIDTH).contains(&m[0])
        && (-CUSHION_WIDTH..=TABLE_WIDTH + CUSHION_WIDTH).contains(&m[1])
}

/// Whether a ball centre at `m` (table metres, outside the playing area) lies in a pocket's
/// jaws: within two radii of a pocket circle and within the cushion outline, or over the
/// hole. A centre that crosses into a circle drops (the physics' rule), but a ball can be
/// seen over the hole: one dropping (a frame or two), or one that stopped on the rim and
/// rolls on inside it (the physics finds a pocket only as a centre enters its circle). The
/// hole itself is never a ball (its dark pixels are masked), so what is seen there is one.
pub(crate) fn centre_in_jaws(m: [f64; 2]) -> bool {
    let radius = ball_radius();
    let outline = in_cushion_outline(m);
    pockets().iter().any(|(c, r)| {
        let d = (m[0] - c[0]).hypot(m[1] - c[1]);
        d < *r || (outline && d < r + 2.0 * radius)
    })
}

/// How far (table metres, along x and along y) the region beyond the playing area reaches:
/// the cushion width, and every pocket's hole (a ball can be seen over it).
pub(crate) fn reach_m() -> [f64; 2] {
    let mut reach = [CUSHION_WIDTH; 2];
    for (c, r) in pockets() {
        reach[0] = reach[0].max((-c[0]).max(c[0] - TABLE_LENGTH) + r);
        reach[1] = reach[1].max((-c[1]).max(c[1] - TABLE_WIDTH) + r);
    }
    reach
}

/// What the region map was made for.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key {
    table: [f64; 9],
    lens: RadialLens,
    bounds: [f64; 4],
    roi: [usize; 5],
}

/// The label of each sample of the region of interest. See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct JawRegion {
    key: Option<Key>,
    labels: Vec<u8>,
}

impl JawRegion {
    /// Makes the labels for the samples `(x0 + step·i, y0 + step·j)`, `i < rw`, `j < rh`,
    /// unless they were made for the same geometry and region. Allocates only when the
    /// region grows past its largest size so far.
    pub(crate) fn update(
        &mut self,
        table: &TableGeometry,
        (x0, y0): (usize, usize),
        (rw, rh): (usize, usize),
        step: usize,
    ) {
        let key = Key {
            table: table.to_table.0,
            lens: table.lens,
            bounds: table.bounds,
            roi: [x0, y0, rw, rh, step],
        };
        if self.key == Some(key) {
            return;
        }
        self.key = Some(key);
        self.labels.clear();
        self.labels.resize(rw * rh, NONE);
        let radius = ball_radius();
        let pk = pockets();
        let [bx0, by0, bx1, by1] = table.bounds;
        for j in 0..rh {
            for i in 0..rw {
                let (px, py) = ((x0 + step * i) as f64, (y0 + step * j) as f64);
                let label = if (bx0..=bx1).contains(&px) && (by0..=by1).contains(&py) {
                    PLAY
                } else {
                    let m = table.to_metres([px, py]);
                    let inside =
                        (0.0..=TABLE_LENGTH).contains(&m[0]) && (0.0..=TABLE_WIDTH).contains(&m[1]);
                    let outline = in_cushion_outline(m);
                    let mut label = NONE;
                    if inside {
                        label = PLAY;
                    } else {
                        for (c, r) in pk {
                            let d = (m[0] - c[0]).hypot(m[1] - c[1]);
                            if d < r {
                                label = HOLE;
                                break;
                            }
                            if outline && d < r + REACH_RADII * radius {
                                label = JAW;
                            }
                        }
                    }
                    label
                };
                self.labels[j * rw + i] = label;
            }
        }
    }

    /// The labels, row by row (`rw` per row).
    pub(crate) fn labels(&self) -> &[u8] {
        &self.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaw_centres_are_past_the_nose_and_outside_the_holes() {
        let r = ball_radius();
        // Resting on a corner pocket's lip past the nose (ball 11 of the scored scene).
        assert!(centre_in_jaws([1.9548, -0.0026]));
        // In a side pocket's mouth, beside the hole.
        assert!(centre_in_jaws([TABLE_LENGTH / 2.0 - 0.06, -0.005]));
        // Over the hole, even past the cushion outline: a ball that stopped on the rim
        // rolling round it (ball 11 at 186.2 s).
        assert!(centre_in_jaws([2.0550, -0.0646]));
        // Past the nose away from any pocket (on the cushion), or on the rail beside a side
        // pocket's hole: not a ball position.
        assert!(!centre_in_jaws([
            TABLE_LENGTH / 2.0 + 0.08,
            -CUSHION_WIDTH - 0.005
        ]));
        assert!(!centre_in_jaws([0.5, -0.5 * r]));
        // Beyond the cushion, on the rail.
        assert!(!centre_in_jaws([1.9548, -CUSHION_WIDTH - 0.01]));
    }
}
