//! `report.html`: one self-contained page for people — no external assets, no script,
//! readable offline. It answers first (the verdict and why), then what blocks (inhibitors),
//! then the evidence: gates, steps, monitors, package changes, environment. Every string
//! from the report goes through [`escape`].
//!
//! This file lays out the page; each section is rendered by the file named after it
//! under `html/`, the charts by `chart.rs`, and the style sheet is `html/style.css`.

mod chart;
mod environment;
mod escape;
mod findings;
mod gates;
mod header;
mod legend;
mod monitors;
mod packages;
mod probes;
mod restores;
mod steps;
mod words;
mod writes;

use std::io::{self, Write};

use super::Report;

pub use escape::escape;

/// The page's style sheet, inlined: the page loads nothing.
const STYLE: &str = include_str!("html/style.css");

/// Render the report as a self-contained HTML page.
pub fn render_html(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} {} — rehearse</title>\n<style>\n{STYLE}</style>\n</head>\n<body>",
        report.verdict.as_str(),
        escape(&report.scenario)
    )?;
    header::banner(report, out)?;
    header::navigation(report, out)?;
    writeln!(out, "<main>")?;
    findings::section(&report.findings, out)?;
    gates::section(&report.gates, report.interrupted, out)?;
    steps::section(report, out)?;
    restores::section(&report.steps, out)?;
    for (index, monitor) in report.monitors.iter().enumerate() {
        monitors::section(index, monitor, out)?;
    }
    packages::section(&report.steps, out)?;
    environment::section(report, out)?;
    writeln!(out, "</main>\n</body>\n</html>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Finding;

    const FIXTURES: [(&str, &str); 4] = [
        (
            "move-naive",
            include_str!("../../tests/fixtures/reports/move-naive.json"),
        ),
        (
            "lamp-upgrade",
            include_str!("../../tests/fixtures/reports/lamp-upgrade.json"),
        ),
        (
            "smoke-broken",
            include_str!("../../tests/fixtures/reports/smoke-broken.json"),
        ),
        (
            "restore-shop",
            include_str!("../../tests/fixtures/reports/restore-shop.json"),
        ),
    ];

    fn report(name: &str) -> Report {
        let (_, text) = FIXTURES.iter().find(|(n, _)| *n == name).unwrap();
        serde_json::from_str(text).unwrap()
    }

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        render_html(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn move_naive_page() {
        insta::assert_snapshot!(render(&report("move-naive")));
    }

    #[test]
    fn lamp_upgrade_page() {
        insta::assert_snapshot!(render(&report("lamp-upgrade")));
    }

    #[test]
    fn smoke_broken_page() {
        insta::assert_snapshot!(render(&report("smoke-broken")));
    }

    #[test]
    fn restore_shop_page() {
        let page = render(&report("restore-shop"));
        assert!(page.contains("<a href=\"#restores\">Restores</a>"));
        assert!(page.contains("44 (445 → 401)"));
        insta::assert_snapshot!(page);
    }

    #[test]
    fn a_script_in_a_finding_is_shown_not_run() {
        let mut report = report("smoke-broken");
        report.findings.push(Finding {
            key: "x.<b>".into(),
            severity: crate::scenario::Severity::High,
            inhibitor: true,
            host: Some("<img src=x onerror=alert(1)>".into()),
            message: "<script>alert(1)</script>".into(),
            remediation: "\"><script>".into(),
            evidence: vec!["</pre><script>".into()],
        });
        report.steps[0].name = "<script>step</script>".into();
        report.scenario = "<script>scenario</script>".into();
        let page = render(&report);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    /// `src=`/`href=` values with a scheme (`http:`, `data:`...) or protocol-relative,
    /// and the tags and CSS that load something.
    fn external_references(page: &str) -> Vec<String> {
        let lower = page.to_lowercase();
        let mut found = Vec::new();
        for marker in ["src=", "href="] {
            for (at, _) in lower.match_indices(marker) {
                let value = lower[at + marker.len()..]
                    .trim_start_matches(['"', '\''])
                    .split(['"', '\'', ' ', '>'])
                    .next()
                    .unwrap_or_default();
                let scheme = value
                    .split_once(':')
                    .is_some_and(|(s, _)| s.chars().all(|c| c.is_ascii_alphanumeric()));
                if scheme || value.starts_with("//") {
                    found.push(format!("{marker}{value}"));
                }
            }
        }
        for banned in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
            if lower.contains(banned) {
                found.push(banned.to_string());
            }
        }
        found
    }

    #[test]
    fn no_external_assets() {
        for (name, _) in FIXTURES {
            let page = render(&report(name));
            assert_eq!(external_references(&page), Vec::<String>::new(), "{name}");
            // Addresses in the report are text, never links.
            assert!(page.contains("http://deb.debian.org/debian"), "{name}");
        }
        assert_eq!(
            external_references(
                r##"<a href="#gates"></a><svg xmlns="http://www.w3.org/2000/svg"></svg><a HREF='https://x.test/'></a><image href=//cdn.test/a.png>"##
            ),
            ["href=https://x.test/", "href=//cdn.test/a.png"]
        );
    }

    #[test]
    fn the_banner_says_why() {
        let page = render(&report("move-naive"));
        assert!(page.contains("<div class=\"verdict\">NO-GO</div>"));
        assert!(page.contains("Why: gate “lost_writes” failed — 99 of 449"));
        let page = render(&report("lamp-upgrade"));
        assert!(page.contains("<header class=\"banner go\">"));
        assert!(page.contains("All 4 gates hold."));
    }

    #[test]
    fn inhibitors_come_before_other_findings() {
        let mut report = report("lamp-upgrade");
        let mut inhibitor = report.findings[0].clone();
        inhibitor.key = "apache.config-test".into();
        inhibitor.inhibitor = true;
        report.findings.push(inhibitor);
        let page = render(&report);
        let first = page.find("apache.config-test").unwrap();
        let other = page.find("conffiles.pending").unwrap();
        assert!(first < other);
    }
}
