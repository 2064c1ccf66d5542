//! `rehearse`: rehearse a risky server change on a Docker replica and answer GO or NO-GO.
#![forbid(unsafe_code)]

pub mod images;
pub mod scenario;
pub mod yaml;
