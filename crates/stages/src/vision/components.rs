//! Connected components of a thresholded gray image (8-connectivity), run-based, with every
//! buffer reused across frames. Used by `blob_detection`.

/// A horizontal run of foreground pixels, `x0..=x1` on row `y`.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    y: u32,
    x0: u32,
    x1: u32,
}

/// Sums of one connected component.
#[derive(Debug, Clone, Copy)]
pub(super) struct Component {
    /// Pixels.
    pub(super) area: u32,
    /// Sum of the pixels' column indices.
    pub(super) sum_x: u64,
    /// Sum of the pixels' row indices.
    pub(super) sum_y: u64,
    /// Leftmost column.
    pub(super) x0: u32,
    /// Top row.
    pub(super) y0: u32,
    /// Rightmost column.
    pub(super) x1: u32,
    /// Bottom row.
    pub(super) y1: u32,
}

impl Component {
    fn new(r: &Run) -> Self {
        let mut a = Self {
            area: 0,
            sum_x: 0,
            sum_y: 0,
            x0: r.x0,
            y0: r.y,
            x1: r.x1,
            y1: r.y,
        };
        a.add(r);
        a
    }

    fn add(&mut self, r: &Run) {
        let n = r.x1 - r.x0 + 1;
        self.area += n;
        // Sum of x0..=x1; (x0 + x1) * n is always even.
        self.sum_x += u64::from(r.x0 + r.x1) * u64::from(n) / 2;
        self.sum_y += u64::from(r.y) * u64::from(n);
        self.x0 = self.x0.min(r.x0);
        self.x1 = self.x1.max(r.x1);
        self.y0 = self.y0.min(r.y);
        self.y1 = self.y1.max(r.y);
    }
}

/// Run-based connected-component labelling with buffers reused across frames.
#[derive(Debug, Default)]
pub(super) struct Labeler {
    runs: Vec<Run>,
    parent: Vec<u32>,
    label: Vec<u32>,
    /// The components of the last labelled image, in order of their first pixel.
    pub(super) comps: Vec<Component>,
    reserved_for: (usize, usize),
}

impl Labeler {
    /// Reserves the worst case for a `w × h` image (a checkerboard: one run per two pixels).
    /// Untouched capacity costs address space, not memory.
    fn reserve(&mut self, w: usize, h: usize) {
        if self.reserved_for.0 >= w && self.reserved_for.1 >= h {
            return;
        }
        let worst = w.div_ceil(2) * h;
        self.runs.reserve(worst);
        self.parent.reserve(worst);
        self.label.reserve(worst);
        self.comps.reserve(worst);
        self.reserved_for = (w, h);
    }

    fn find(parent: &mut [u32], mut i: u32) -> u32 {
        while parent[i as usize] != i {
            let gp = parent[parent[i as usize] as usize];
            parent[i as usize] = gp;
            i = gp;
        }
        i
    }

    /// Joins the sets of runs `a` and `b`; the root is always the smallest run index.
    fn union(parent: &mut [u32], a: u32, b: u32) {
        let ra = Self::find(parent, a);
        let rb = Self::find(parent, b);
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[hi as usize] = lo;
        }
    }

    /// Labels `data` (`w × h`, packed); fills `comps` with one entry per component.
    pub(super) fn label(&mut self, data: &[u8], w: usize, h: usize, threshold: u8, invert: bool) {
        self.reserve(w, h);
        self.runs.clear();
        self.parent.clear();
        self.label.clear();
        self.comps.clear();
        if w == 0 || h == 0 {
            return;
        }
        let mut lut = [false; 256];
        for (v, fg) in lut.iter_mut().enumerate() {
            *fg = if invert {
                v <= usize::from(threshold)
            } else {
                v >= usize::from(threshold)
            };
        }

        let mut prev = 0..0;
        for (y, row) in data.chunks_exact(w).take(h).enumerate() {
            let start = self.runs.len();
            let mut x = 0;
            while x < w {
                if lut[usize::from(row[x])] {
                    let x0 = x;
                    while x < w && lut[usize::from(row[x])] {
                        x += 1;
                    }
                    let i = self.runs.len() as u32;
                    self.runs.push(Run {
                        y: y as u32,
                        x0: x0 as u32,
                        x1: (x - 1) as u32,
                    });
                    self.parent.push(i);
                } else {
                    x += 1;
                }
            }
            // Join with the runs of the row above that touch (8-connectivity: a gap of
            // zero columns, diagonal included).
            let mut j = prev.start;
            for i in start..self.runs.len() {
                let cur = self.runs[i];
                while j < prev.end && self.runs[j].x1 + 1 < cur.x0 {
                    j += 1;
                }
                let mut k = j;
                while k < prev.end && self.runs[k].x0 <= cur.x1 + 1 {
                    Self::union(&mut self.parent, k as u32, i as u32);
                    k += 1;
                }
            }
            prev = start..self.runs.len();
        }

        // Roots are the smallest index of their set, so one forward pass resolves every run
        // and meets each root before its members.
        for i in 0..self.runs.len() {
            let root = Self::find(&mut self.parent, i as u32) as usize;
            if root == i {
                self.label.push(self.comps.len() as u32);
                self.comps.push(Component::new(&self.runs[i]));
            } else {
                let l = self.label[root];
                self.label.push(l);
                self.comps[l as usize].add(&self.runs[i]);
            }
        }
    }
}
