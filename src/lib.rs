//! `rehearse`: rehearse a risky server change on a Docker replica and answer GO or NO-GO.
//!
//! One flow, one direction: a scenario file is parsed and validated into pure data
//! ([`scenario`]); image recipes become cached images ([`images`]); the [`runner`]
//! provisions the replica through the [`engine`] adapter, runs the steps and
//! [`probe`]s, and emits events to the reporters ([`report`]); the [`verdict`] is
//! GO only if every gate holds.
//!
//! The modules are layered: each uses only the ones below it, shared data ([`model`])
//! sits at the bottom, and only [`cli`] writes to the terminal. `tests/layers.rs`
//! holds the order and fails on an edge against it.
#![forbid(unsafe_code)]

pub mod apt_cache;
pub mod capture;
pub mod cli;
pub mod debian;
pub mod drill;
pub mod engine;
pub mod escape;
pub mod exit_code;
pub mod findings;
pub mod gc;
pub mod images;
pub mod import;
pub mod input_file;
pub mod local_files;
pub mod model;
pub mod monitor;
pub mod owner;
pub mod probe;
pub mod redact;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod verdict;
pub mod words;
pub mod yaml;
