//! Body pose on real models: MediaPipe BlazePose converted to ONNX, run with ONNX Runtime.
//!
//! - [`blazepose`]: the `pose` stage (detector → rotated crop → 33 keypoints, tracked,
//!   smoothed, 3D joint angles).
//! - [`hands`]: the `hands` stage (palm detector → rotated crop → 21 keypoints per hand, up
//!   to two hands, tracked, seeded from the pose's wrists).
//! - Helpers, one concern each: [`runtime`] (finding `libonnxruntime.so` and the models,
//!   running a model with reused buffers), [`anchors`] (SSD anchors), [`detect`] (decoding
//!   and weighted non-max suppression), [`heatmap`] (landmark refinement from the heatmaps), [`warp`] (affine crops with bilinear sampling),
//!   [`roi`] (the rotated region), [`smoothing`] (EMA, One-Euro), [`angles`] (3D joint angles).

pub mod anchors;
pub mod angles;
pub mod blazepose;
pub mod detect;
pub mod hands;
pub mod heatmap;
pub mod roi;
pub mod runtime;
pub mod smoothing;
pub mod warp;
