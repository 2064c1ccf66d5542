//! Progress of image preparation, as events for the reporters.

use std::time::Duration;

/// Progress of image preparation, for the reporters.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageEvent {
    CacheHit {
        what: String,
        reference: String,
    },
    Building {
        what: String,
        reference: String,
    },
    Output {
        what: String,
        line: String,
    },
    Built {
        what: String,
        reference: String,
        duration: Duration,
    },
}
