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

/// The exit code of several rehearsals run together (`rehearse run A B C`).
///
/// The most serious code wins, in this order:
/// 1. `3` (environment or engine error) — some rehearsal gave no answer at all, and a
///    script must not read the others' verdicts as the whole answer;
/// 2. `2` (invalid input found while running, e.g. a recipe) — likewise no answer;
/// 3. `130` (interrupted) — the answer is incomplete because someone stopped it;
/// 4. `1` (NO-GO) — every rehearsal answered and at least one said NO-GO;
/// 5. `0` (GO) — every rehearsal answered GO.
///
/// A code outside the contract counts as an environment error. No codes at all is GO.
pub fn combine(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes
        .into_iter()
        .map(|code| if rank(code) == 4 { ENVIRONMENT } else { code })
        .max_by_key(|&code| rank(code))
        .unwrap_or(GO)
}

fn rank(code: i32) -> u8 {
    match code {
        GO => 0,
        NO_GO => 1,
        INTERRUPTED => 2,
        INVALID_INPUT => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_go_is_go_and_nothing_is_go() {
        assert_eq!(combine([GO, GO, GO]), GO);
        assert_eq!(combine([]), GO);
    }

    #[test]
    fn one_no_go_makes_the_matrix_no_go() {
        assert_eq!(combine([GO, NO_GO, GO]), NO_GO);
    }

    #[test]
    fn interrupted_outranks_no_go() {
        assert_eq!(combine([NO_GO, INTERRUPTED, GO]), INTERRUPTED);
    }

    #[test]
    fn errors_outrank_results_and_environment_comes_first() {
        assert_eq!(combine([NO_GO, INVALID_INPUT, INTERRUPTED]), INVALID_INPUT);
        assert_eq!(
            combine([INTERRUPTED, ENVIRONMENT, INVALID_INPUT, NO_GO]),
            ENVIRONMENT
        );
        assert_eq!(combine([ENVIRONMENT, GO]), ENVIRONMENT);
    }

    #[test]
    fn an_unknown_code_counts_as_an_environment_error() {
        assert_eq!(combine([GO, 101]), ENVIRONMENT);
        assert_eq!(combine([101, INTERRUPTED]), ENVIRONMENT);
    }
}
