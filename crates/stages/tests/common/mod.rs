//! Test helpers shared by the billiards stage tests.
#![allow(dead_code)]

use framebus_billiards::TrackedBalls;
use framebus_core::prelude::*;

/// Publishes a fixed [`TrackedBalls`] (its params) as the `ball_tracking` result, standing in
/// for the tracker so the trajectory stage can be tested on exact, known inputs. `set_params`
/// changes the table between frames.
pub(crate) struct TrackedFixture {
    balls: TrackedBalls,
}

/// Params of [`TrackedFixture`]: a `TrackedBalls` as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub(crate) struct FixtureParams(pub(crate) Value);

impl Stage for TrackedFixture {
    type Params = FixtureParams;
    const INFO: StageInfo = StageInfo {
        id: "tracked_fixture",
        version: "0.1.0",
        description: "Publishes fixed tracked balls (tests)",
        namespace: Some("ball_tracking"),
        commands: &[],
    };

    fn new(params: FixtureParams, _init: &StageInit) -> Result<Self> {
        let balls = serde_json::from_value(params.0).map_err(|e| Error::stage(e.to_string()))?;
        Ok(Self { balls })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let out = ctx.output::<TrackedBalls>();
        if *out != self.balls {
            out.balls.clone_from(&self.balls.balls);
            out.cue.clone_from(&self.balls.cue);
        }
        Ok(Flow::Continue)
    }
}
