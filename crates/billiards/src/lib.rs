//! Event-based pool physics for framebus: balls slide, roll and spin with analytic motion
//! between events (Leckie & Greenspan 2006, Alciatore), and every event — a state transition,
//! a ball–ball collision (frictional, inelastic), a ball–cushion collision (Han 2005) or a
//! ball dropping into a pocket — is found by solving for its exact time. The models,
//! parameters and table match pooltool 0.6.0 so results can be held against it.
//!
//! It is its own crate rather than a module of `framebus-stages` because two crates use it:
//! the synthetic table camera in `framebus-media` moves its balls with it, and the
//! `trajectory` stage in `framebus-stages` predicts shots with it. `framebus-stages`
//! dev-depends on `framebus-media`, so putting the physics in stages would make media depend
//! on stages and link the stage crate twice into stage tests (duplicating its `inventory`
//! registrations). This crate is pure maths with no framebus dependencies.
//!
//! Layout: [`vec3`] (vectors), [`params`] (parameters with pooltool's defaults), [`motion`]
//! (equations of motion and transition times), [`table`] (the 7-ft table), `roots` (event
//! time solver), `detect` (collision times), [`resolve`] (collision models), [`sim`] (event
//! loop and results), [`shots`] (reference shots for benchmarks), [`tracked`] (the tracker's result type shared with the vision stages), [`lens`] (radial lens
//! distortion, shared by the synthetic camera and the vision stages).
//!
//! ```
//! use framebus_billiards::{Ball, Cue, Params, Table, simulate};
//! let p = Params::default();
//! let balls = [Ball::at_rest("cue", 0.4953, 0.5, &p), Ball::at_rest("1", 0.4953, 1.5, &p)];
//! let cue = Cue { ball: 0, v0: 2.0, phi: 90.0, theta: 0.0, a: 0.0, b: 0.0 };
//! let sim = simulate(&balls, Some(&cue), &Table::default(), &p);
//! assert!(sim.events.iter().any(|e| e.kind == framebus_billiards::EventKind::BallBall));
//! ```

mod detect;
pub mod lens;
pub mod motion;
pub mod params;
pub mod resolve;
mod roots;
pub mod shots;
pub mod sim;
pub mod table;
pub mod tracked;
pub mod vec3;

pub use lens::RadialLens;
pub use motion::{BallState, MotionState};
pub use params::Params;
pub use resolve::Cue;
pub use sim::{Agent, Ball, Event, EventKind, Simulation, Simulator, simulate, validate_layout};
pub use table::Table;
pub use tracked::{CueLine, TrackedBall, TrackedBalls};
pub use vec3::V3;
