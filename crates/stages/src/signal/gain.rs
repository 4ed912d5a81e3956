//! `gain`: multiplies samples in place by a linear factor or by `10^(dB/20)`.

use framebus_core::prelude::*;

/// Params of `gain`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GainParams {
    /// The gain: a factor, or dB when `db` is true.
    #[schemars(range(min = -1000.0, max = 1000.0))]
    pub gain: f64,
    /// Read `gain` as dB.
    pub db: bool,
}

impl Default for GainParams {
    fn default() -> Self {
        Self {
            gain: 1.0,
            db: false,
        }
    }
}

/// The `gain` stage.
pub struct Gain {
    k: f32,
}

impl Stage for Gain {
    type Params = GainParams;
    const INFO: StageInfo = StageInfo {
        id: "gain",
        version: "0.1.0",
        description: "Multiplies samples by a factor or a gain in dB, in place",
        namespace: None,
        commands: &[],
    };
    const TAKES: PayloadKind = PayloadKind::Samples;

    fn new(p: GainParams, _init: &StageInit) -> Result<Self> {
        let k = if p.db {
            10f64.powf(p.gain / 20.0)
        } else {
            p.gain
        };
        Ok(Self { k: k as f32 })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let d = ctx.packet_mut().ok_or_else(|| Error::stage("no packet"))?;
        for v in &mut d.data {
            *v *= self.k;
        }
        Ok(Flow::Continue)
    }
}

framebus_core::register_stage!(Gain);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
