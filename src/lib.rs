//! `rehearse`: rehearse a risky server change on a Docker replica and answer GO or NO-GO.
#![forbid(unsafe_code)]

pub mod scenario;
pub mod engine;
pub mod images;
pub mod probe;
pub mod yaml;
pub mod finding;
pub mod report;
pub mod runner;
pub mod verdict;
pub mod gc;
pub mod owner;
pub mod cli;
pub mod exit_code;
