//! `report.html` from real reports, rendered by the real CLI (`rehearse report DIR
//! --format html`) and loaded in headless Chromium: the page parses, shows the verdict
//! and paints something. Without a browser the tests are skipped, unless
//! `REHEARSE_REQUIRE_DOCKER=1` (CI) makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{rehearse, root, text};

/// Chromium under one of its Debian/Ubuntu names, found on `PATH`.
fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var("REHEARSE_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!(
                "REHEARSE_REQUIRE_DOCKER=1 but no `chromium` or `chromium-browser` on PATH (apt-get install chromium)"
            );
        }
        eprintln!(
            "skipped: no `chromium` or `chromium-browser` on PATH (set REHEARSE_REQUIRE_DOCKER=1 to make this a failure)"
        );
    }
    found
}

/// Run the browser headless with a profile of its own (tests run in parallel), and
/// kill it if it hangs.
fn headless(browser: &Path, profile: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child
        .try_wait()
        .expect("the browser can be waited for")
        .is_none()
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish within 90 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("the browser's output")
}

/// Render one fixture into a temporary report folder; returns the folder and the page.
fn render(fixture: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/fixtures/reports").join(fixture),
        dir.path().join("report.json"),
    )
    .unwrap();
    let output = rehearse(&["report", dir.path().to_str().unwrap(), "--format", "html"]);
    let page = dir.path().join("report.html");
    assert!(
        output.status.success(),
        "rehearse report failed:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(text(&output.stdout).trim(), page.display().to_string());
    (dir, page)
}

fn check_in_browser(fixture: &str, verdict: &str, scenario: &str, expected: &[&str]) {
    let Some(browser) = browser() else {
        return;
    };
    let (dir, page) = render(fixture);
    let url = format!("file://{}", page.display());

    let dom = headless(
        &browser,
        &dir.path().join("profile-dom"),
        &["--dump-dom", &url],
    );
    let stdout = text(&dom.stdout);
    assert!(
        dom.status.success(),
        "{} --dump-dom exited with {:?}:\n{}",
        browser.display(),
        dom.status,
        text(&dom.stderr)
    );
    assert!(
        stdout.contains(&format!("<div class=\"verdict\">{verdict}</div>")),
        "the DOM shows no verdict {verdict}:\n{stdout}"
    );
    assert!(stdout.contains(scenario), "no scenario name in the DOM");
    for text in expected {
        assert!(stdout.contains(text), "`{text}` is not in the DOM");
    }
    assert!(stdout.contains("<svg"), "the step timeline is missing");

    let png = dir.path().join("report.png");
    let shot = headless(
        &browser,
        &dir.path().join("profile-shot"),
        &[
            "--window-size=1000,1600",
            &format!("--screenshot={}", png.display()),
            &url,
        ],
    );
    assert!(
        shot.status.success(),
        "{} --screenshot exited with {:?}:\n{}",
        browser.display(),
        shot.status,
        text(&shot.stderr)
    );
    let image = std::fs::read(&png).expect("the browser wrote a screenshot");
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1000×1600 page compresses to a few kilobytes; the rendered report (banner,
    // tables, charts) to well over a hundred.
    assert!(
        image.len() > 50_000,
        "the screenshot is only {} bytes: did the page render?",
        image.len()
    );
}

#[test]
fn a_no_go_move_shows_its_lost_writes_and_charts() {
    check_in_browser(
        "move-naive.json",
        "NO-GO",
        "migrate-cutover-naive",
        &[
            "Why: gate “lost_writes” failed",
            "Monitor visitors",
            "Examples of lost writes",
            "rh-orders-79",
            "dns-switch: DNS propagates",
        ],
    );
}

#[test]
fn a_go_upgrade_shows_findings_and_package_changes() {
    check_in_browser(
        "lamp-upgrade.json",
        "GO",
        "lamp-bullseye-to-bookworm",
        &[
            "All 4 gates hold.",
            "packages.config-only",
            "192 upgraded",
            "Debian 11.11 → 12.15",
        ],
    );
}

#[test]
fn a_broken_smoke_run_shows_the_failed_step_and_escaped_evidence() {
    check_in_browser(
        "smoke-broken.json",
        "NO-GO",
        "smoke-broken",
        &[
            "Why: gate “steps passed” failed",
            "FAILED",
            // The probe's body excerpt is HTML: it stays text.
            "&lt;h1&gt;Hello from the rehearse replica&lt;/h1&gt;",
        ],
    );
}

#[test]
fn a_restore_shows_what_was_lost_and_how_long_it_took() {
    check_in_browser(
        "restore-shop.json",
        "GO",
        "restore-shop",
        &[
            "All 4 gates hold.",
            "Restores",
            "44 (445 → 401)",
            "lose-host: the host is lost",
        ],
    );
}

/// What the page measures of itself once laid out at `width` pixels: whether anything
/// sticks out past the window's right edge (content cut off), and the tables that are
/// wider than the page but scroll inside their own box.
fn layout_at(browser: &Path, dir: &Path, page: &Path, width: u32) -> String {
    let html = std::fs::read_to_string(page).unwrap();
    let probe = "<script>addEventListener('load', () => {\
        const cut = [...document.querySelectorAll('body *')].filter(e => {\
            let p = e.parentElement, scrolled = false;\
            while (p) { const s = getComputedStyle(p).overflowX;\
                if (s === 'auto' || s === 'scroll' || s === 'hidden') { scrolled = true; break; }\
                p = p.parentElement; }\
            return !scrolled && e.getBoundingClientRect().right > innerWidth + 1;\
        }).map(e => e.tagName + (e.className ? '.' + e.className : ''));\
        const out = document.createElement('pre');\
        out.id = 'layout';\
        out.textContent = 'page ' + document.documentElement.scrollWidth + '/' + innerWidth\
            + ' cut ' + (cut.length ? cut.slice(0, 5).join(',') : 'none');\
        document.body.append(out);\
    });</script>";
    let measured = dir.join(format!("layout-{width}.html"));
    std::fs::write(
        &measured,
        html.replace("</body>", &format!("{probe}</body>")),
    )
    .unwrap();
    let dom = headless(
        browser,
        &dir.join(format!("profile-layout-{width}")),
        &[
            &format!("--window-size={width},900"),
            "--virtual-time-budget=3000",
            "--dump-dom",
            &format!("file://{}", measured.display()),
        ],
    );
    let stdout = text(&dom.stdout);
    let start = stdout
        .find("<pre id=\"layout\">")
        .expect("the layout probe ran");
    let rest = &stdout[start + "<pre id=\"layout\">".len()..];
    rest[..rest.find("</pre>").unwrap()].to_string()
}

/// At 600 px (a phone held sideways, a narrow window) and at 1280 px, nothing of any
/// report is cut off: wide tables scroll inside their own box, long words wrap. The
/// screenshots at both widths are kept in the report folder while the test runs.
#[test]
fn every_report_fits_a_narrow_and_a_wide_window() {
    let Some(browser) = browser() else {
        return;
    };
    for fixture in [
        "move-naive.json",
        "lamp-upgrade.json",
        "smoke-broken.json",
        "restore-shop.json",
    ] {
        let (dir, page) = render(fixture);
        for width in [600, 1280] {
            let layout = layout_at(&browser, dir.path(), &page, width);
            assert!(
                layout == format!("page {width}/{width} cut none"),
                "{fixture} at {width} px: {layout}"
            );
            let png = dir.path().join(format!("report-{width}.png"));
            let shot = headless(
                &browser,
                &dir.path().join(format!("profile-shot-{width}")),
                &[
                    &format!("--window-size={width},1600"),
                    &format!("--screenshot={}", png.display()),
                    &format!("file://{}", page.display()),
                ],
            );
            assert!(shot.status.success(), "{}", text(&shot.stderr));
            let image = std::fs::read(&png).expect("a screenshot");
            assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
            // The PNG's width, from its IHDR chunk.
            let png_width = u32::from_be_bytes(image[16..20].try_into().unwrap());
            assert_eq!(png_width, width, "{fixture}");
        }
    }
}
