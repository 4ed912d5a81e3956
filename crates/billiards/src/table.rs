//! Table geometry: the playing area, cushion segments (straight rails and the round pocket
//! jaws) and pockets.

use crate::vec3::V3;

/// Which side of a straight cushion line the ball can hit it from (pooltool's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// Ball centre where `lx·x + ly·y + l0 < 0`.
    Negative,
    /// Ball centre where `lx·x + ly·y + l0 > 0`.
    Positive,
    /// Either side.
    Both,
}

/// A straight cushion segment from `p1` to `p2`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinearCushion {
    /// Identifier (pooltool's numbering for its default table: "1" … "18").
    pub id: String,
    /// One end (z is the cushion nose height).
    pub p1: V3,
    /// The other end.
    pub p2: V3,
    /// The side balls come from.
    pub side: Side,
    /// Line `lx·x + ly·y + l0 = 0` (pooltool's general form).
    pub lx: f64,
    /// See `lx`.
    pub ly: f64,
    /// See `lx`.
    pub l0: f64,
}

impl LinearCushion {
    /// A segment; the line coefficients follow pooltool's definition.
    pub fn new(id: &str, p1: V3, p2: V3, side: Side) -> LinearCushion {
        let (lx, ly, l0) = if p2.x - p1.x == 0.0 {
            (1.0, 0.0, -p1.x)
        } else {
            let k = (p2.y - p1.y) / (p2.x - p1.x);
            (-k, 1.0, k * p1.x - p1.y)
        };
        LinearCushion {
            id: id.to_owned(),
            p1,
            p2,
            side,
            lx,
            ly,
            l0,
        }
    }

    /// Unit normal of the line in the xy plane (direction arbitrary, as in pooltool).
    pub fn normal(&self) -> V3 {
        V3::new(self.lx, self.ly, 0.0).unit()
    }
}

/// A round cushion segment (a pocket jaw's rounded tip), a vertical cylinder.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CircularCushion {
    /// Identifier ("1t" … "17t" on the default table).
    pub id: String,
    /// Centre (z is the cushion height).
    pub center: V3,
    /// Radius, m.
    pub radius: f64,
}

/// A pocket: a ball is pocketed when its centre enters the circle.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pocket {
    /// Identifier: "lb", "lc", "lt", "rb", "rc", "rt" (left/right × bottom/centre/top).
    pub id: String,
    /// Centre (z = 0).
    pub center: V3,
    /// Radius, m.
    pub radius: f64,
    /// Depth a pocketed ball drops to, m.
    pub depth: f64,
}

/// A pool table: the playing area `[0, w] × [0, l]`, its cushions and pockets.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    /// Playing-area width (x), m.
    pub w: f64,
    /// Playing-area length (y), m.
    pub l: f64,
    /// Height of the cushion nose above the cloth, m.
    pub cushion_height: f64,
    /// Straight cushion segments.
    pub linear: Vec<LinearCushion>,
    /// Round jaw segments.
    pub circular: Vec<CircularCushion>,
    /// Pockets.
    pub pockets: Vec<Pocket>,
}

impl Default for Table {
    fn default() -> Self {
        Table::seven_foot()
    }
}

impl Table {
    /// The 7-ft table of pooltool 0.6.0 (`SEVEN_FOOT_SHOWOOD`): 0.9906 × 1.9812 m, cushion
    /// height 0.64·2R, corner pockets r = 0.062 m, side pockets r = 0.0645 m. The segment
    /// coordinates are those pooltool's `create_pocket_table` computes from its specs (corner
    /// pocket width 0.118 m at 5.3°, side 0.137 m at 7.14°, jaw radii 0.02095 / 0.00795 m).
    pub fn seven_foot() -> Table {
        const W: f64 = 0.9906;
        const L: f64 = 1.9812;
        const H: f64 = 0.036576;
        // Rail ends and jaw geometry (pooltool's values for this table).
        const C0: f64 = 0.091_001_722_787_781_71; // corner jaw end along a rail
        const S0: f64 = 0.915_083_730_768_75; // side pocket jaw end (bottom half)
        const S1: f64 = 1.066_116_269_231_249_8; // side pocket jaw end (top half)
        const CW: f64 = 0.0508; // cushion width
        let v = |x: f64, y: f64| V3::new(x, y, H);
        use Side::{Negative as N, Positive as P};
        let mut linear = vec![
            LinearCushion::new("3", v(0.0, C0), v(0.0, S0), P),
            LinearCushion::new("6", v(0.0, S1), v(0.0, L - C0), P),
            LinearCushion::new("15", v(W, C0), v(W, S0), N),
            LinearCushion::new("12", v(W, S1), v(W, L - C0), N),
            LinearCushion::new("18", v(C0, 0.0), v(W - C0, 0.0), P),
            LinearCushion::new("9", v(C0, L), v(W - C0, L), N),
        ];
        // Side pocket jaws (straight parts).
        const SJ_Y_OUT: f64 = 1.052_785_853_372_700_4; // at x = -CW
        const SJ_X_IN: f64 = -0.006_961_860_911_672_622;
        const SJ_Y_IN: f64 = 1.058_227_918_253_883_4;
        const SJ_Y_OUT_B: f64 = 0.928_414_146_627_299_5;
        const SJ_Y_IN_B: f64 = 0.922_972_081_746_116_6;
        linear.extend([
            LinearCushion::new("5", v(-CW, SJ_Y_OUT), v(SJ_X_IN, SJ_Y_IN), N),
            LinearCushion::new("4", v(-CW, SJ_Y_OUT_B), v(SJ_X_IN, SJ_Y_IN_B), P),
            LinearCushion::new("13", v(W + CW, SJ_Y_OUT), v(W - SJ_X_IN, SJ_Y_IN), N),
            LinearCushion::new("14", v(W + CW, SJ_Y_OUT_B), v(W - SJ_X_IN, SJ_Y_IN_B), P),
        ]);
        // Corner pocket jaws (straight parts).
        const CJ_A: f64 = 0.022_249_704_426_935_843;
        const CJ_B: f64 = 0.077_619_537_010_829_94;
        const CJ_C: f64 = -0.004_831_079_321_767_549_5;
        linear.extend([
            LinearCushion::new("1", v(CJ_A, -CW), v(CJ_B, CJ_C), P),
            LinearCushion::new("2", v(-CW, CJ_A), v(CJ_C, CJ_B), N),
            LinearCushion::new("8", v(CJ_A, L + CW), v(CJ_B, L - CJ_C), N),
            LinearCushion::new("7", v(-CW, L - CJ_A), v(CJ_C, L - CJ_B), P),
            LinearCushion::new("11", v(W + CW, L - CJ_A), v(W - CJ_C, L - CJ_B), P),
            LinearCushion::new("10", v(W - CJ_A, L + CW), v(W - CJ_B, L - CJ_C), N),
            LinearCushion::new("16", v(W + CW, CJ_A), v(W - CJ_C, CJ_B), N),
            LinearCushion::new("17", v(W - CJ_A, -CW), v(W - CJ_B, CJ_C), P),
        ]);
        const CR: f64 = 0.02095;
        const SR: f64 = 0.00795;
        let c = |id: &str, x: f64, y: f64, radius: f64| CircularCushion {
            id: id.to_owned(),
            center: v(x, y),
            radius,
        };
        let circular = vec![
            c("1t", C0, -CR, CR),
            c("2t", -CR, C0, CR),
            c("4t", -SR, S0, SR),
            c("5t", -SR, S1, SR),
            c("7t", -CR, L - C0, CR),
            c("8t", C0, L + CR, CR),
            c("10t", W - C0, L + CR, CR),
            c("11t", W + CR, L - C0, CR),
            c("13t", W + SR, S1, SR),
            c("14t", W + SR, S0, SR),
            c("16t", W + CR, C0, CR),
            c("17t", W - C0, -CR, CR),
        ];
        const CP: f64 = 0.029_486_352_775_479_032;
        let pk = |id: &str, x: f64, y: f64, radius: f64| Pocket {
            id: id.to_owned(),
            center: V3::new(x, y, 0.0),
            radius,
            depth: 0.08,
        };
        let pockets = vec![
            pk("lb", -CP, -CP, 0.062),
            pk("lc", -0.0685, L / 2.0, 0.0645),
            pk("lt", -CP, L + CP, 0.062),
            pk("rb", W + CP, -CP, 0.062),
            pk("rc", W + 0.0685, L / 2.0, 0.0645),
            pk("rt", W + CP, L + CP, 0.062),
        ];
        Table {
            w: W,
            l: L,
            cushion_height: H,
            linear,
            circular,
            pockets,
        }
    }

    /// Whether a ball centre at `(x, y)` lies on the playing area (within the cushions,
    /// at least one radius from each rail line).
    pub fn contains(&self, x: f64, y: f64, radius: f64) -> bool {
        x >= radius && x <= self.w - radius && y >= radius && y <= self.l - radius
    }
}
