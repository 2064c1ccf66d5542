//! Knowledge of Debian itself: releases and their order, APT sources. Pure data and
//! text transforms; what runs on a host lives in the runner.

pub mod release;
pub mod sources;
