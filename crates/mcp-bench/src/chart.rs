//! The chart of `BENCHMARKS.md`: round trips per second as bars, one panel per transport and
//! concurrency (each with its own scale), written as plain SVG (text as SVG `<text>`, so
//! nothing needs fonts when it is made).

use crate::report::{groups, Row};
use std::fmt::Write;

const PANEL_W: f64 = 240.0;
const PANEL_H: f64 = 260.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 40.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
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
    let width = PANEL_W * panels.len().max(1) as f64 + 20.0;
    let height = PANEL_H + TOP + BOTTOM;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="10" y="20" font-size="15">Sampling round trips per second (higher is better)</text>"#
    );
    for (i, s) in servers.iter().enumerate() {
        let x = 10.0 + i as f64 * 90.0;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="30" width="10" height="10" fill="{color}"/><text x="{}" y="39">{}</text>"#,
            x + 14.0,
            esc(s)
        );
    }
    for (p, (transport, c)) in panels.iter().enumerate() {
        let bars: Vec<(usize, &Row)> = servers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                rows.iter()
                    .find(|r| &r.server == s && &r.transport == transport && r.concurrency == *c)
                    .map(|r| (i, r))
            })
            .collect();
        panel(
            &mut out,
            10.0 + p as f64 * PANEL_W,
            &format!("{transport}, {c} in flight"),
            &bars,
        );
    }
    out.push_str("</svg>\n");
    out
}

fn panel(out: &mut String, x0: f64, title: &str, bars: &[(usize, &Row)]) {
    let max = bars
        .iter()
        .map(|(_, r)| r.round_trips_per_sec)
        .fold(0.0, f64::max)
        .max(1.0);
    let base = TOP + PANEL_H;
    let plot_h = PANEL_H - 40.0;
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
        let h = row.round_trips_per_sec / max * plot_h;
        let x = x0 + 10.0 + slot as f64 * bar_w;
        let color = COLORS[color_index % COLORS.len()];
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{color}"><title>{}: {:.0}/s</title></rect>"#,
            base - h,
            bar_w * 0.8,
            esc(&row.server),
            row.round_trips_per_sec
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{:.0}</text>"#,
            x + bar_w * 0.4,
            base - h - 4.0,
            row.round_trips_per_sec
        );
    }
}
