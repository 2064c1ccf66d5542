//! Exit codes: the contract scripts rely on (DESIGN.md). Documented in the README.

/// The rehearsal passed every gate.
pub const GO: i32 = 0;
/// The rehearsal ran and at least one gate failed.
pub const NO_GO: i32 = 1;
/// Invalid input: a scenario, a recipe or a flag.
pub const INVALID_INPUT: i32 = 2;
/// The environment or engine could not carry out the rehearsal.
pub const ENVIRONMENT: i32 = 3;
/// Stopped by SIGINT or SIGTERM; what the run created was cleaned up.
pub const INTERRUPTED: i32 = 130;
