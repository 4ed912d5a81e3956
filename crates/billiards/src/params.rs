//! Physical parameters, with pooltool 0.6.0's defaults (`POOL_GENERIC` balls, default cue,
//! default resolver with Han 2005 cushions).

/// Every parameter the engine uses. `Params::default()` is pooltool 0.6.0's pool set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Params {
    /// Ball mass, kg (0.170097: a 6 oz pool ball).
    pub m: f64,
    /// Ball radius, m (0.028575: 2 1/4 in diameter).
    pub r: f64,
    /// Ball–cloth sliding friction coefficient (0.2; Alciatore's measured range 0.15–0.4).
    pub u_s: f64,
    /// Ball–cloth rolling resistance coefficient (0.01): a rolling ball decelerates at `u_r·g`.
    pub u_r: f64,
    /// Spinning friction as a fraction of R (`u_sp = u_sp_proportionality · R`; 10·2/5/9 ≈ 0.444).
    pub u_sp_proportionality: f64,
    /// Ball–ball coefficient of restitution (0.95).
    pub e_b: f64,
    /// Ball–cushion coefficient of restitution (0.85; van Balen's measurement, used by Han 2005).
    pub e_c: f64,
    /// Ball–cushion friction coefficient (0.2, Han 2005).
    pub f_c: f64,
    /// Gravitational acceleration, m/s² (9.81).
    pub g: f64,
    /// Ball–ball friction `u_b = a + b·exp(−c·v_rel)` (Alciatore TP A-14): `a` (0.009951).
    pub u_b_a: f64,
    /// Ball–ball friction curve `b` (0.108).
    pub u_b_b: f64,
    /// Ball–ball friction curve `c`, s/m (1.088).
    pub u_b_c: f64,
    /// Cue stick mass, kg (0.567).
    pub cue_mass: f64,
    /// Cue's effective end mass for squirt, kg (ball mass / 30).
    pub cue_end_mass: f64,
    /// Scales the spin a cue strike gives (1.0).
    pub english_throttle: f64,
    /// Scales the squirt angle of an english strike (1.0).
    pub squirt_throttle: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            m: 0.170097,
            r: 0.028575,
            u_s: 0.2,
            u_r: 0.01,
            u_sp_proportionality: 10.0 * 2.0 / 5.0 / 9.0,
            e_b: 0.95,
            e_c: 0.85,
            f_c: 0.2,
            g: 9.81,
            u_b_a: 0.009951,
            u_b_b: 0.108,
            u_b_c: 1.088,
            cue_mass: 0.567,
            cue_end_mass: 0.170097 / 30.0,
            english_throttle: 1.0,
            squirt_throttle: 1.0,
        }
    }
}

impl Params {
    /// Spinning friction coefficient `u_sp` (a length: `u_sp_proportionality · R`).
    pub fn u_sp(&self) -> f64 {
        self.u_sp_proportionality * self.r
    }

    /// Checks the parameters are physically meaningful; names the first one that is not.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("m", self.m),
            ("r", self.r),
            ("u_s", self.u_s),
            ("u_r", self.u_r),
            ("u_sp_proportionality", self.u_sp_proportionality),
            ("g", self.g),
            ("cue_mass", self.cue_mass),
            ("cue_end_mass", self.cue_end_mass),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "parameter {name} must be a positive number, got {v}"
                ));
            }
        }
        let unit = [("e_b", self.e_b), ("e_c", self.e_c), ("f_c", self.f_c)];
        for (name, v) in unit {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(format!("parameter {name} must be within 0..=1, got {v}"));
            }
        }
        for (name, v) in [
            ("u_b_a", self.u_b_a),
            ("u_b_b", self.u_b_b),
            ("u_b_c", self.u_b_c),
            ("english_throttle", self.english_throttle),
            ("squirt_throttle", self.squirt_throttle),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!(
                    "parameter {name} must be a non-negative number, got {v}"
                ));
            }
        }
        Ok(())
    }
}
