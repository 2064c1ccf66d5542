//! The page's inline SVG charts: the steps on a time axis, and each monitor's latency
//! and failures per second with the run's moments (cutover, DNS switch...) as bands.
//! Fixed sizes with a `viewBox`, so they scale down on a narrow window.

use std::io::{self, Write};

use super::escape::{escape, truncate};
use super::words::seconds;
use crate::monitor::{MarkReport, MonitorReport, TimelineBucket};
use crate::report::{StepReport, StepStatus};

const WIDTH: f64 = 900.0;

/// The colour of a step's bar; a failure the scenario allows is amber, not red.
pub fn step_colour(status: StepStatus, allow_failure: bool) -> &'static str {
    match status {
        StepStatus::Passed => "#2da44e",
        StepStatus::Failed if allow_failure => "#d4a72c",
        StepStatus::Failed => "#cf222e",
        StepStatus::Skipped => "#afb8c1",
    }
}

/// The colour of a marked moment, by step kind.
pub fn mark_colour(kind: &str) -> &'static str {
    match kind {
        "migrate" => "#8250df",
        "cutover" => "#bf8700",
        "dns-switch" => "#0969da",
        "reboot" => "#57606a",
        "upgrade" => "#1a7f37",
        "lose-host" => "#a40e26",
        "restore" => "#0550ae",
        _ => "#6e7781",
    }
}

/// One horizontal bar per step, as long as the step took, where it started (reports
/// without start times: one after the other).
pub fn step_timeline(steps: &[StepReport], out: &mut impl Write) -> io::Result<()> {
    let mut next = 0;
    let starts: Vec<u64> = steps
        .iter()
        .map(|s| {
            let start = s.started_ms.unwrap_or(next);
            next = start + s.duration_ms;
            start
        })
        .collect();
    let total_ms = steps
        .iter()
        .zip(&starts)
        .map(|(s, start)| start + s.duration_ms)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (label_width, right, top, row) = (290.0, 64.0, 6.0, 22.0);
    let plot = WIDTH - label_width - right;
    let rows_bottom = top + row * steps.len() as f64;
    let height = rows_bottom + 24.0;
    writeln!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="steps on a time axis">"#
    )?;
    let x = |ms: f64| label_width + ms / total_ms * plot;
    let total_s = total_ms / 1000.0;
    let tick = nice_step(total_s, 8);
    let mut t = 0.0;
    while t <= total_s + tick * 1e-9 {
        let tx = x(t * 1000.0);
        writeln!(
            out,
            r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{rows_bottom}" stroke="#eaeef2"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text>"##,
            rows_bottom + 16.0,
            tick_label(t, tick)
        )?;
        t += tick;
    }
    for (i, (step, start)) in steps.iter().zip(&starts).enumerate() {
        let y = top + row * i as f64;
        let duration = step.duration_ms as f64;
        let bar_x = x(*start as f64);
        let bar_width = (duration / total_ms * plot).max(2.0);
        writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text>"#,
            label_width - 8.0,
            y + 15.0,
            escape(&truncate(&step.name, 40))
        )?;
        writeln!(
            out,
            r#"<rect x="{bar_x:.1}" y="{:.1}" width="{bar_width:.1}" height="{:.1}" rx="2" fill="{}"><title>{} ({}, {}): {}</title></rect>"#,
            y + 3.0,
            row - 6.0,
            step_colour(step.status, step.allow_failure),
            escape(&step.name),
            escape(&step.kind),
            step.status.as_str(),
            seconds(step.duration_ms)
        )?;
        writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="axis">{}</text>"#,
            bar_x + bar_width + 4.0,
            y + 15.0,
            seconds(step.duration_ms)
        )?;
    }
    writeln!(out, "</svg>")
}

/// Latency per second (median and highest, log scale, left axis) over failed requests
/// per second (bars, right axis), with the marks as labelled bands.
pub fn monitor_chart(monitor: &MonitorReport, out: &mut impl Write) -> io::Result<()> {
    let (left, right, top, bottom, height) = (58.0, 52.0, 8.0, 24.0, 220.0);
    let plot_width = WIDTH - left - right;
    let plot_height = height - top - bottom;
    let plot_bottom = top + plot_height;
    let marks_end = monitor.marks.iter().map(|m| m.end_ms).max().unwrap_or(0);
    let span_s = (monitor.timeline.len() as f64)
        .max(monitor.duration_ms as f64 / 1000.0)
        .max(marks_end as f64 / 1000.0)
        .max(1.0);
    let x = |s: f64| left + s / span_s * plot_width;
    writeln!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="monitor {}: latency and failed requests per second">"#,
        escape(&monitor.name)
    )?;

    // The marked moments first, so the data is drawn over them.
    for (i, mark) in monitor.marks.iter().enumerate() {
        mark_band(mark, i, (x, top, plot_height), out)?;
    }

    // Time axis.
    let tick = nice_step(span_s, 10);
    let mut t = 0.0;
    while t <= span_s + tick * 1e-9 {
        writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text>"#,
            x(t),
            plot_bottom + 16.0,
            tick_label(t, tick)
        )?;
        t += tick;
    }

    // Failed requests per second: bars against the right axis.
    let most_failed = monitor.timeline.iter().map(|b| b.failed).max().unwrap_or(0);
    if most_failed > 0 {
        let bar_width = (plot_width / span_s - 1.0).max(1.0);
        for bucket in monitor.timeline.iter().filter(|b| b.failed > 0) {
            let bar_height = bucket.failed as f64 / most_failed as f64 * plot_height;
            writeln!(
                out,
                r##"<rect x="{:.1}" y="{:.1}" width="{bar_width:.1}" height="{bar_height:.1}" fill="#cf222e" fill-opacity="0.55"><title>{} s: {} failed, {} ok</title></rect>"##,
                x(bucket.second as f64) + 0.5,
                plot_bottom - bar_height,
                bucket.second,
                bucket.failed,
                bucket.ok
            )?;
        }
        for (value, y) in [(most_failed, top), (0, plot_bottom)] {
            writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" class="axis" fill="#cf222e">{value}</text>"##,
                left + plot_width + 6.0,
                y + 4.0
            )?;
        }
        writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" class="axis" fill="#cf222e">failed/s</text>"##,
            left + plot_width + 6.0,
            top + plot_height / 2.0
        )?;
    }

    // Latency: a log scale from the decade below the fastest second to the decade
    // above the slowest, so a 3 ms median and a 120 ms peak both read.
    let values = || {
        monitor
            .timeline
            .iter()
            .flat_map(|b| [b.p50_ms, b.max_ms])
            .flatten()
            .filter(|v| *v > 0.0)
    };
    if let (Some(fastest), Some(slowest)) = (values().reduce(f64::min), values().reduce(f64::max)) {
        let low = 10f64.powf(fastest.log10().floor()).max(0.01);
        let high = 10f64.powf(slowest.log10().ceil()).max(low * 10.0);
        let (log_low, log_high) = (low.log10(), high.log10());
        let y = |v: f64| {
            plot_bottom - (v.max(low).log10() - log_low) / (log_high - log_low) * plot_height
        };
        let decades = (log_high - log_low).round() as i32;
        let multipliers: &[f64] = if decades <= 2 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut decade = low;
        while decade <= high * 1.0001 {
            for m in multipliers {
                let v = decade * m;
                if v > high * 1.0001 {
                    break;
                }
                let gy = y(v);
                writeln!(
                    out,
                    r##"<line x1="{left}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#d0d7de" stroke-dasharray="{}"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="axis">{}</text>"##,
                    left + plot_width,
                    if *m == 1.0 { "none" } else { "2 3" },
                    left - 6.0,
                    gy + 4.0,
                    latency_tick(v)
                )?;
            }
            decade *= 10.0;
        }
        for (field, colour, width, name) in [
            (
                (|b: &TimelineBucket| b.max_ms) as fn(&TimelineBucket) -> Option<f64>,
                "#fb8500",
                1.2,
                "highest",
            ),
            (|b: &TimelineBucket| b.p50_ms, "#0969da", 2.0, "median"),
        ] {
            for segment in segments(&monitor.timeline, field) {
                let points: Vec<String> = segment
                    .iter()
                    .map(|(second, v)| format!("{:.1},{:.1}", x(*second as f64 + 0.5), y(*v)))
                    .collect();
                if points.len() == 1 {
                    let (second, v) = segment[0];
                    writeln!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{colour}"><title>{name} latency</title></circle>"#,
                        x(second as f64 + 0.5),
                        y(v)
                    )?;
                } else {
                    writeln!(
                        out,
                        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"><title>{name} latency per second</title></polyline>"#,
                        points.join(" ")
                    )?;
                }
            }
        }
    } else {
        writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis" fill="#cf222e">{}</text>"##,
            left + plot_width / 2.0,
            top + plot_height / 2.0,
            if monitor.timeline.iter().any(|b| b.ok > 0) {
                "this report has no latency per second"
            } else {
                "no successful request: no latency to show"
            }
        )?;
    }
    writeln!(
        out,
        r##"<text x="4" y="{:.1}" class="axis">ms</text><rect x="{left}" y="{top}" width="{plot_width:.1}" height="{plot_height:.1}" fill="none" stroke="#8c959f"/>"##,
        top + 10.0
    )?;
    writeln!(out, "</svg>")
}

/// A marked moment: a translucent band from its start to its end (at least 2 px) and
/// its label, staggered over three lines so close moments stay readable.
fn mark_band(
    mark: &MarkReport,
    index: usize,
    (x, top, plot_height): (impl Fn(f64) -> f64, f64, f64),
    out: &mut impl Write,
) -> io::Result<()> {
    let colour = mark_colour(&mark.kind);
    let start = x(mark.start_ms as f64 / 1000.0);
    let width = (x(mark.end_ms as f64 / 1000.0) - start).max(2.0);
    writeln!(
        out,
        r#"<rect x="{start:.1}" y="{top}" width="{width:.1}" height="{plot_height:.1}" fill="{colour}" fill-opacity="0.15"><title>{} ({}): {} to {}</title></rect><line x1="{start:.1}" y1="{top}" x2="{start:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.5"/>"#,
        escape(&mark.label),
        escape(&mark.kind),
        seconds(mark.start_ms),
        seconds(mark.end_ms),
        top + plot_height
    )?;
    writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="mark" fill="{colour}">{}</text>"#,
        start + 3.0,
        top + 12.0 + 13.0 * (index % 3) as f64,
        escape(&truncate(&format!("{}: {}", mark.kind, mark.label), 36))
    )
}

/// Runs of consecutive seconds that have a value: a line is broken where none does.
fn segments(
    timeline: &[TimelineBucket],
    field: fn(&TimelineBucket) -> Option<f64>,
) -> Vec<Vec<(u64, f64)>> {
    let mut runs: Vec<Vec<(u64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for bucket in timeline {
        match field(bucket) {
            Some(v) if v > 0.0 => current.push((bucket.second, v)),
            _ => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// A round step (1, 2 or 5 times a power of ten) giving about `target` ticks over `span`.
fn nice_step(span: f64, target: usize) -> f64 {
    if span <= 0.0 {
        return 1.0;
    }
    let raw = span / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let nice = match raw / magnitude {
        n if n <= 1.0 => 1.0,
        n if n <= 2.0 => 2.0,
        n if n <= 5.0 => 5.0,
        _ => 10.0,
    };
    nice * magnitude
}

fn tick_label(t: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{t:.0} s")
    } else {
        format!("{t:.1} s")
    }
}

fn latency_tick(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_round() {
        assert_eq!(nice_step(22.4, 10), 5.0);
        assert_eq!(nice_step(5.5, 8), 1.0);
        assert_eq!(nice_step(131.0, 8), 20.0);
        assert_eq!(nice_step(0.0, 8), 1.0);
    }

    #[test]
    fn a_line_breaks_where_a_second_has_no_latency() {
        let bucket = |second, p50_ms| TimelineBucket {
            second,
            ok: 1,
            failed: 0,
            p50_ms,
            max_ms: p50_ms,
        };
        let timeline = [
            bucket(0, Some(1.0)),
            bucket(1, Some(2.0)),
            bucket(2, None),
            bucket(3, Some(3.0)),
        ];
        let runs = segments(&timeline, |b| b.p50_ms);
        assert_eq!(runs, [vec![(0, 1.0), (1, 2.0)], vec![(3, 3.0)]]);
    }
}
