//! "Did you mean" suggestions for misspelled keys, names and values.

/// The candidate closest to `input`, when it is close enough to be a likely typo.
///
/// Close means a small edit distance (one edit per three characters, at least
/// one), ignoring case, or `input` being a prefix of the candidate.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_lowercase();
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&input, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= limit || (input.len() >= 3 && candidate.starts_with(&input))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Renders `` `a`, `b`, `c` `` for messages listing the valid choices.
pub fn one_of<'a>(candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|candidate| format!("`{candidate}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_candidates_only() {
        let keys = ["image", "init", "aliases", "memory"];
        assert_eq!(closest("imgae", keys), Some("image"));
        assert_eq!(closest("Image", keys), Some("image"));
        assert_eq!(closest("alias", keys), Some("aliases"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(closest("wbe", ["web", "db"]), Some("web"));
    }

    #[test]
    fn lists_choices_in_backticks() {
        assert_eq!(one_of(["http", "tcp"]), "`http`, `tcp`");
    }
}
