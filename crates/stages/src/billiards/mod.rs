//! Billiards trainer stages (seed 002). The physics they use is the `framebus-billiards`
//! crate.
//!
//! - [`trajectory`]: predicts the aimed shot and answers `simulate` what-if commands.
//! - [`reuse_list`]: a result list that keeps its elements' buffers (no per-frame allocation).

pub mod reuse_list;
pub mod trajectory;
