//! `to_voltage`: ADC counts to volts, in place: `v = counts · reference / 2^(bits−1) + offset`
//! (signed counts; `reference` is the full-scale voltage).

use framebus_core::prelude::*;

/// Params of `to_voltage`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ToVoltageParams {
    /// ADC bit depth.
    #[schemars(range(min = 1, max = 32))]
    pub bits: u32,
    /// Full-scale voltage, V.
    pub reference: f64,
    /// Added after scaling, V.
    pub offset: f64,
}

impl Default for ToVoltageParams {
    fn default() -> Self {
        Self {
            bits: 12,
            reference: 3.3,
            offset: 0.0,
        }
    }
}

/// The `to_voltage` stage.
pub struct ToVoltage {
    scale: f32,
    offset: f32,
}

impl Stage for ToVoltage {
    type Params = ToVoltageParams;
    const INFO: StageInfo = StageInfo {
        id: "to_voltage",
        version: "0.1.0",
        description: "ADC counts to volts (bits, reference, offset), in place",
        namespace: None,
        commands: &[],
    };
    const TAKES: PayloadKind = PayloadKind::Samples;

    fn new(p: ToVoltageParams, _init: &StageInit) -> Result<Self> {
        if !(1..=32).contains(&p.bits) {
            return Err(Error::stage("bits must be 1..=32"));
        }
        Ok(Self {
            scale: (p.reference / 2f64.powi(p.bits as i32 - 1)) as f32,
            offset: p.offset as f32,
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let d = ctx.packet_mut().ok_or_else(|| Error::stage("no packet"))?;
        for v in &mut d.data {
            *v = *v * self.scale + self.offset;
        }
        Ok(Flow::Continue)
    }
}

framebus_core::register_stage!(ToVoltage);

/// Keeps the registration linked (see [`crate::link`]).
pub(crate) fn keep() {}
