//! Per-value temporal filters: exponential moving average and the One-Euro filter
//! (Casiez et al., 2012), one state per scalar channel, in reused storage.

/// Which filter, with its settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoother {
    /// Values pass through.
    None,
    /// `s = alpha·x + (1 − alpha)·s_prev` (`alpha` is the weight of the new value).
    Ema {
        /// Weight of the new value, 0..1.
        alpha: f64,
    },
    /// One-Euro: a low-pass whose cutoff rises with speed:
    /// `cutoff = min_cutoff + beta·|dx/dt|` (Hz), the derivative low-passed at `d_cutoff`.
    OneEuro {
        /// Cutoff at rest, Hz.
        min_cutoff: f64,
        /// Cutoff increase per unit of speed (units per second).
        beta: f64,
        /// Cutoff for the derivative, Hz.
        d_cutoff: f64,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct Channel {
    x: f64,
    dx: f64,
}

/// A bank of filters, one per channel, sharing one time base.
#[derive(Debug, Clone)]
pub struct FilterBank {
    kind: Smoother,
    channels: Vec<Channel>,
    last_t: Option<f64>,
    dt: f64,
    started: bool,
}

impl FilterBank {
    /// `n` channels of `kind`.
    pub fn new(kind: Smoother, n: usize) -> Self {
        Self {
            kind,
            channels: vec![Channel::default(); n],
            last_t: None,
            dt: 0.0,
            started: false,
        }
    }

    /// Starts a frame at time `t` seconds; call before [`FilterBank::apply`] for its values.
    pub fn begin(&mut self, t: f64) {
        self.started = self.last_t.is_some();
        self.dt = self.last_t.map_or(0.0, |l| t - l);
        if self.dt <= 0.0 {
            // Same or earlier time: treat as a fresh start of the filter.
            self.started = false;
        }
        self.last_t = Some(t);
    }

    /// Forgets the history (the next frame passes through).
    pub fn reset(&mut self) {
        self.last_t = None;
        self.started = false;
    }

    /// The filtered value of channel `i` for this frame's `x`.
    pub fn apply(&mut self, i: usize, x: f64) -> f64 {
        let c = &mut self.channels[i];
        if !self.started {
            *c = Channel { x, dx: 0.0 };
            return x;
        }
        match self.kind {
            Smoother::None => x,
            Smoother::Ema { alpha } => {
                c.x = alpha * x + (1.0 - alpha) * c.x;
                c.x
            }
            Smoother::OneEuro {
                min_cutoff,
                beta,
                d_cutoff,
            } => {
                let dt = self.dt;
                let dx = (x - c.x) / dt;
                let ad = smoothing_factor(d_cutoff, dt);
                c.dx = ad * dx + (1.0 - ad) * c.dx;
                let cutoff = min_cutoff + beta * c.dx.abs();
                let a = smoothing_factor(cutoff, dt);
                c.x = a * x + (1.0 - a) * c.x;
                c.x
            }
        }
    }
}

/// The One-Euro low-pass weight for `cutoff` Hz over `dt` seconds: `1 / (1 + τ/dt)`,
/// `τ = 1 / (2π·cutoff)`.
pub fn smoothing_factor(cutoff: f64, dt: f64) -> f64 {
    let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff);
    1.0 / (1.0 + tau / dt)
}
