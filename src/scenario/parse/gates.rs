//! `gates:`: the conditions of the verdict.

#[allow(unused_imports)]
use super::*;

pub(super) fn derived_gate_name(kind: &GateKind) -> String {
    match kind {
        GateKind::MaxFailedChecks {
            probe: Some(probe),
            limit,
        } => {
            format!("max {limit} failed checks of {probe}")
        }
        GateKind::MaxFailedChecks { probe: None, limit } => format!("max {limit} failed checks"),
        GateKind::MaxFindings { severity, limit } => {
            format!(
                "max {limit} findings of severity {} or higher",
                severity.as_str()
            )
        }
        // These names are the report's contract: scripts look gates up by them.
        GateKind::MaxUnavailability { .. } => "max_unavailability".into(),
        GateKind::MaxFailedRequests { .. } => "max_failed_requests".into(),
        GateKind::LostWrites { .. } => "lost_writes".into(),
        GateKind::SplitWrites { .. } => "split_writes".into(),
        GateKind::P99Latency { .. } => "p99_latency".into(),
        GateKind::RecoveryPoint { .. } => "recovery_point".into(),
    }
}
