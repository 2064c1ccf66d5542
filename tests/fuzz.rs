//! The scenario parser never panics, whatever it is given: a corpus of hostile inputs
//! kept in `tests/fuzz-corpus/`, then property-based fuzzing (proptest) from random
//! text and from random edits of the shipped scenarios, for a bounded number of cases.
//! A failing case is saved by proptest under `tests/fuzz.proptest-regressions` and
//! replayed first on every later run.

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;

fn parse(source: &str) {
    let _ = rehearse::runner::parse_scenario(Path::new("fuzz.yaml"), source);
    // Every placeholder resolved, to a value that itself looks like one.
    let _ = rehearse::runner::parse_scenario_with_env(
        Path::new("fuzz.yaml"),
        source,
        &|name| Some(format!("${{env:{name}}}")),
        rehearse::scenario::UnsetEnv::Refuse,
    );
}

#[test]
fn the_corpus_parses_without_panic_and_in_bounded_time() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let source = String::from_utf8_lossy(&bytes);
        let started = Instant::now();
        let result = rehearse::runner::parse_scenario(&path, &source);
        let _ = rehearse::runner::parse_scenario_with_env(
            &path,
            &source,
            &|name| (name.len() % 2 == 0).then(|| "x".repeat(name.len())),
            rehearse::scenario::UnsetEnv::Refuse,
        );
        // Hostile input is an error, never a hang (an alias bomb expanding, say).
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
        if let Err(diagnostics) = result {
            // And the error renders.
            assert!(!diagnostics.to_string().is_empty());
        }
        count += 1;
    }
    assert!(count >= 8, "corpus has {count} files");
}

/// The shipped scenarios, as seeds for edits.
fn seeds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seeds: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect();
    seeds.sort();
    seeds
}

/// One edit of a text: cut a range, insert text, or repeat a line.
#[derive(Debug, Clone)]
enum Edit {
    Cut(usize, usize),
    Insert(usize, String),
    RepeatLine(usize),
}

fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| i % (chars.len() + 1);
    match edit {
        Edit::Cut(a, len) => {
            let a = at(*a);
            let b = (a + len).min(chars.len());
            chars[..a].iter().chain(&chars[b..]).collect()
        }
        Edit::Insert(a, s) => {
            let a = at(*a);
            let mut out: String = chars[..a].iter().collect();
            out.push_str(s);
            out.extend(&chars[a..]);
            out
        }
        Edit::RepeatLine(n) => {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return text.to_string();
            }
            let i = n % lines.len();
            let mut out: Vec<&str> = lines[..=i].to_vec();
            out.extend(&lines[i..]);
            out.join("\n")
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, l)| Edit::Cut(a, l)),
        (
            any::<usize>(),
            prop_oneof![
                "[ -~\\n\\t]{0,12}",
                Just(": ".to_string()),
                Just("- ".to_string()),
                Just("{".to_string()),
                Just("&a ".to_string()),
                Just("*a".to_string()),
                Just("!!binary ".to_string()),
                Just("\n  ".to_string()),
                Just("\u{0}".to_string()),
                Just("é".to_string()),
            ]
        )
            .prop_map(|(a, s)| Edit::Insert(a, s)),
        any::<usize>().prop_map(Edit::RepeatLine),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/fuzz.proptest-regressions")
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_text_never_panics(source in "\\PC{0,400}") {
        parse(&source);
    }

    #[test]
    fn edited_scenarios_never_panic(seed in 0usize..64, edits in proptest::collection::vec(edit(), 1..6)) {
        let seeds = seeds();
        let mut text = seeds[seed % seeds.len()].clone();
        for e in &edits {
            text = apply(&text, e);
        }
        parse(&text);
    }
}
