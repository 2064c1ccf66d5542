//! `gates:`: the conditions of the verdict.

#[allow(unused_imports)]
use super::*;

pub(super) fn decode_gates(d: &Decoder, node: &Spanned<Node>, refs: &Refs) -> Vec<Gate> {
    d.list_of(node, "`gates`", |index, item| {
        decode_gate(d, index, item, refs)
    })
    .unwrap_or_default()
}

pub(super) fn decode_gate(
    d: &Decoder,
    index: usize,
    node: &Spanned<Node>,
    refs: &Refs,
) -> Option<Gate> {
    let what = format!("gate {}", index + 1);
    let m = d.map(node, &what, GATE_KEYS)?;
    let name = m.opt_str("name");
    let (kind, limit_node) = m.kind(GATE_KINDS, "gate kind")?;
    let kind = match kind {
        "max_failed_checks" => {
            for key in ["severity", "monitor"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.int_in(limit_node, "`max_failed_checks`", 0..=i64::MAX);
            let probe = m.opt("probe").and_then(|node| refs.probe(d, node, &what));
            GateKind::MaxFailedChecks {
                probe,
                limit: limit?.unsigned_abs(),
            }
        }
        "max_findings" => {
            for key in ["probe", "monitor"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.int_in(limit_node, "`max_findings`", 0..=i64::MAX);
            let severity = m
                .opt_choice("severity", SEVERITIES)
                .unwrap_or(Severity::Medium);
            GateKind::MaxFindings {
                severity,
                limit: limit?.unsigned_abs(),
            }
        }
        "max_unavailability" => {
            for key in ["probe", "severity"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.duration(limit_node, "`max_unavailability`");
            let monitor = m
                .opt("monitor")
                .and_then(|node| refs.monitor(d, node, &what));
            GateKind::MaxUnavailability {
                monitor,
                limit: limit?,
            }
        }
        "p99_latency" => {
            for key in ["probe", "severity"] {
                reject_key(&m, key, "another gate kind");
            }
            let ratio =
                d.positive_number(limit_node, "`p99_latency` (the largest after/before ratio)");
            let monitor = m
                .opt("monitor")
                .and_then(|node| refs.monitor(d, node, &what));
            GateKind::P99Latency {
                monitor,
                max_ratio: ratio?,
            }
        }
        "recovery_point" => {
            for key in ["probe", "severity", "monitor"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.duration(limit_node, "`recovery_point`");
            GateKind::RecoveryPoint { limit: limit? }
        }
        counted => {
            for key in ["probe", "severity"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.int_in(limit_node, &format!("`{counted}`"), 0..=i64::MAX);
            let monitor = m
                .opt("monitor")
                .and_then(|node| refs.monitor(d, node, &what));
            let limit = limit?.unsigned_abs();
            match counted {
                "lost_writes" => GateKind::LostWrites { monitor, limit },
                "split_writes" => GateKind::SplitWrites { monitor, limit },
                _ => GateKind::MaxFailedRequests { monitor, limit },
            }
        }
    };
    Some(Gate {
        name: name.unwrap_or_else(|| derived_gate_name(&kind)),
        kind,
    })
}

/// A key that belongs to the other kind of gate.
/// Reports `key` in `m` as one that belongs with another key.
pub fn reject_key(m: &MapDecoder<'_>, key: &str, belongs_to: &str) {
    if let Some(found) = m.key(key) {
        m.decoder().error_with_help(
            Mark::of_key(found),
            format!("`{key}` does not apply to {}", m.what()),
            format!("`{key}` goes with `{belongs_to}`"),
        );
    }
}

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
