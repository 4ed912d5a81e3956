//! Minimum-cost one-to-one assignment (the Hungarian method, O(n²·m)) with buffers kept
//! between calls, so per-frame matching (ball identities, tracks to detections) allocates
//! nothing once warmed up. Checked against `pathfinding`'s `kuhn_munkres` in the tests.

/// A reusable solver.
#[derive(Debug, Default, Clone)]
pub struct Hungarian {
    u: Vec<f64>,
    v: Vec<f64>,
    p: Vec<usize>,
    way: Vec<usize>,
    minv: Vec<f64>,
    used: Vec<bool>,
}

impl Hungarian {
    /// Assigns each of `n` rows to a distinct one of `m ≥ n` columns minimising the summed
    /// `cost[row * m + col]`; writes the column of each row into `out` (cleared first).
    pub fn solve(&mut self, cost: &[f64], n: usize, m: usize, out: &mut Vec<usize>) {
        assert!(
            n <= m && cost.len() >= n * m,
            "n ≤ m rows and a full matrix"
        );
        out.clear();
        if n == 0 {
            return;
        }
        let inf = f64::INFINITY;
        self.u.clear();
        self.u.resize(n + 1, 0.0);
        self.v.clear();
        self.v.resize(m + 1, 0.0);
        self.p.clear();
        self.p.resize(m + 1, 0);
        self.way.clear();
        self.way.resize(m + 1, 0);
        for i in 1..=n {
            self.p[0] = i;
            let mut j0 = 0;
            self.minv.clear();
            self.minv.resize(m + 1, inf);
            self.used.clear();
            self.used.resize(m + 1, false);
            loop {
                self.used[j0] = true;
                let i0 = self.p[j0];
                let mut delta = inf;
                let mut j1 = 0;
                for j in 1..=m {
                    if !self.used[j] {
                        let cur = cost[(i0 - 1) * m + (j - 1)] - self.u[i0] - self.v[j];
                        if cur < self.minv[j] {
                            self.minv[j] = cur;
                            self.way[j] = j0;
                        }
                        if self.minv[j] < delta {
                            delta = self.minv[j];
                            j1 = j;
                        }
                    }
                }
                for j in 0..=m {
                    if self.used[j] {
                        self.u[self.p[j]] += delta;
                        self.v[j] -= delta;
                    } else {
                        self.minv[j] -= delta;
                    }
                }
                j0 = j1;
                if self.p[j0] == 0 {
                    break;
                }
            }
            loop {
                let j1 = self.way[j0];
                self.p[j0] = self.p[j1];
                j0 = j1;
                if j0 == 0 {
                    break;
                }
            }
        }
        out.resize(n, 0);
        for j in 1..=m {
            if self.p[j] != 0 {
                out[self.p[j] - 1] = j - 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pathfinding::prelude::{Matrix, kuhn_munkres_min};

    use super::*;

    #[test]
    fn matches_pathfinding_on_random_matrices() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1000) as i64
        };
        let mut h = Hungarian::default();
        let mut out = Vec::new();
        for (n, m) in [(1, 1), (3, 3), (5, 8), (16, 16), (7, 20), (12, 12)] {
            for _ in 0..20 {
                let c: Vec<i64> = (0..n * m).map(|_| rnd()).collect();
                let mat = Matrix::from_vec(n, m, c.clone()).unwrap();
                let (best, _) = kuhn_munkres_min(&mat);
                let cf: Vec<f64> = c.iter().map(|&v| v as f64).collect();
                h.solve(&cf, n, m, &mut out);
                let mut cols = out.clone();
                cols.sort_unstable();
                cols.dedup();
                assert_eq!(cols.len(), n, "one column per row");
                let ours: i64 = out.iter().enumerate().map(|(i, &j)| c[i * m + j]).sum();
                assert_eq!(ours, best, "{n}x{m}");
            }
        }
    }
}
