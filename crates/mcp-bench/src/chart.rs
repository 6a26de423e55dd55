//! The chart of `BENCHMARKS.md`: bars per server, one panel per transport and concurrency
//! (each with its own scale), one row of panels per metric (round trips per second, server
//! CPU per round trip), written as plain SVG: text is SVG `<text>`, so making it needs no fonts.

use crate::report::{groups, Row};
use std::fmt::Write;

const PANEL_W: f64 = 240.0;
const PANEL_H: f64 = 220.0;
/// Above the first row: the legend.
const LEGEND: f64 = 30.0;
/// Above each row: its title.
const ROW_TITLE: f64 = 30.0;
/// Below each row: the panels' names.
const ROW_FOOT: f64 = 30.0;
const COLORS: [&str; 6] = [
    "#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
];

/// One row of the chart.
struct Metric {
    title: &'static str,
    value: fn(&Row) -> f64,
    decimals: usize,
}

const METRICS: [Metric; 2] = [
    Metric {
        title: "Sampling round trips per second (higher is better)",
        value: |r| r.round_trips_per_sec,
        decimals: 0,
    },
    Metric {
        title: "Server CPU µs per round trip (lower is better)",
        value: |r| r.cpu_us,
        decimals: 1,
    },
];

/// Escapes text for SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart for these rows.
pub fn svg(rows: &[Row]) -> String {
    let panels = groups(rows);
    let mut servers: Vec<&str> = Vec::new();
    for r in rows {
        if !servers.contains(&r.server.as_str()) {
            servers.push(&r.server);
        }
    }
    let row_h = ROW_TITLE + PANEL_H + ROW_FOOT;
    let width = PANEL_W * panels.len().max(1) as f64 + 20.0;
    let height = LEGEND + row_h * METRICS.len() as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, s) in servers.iter().enumerate() {
        let x = 10.0 + i as f64 * 90.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="10" width="10" height="10" fill="{}"/><text x="{}" y="19">{}</text>"#,
            COLORS[i % COLORS.len()],
            x + 14.0,
            esc(s)
        );
    }
    for (m, metric) in METRICS.iter().enumerate() {
        let top = LEGEND + m as f64 * row_h;
        let _ = writeln!(
            out,
            r#"<text x="10" y="{}" font-size="15">{}</text>"#,
            top + 20.0,
            esc(metric.title)
        );
        for (p, (transport, c)) in panels.iter().enumerate() {
            let bars: Vec<(usize, &Row)> = servers
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    rows.iter()
                        .find(|r| {
                            &r.server == s && &r.transport == transport && r.concurrency == *c
                        })
                        .map(|r| (i, r))
                })
                .collect();
            let at = (10.0 + p as f64 * PANEL_W, top + ROW_TITLE + PANEL_H);
            panel(
                &mut out,
                at,
                &format!("{transport}, {c} in flight"),
                &bars,
                metric,
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// One panel; `(x0, base)` is the left end of its axis line.
fn panel(
    out: &mut String,
    (x0, base): (f64, f64),
    title: &str,
    bars: &[(usize, &Row)],
    metric: &Metric,
) {
    let max = bars
        .iter()
        .map(|(_, r)| (metric.value)(r))
        .fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let plot_h = PANEL_H - 30.0;
    let bar_w = (PANEL_W - 40.0) / bars.len().max(1) as f64;
    let _ = writeln!(
        out,
        r##"<line x1="{x0}" y1="{base}" x2="{}" y2="{base}" stroke="#333"/>"##,
        x0 + PANEL_W - 20.0
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        x0 + (PANEL_W - 20.0) / 2.0,
        base + 20.0,
        esc(title)
    );
    for (slot, (color_index, row)) in bars.iter().enumerate() {
        let value = (metric.value)(row);
        let h = value / max * plot_h;
        let x = x0 + 10.0 + slot as f64 * bar_w;
        let label = format!("{value:.*}", metric.decimals);
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {label}</title></rect>"#,
            base - h,
            bar_w * 0.8,
            COLORS[color_index % COLORS.len()],
            esc(&row.server),
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{label}</text>"#,
            x + bar_w * 0.4,
            base - h - 4.0
        );
    }
}
