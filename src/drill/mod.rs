//! Training drills: a scenario whose steps break a replica on purpose, a trainee who
//! repairs it, and checks that say when the repair holds.
//!
//! `rehearse drill FILE` runs the steps with the replica kept and saves a
//! [`DrillState`]; `rehearse drill status` runs the drill's checks against the live
//! replica ([`attempt`]) and turns the outcome into a report ([`report`]).

mod state;
mod status;

pub use state::{DrillHost, DrillState, Solved, StateError, default_state_path};
pub use status::{Attempt, CheckResult, DataResult, attempt, data_detail, report};

pub use crate::probe::count;
