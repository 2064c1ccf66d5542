//! Shared data at the bottom of the layers: the report model behind `report.json`,
//! the events a run emits, findings, probe evidence, what monitors measured and the
//! package cache's counters. Plain data; every layer above may use it, it uses none
//! of them.

pub mod event;
pub mod evidence;
pub mod finding;
pub mod image_event;
pub mod monitor;
pub mod report;

pub use event::*;
pub use evidence::*;
pub use finding::*;
pub use image_event::*;
pub use monitor::*;
pub use report::*;
