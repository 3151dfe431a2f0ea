//! The plot: ns/episode vs N for every system, one panel per (load condition, scenario), log-log,
//! median with a min–max bar over the repetitions; hand-written SVG (generic font family only, so
//! no font is needed to produce it; a plotting crate would add a font dependency for one chart).

use crate::alting::GoldConfig;
use crate::report::{condition_name, fmt_int, fmt_ns, Report};
use crate::systems::System;
use std::fmt::Write as _;

const COLORS: [&str; 12] = [
    "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#000080", "#808000",
];

/// The alting sync series.
const ALTING_COLOR: &str = "#000000";

const LEFT: f64 = 80.0;
const TOP: f64 = 80.0;
const PW: f64 = 380.0;
const PH: f64 = 360.0;
const GAP: f64 = 90.0;
const LEGEND_W: f64 = 330.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// "1 ns", "10 ns", "100 ns", "1 µs", ... for 10^d ns.
fn decade_label(d: i32) -> String {
    let units = ["ns", "µs", "ms", "s"];
    let (u, rest) = ((d.max(0) / 3).min(3) as usize, d.max(0) - 3 * (d.max(0) / 3).min(3));
    format!("{} {}", 10u64.pow(rest as u32), units[u])
}

/// Renders the report's results as an SVG document.
pub fn render(r: &Report) -> String {
    let mut scenarios = r.panels();
    if scenarios.is_empty() && r.alting.is_some() {
        scenarios.push((0, crate::systems::Scenario::Plain));
    }
    let quiet_plain = |p: &(usize, crate::systems::Scenario)| p.0 == 0 && p.1 == crate::systems::Scenario::Plain;
    // Alting sync cost, drawn in the plain panel (its N are among the sweep's, or added).
    let alting_pts: Vec<(usize, f64, bool)> = r
        .alting
        .iter()
        .flat_map(|a| &a.sync)
        .filter_map(|row| row.alting.stats().map(|s| (row.n, s.ns_per_episode, s.few_samples())))
        .filter(|(_, v, _)| v.is_finite() && *v > 0.0)
        .collect();
    let mut systems: Vec<System> = r.results.iter().map(|row| row.system).collect();
    systems.sort_unstable();
    systems.dedup();
    let mut ns: Vec<usize> = r.results.iter().map(|row| row.n).chain(alting_pts.iter().map(|p| p.0)).collect();
    ns.sort_unstable();
    ns.dedup();
    let vals: Vec<f64> = r
        .results
        .iter()
        .filter_map(|row| row.outcome.stats().map(|s| [s.min_ns, s.max_ns]))
        .flatten()
        .chain(alting_pts.iter().map(|p| p.1))
        .chain(r.round_trip.iter().filter_map(|rt| rt.as_ref().ok().map(|x| x.median_ns)))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (lo, hi) = vals.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let (d0, d1) = if vals.is_empty() {
        (1.0, 6.0)
    } else {
        (lo.log10().floor(), hi.log10().ceil().max(lo.log10().floor() + 1.0))
    };
    let (x0, x1) = (ns.first().copied().unwrap_or(2) as f64, ns.last().copied().unwrap_or(16) as f64);
    let xpos = |n: usize| {
        if x1 > x0 {
            (n as f64 / x0).log2() / (x1 / x0).log2() * (PW - 40.0) + 20.0
        } else {
            PW / 2.0
        }
    };
    let ypos = |v: f64| PH - (v.log10() - d0) / (d1 - d0) * PH;

    let width = LEFT + scenarios.len().max(1) as f64 * (PW + GAP) + LEGEND_W;
    let height = TOP + PH + 90.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">Barrier cost: ns per episode vs parties (log-log; lower is better)</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="42" fill="#555">{} CPUs, {}, {}; bar = min–max over repetitions; hollow marker = fewer than 100 episodes per repetition</text>"##,
        r.machine.cpus,
        esc(&r.machine.cpu_model),
        esc(&r.date)
    );
    for (pi, panel) in scenarios.iter().enumerate() {
        let (hogs, sc) = (panel.0, &panel.1);
        let ox = LEFT + pi as f64 * (PW + GAP);
        let _ = writeln!(s, r#"<g transform="translate({ox:.1},{TOP})">"#);
        let _ = writeln!(s, r##"<rect width="{PW}" height="{PH}" fill="none" stroke="#333"/>"##);
        let title = format!(
            "{}, {}",
            condition_name(hogs),
            match sc.name() {
                "plain" => "plain: back-to-back barriers",
                _ => "phased: 0-20 µs work per episode",
            }
        );
        let _ =
            writeln!(s, r#"<text x="{:.1}" y="-8" text-anchor="middle" font-weight="bold">{title}</text>"#, PW / 2.0);
        let mut d = d0;
        while d <= d1 + 1e-9 {
            let y = ypos(10f64.powf(d));
            let _ = writeln!(s, r##"<line x1="0" x2="{PW}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/>"##);
            let _ =
                writeln!(s, r#"<text x="-6" y="{:.1}" text-anchor="end">{}</text>"#, y + 4.0, decade_label(d as i32));
            d += 1.0;
        }
        for &n in &ns {
            let x = xpos(n);
            let _ = writeln!(s, r##"<line x1="{x:.1}" x2="{x:.1}" y1="0" y2="{PH}" stroke="#eee"/>"##);
            let _ = writeln!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{n}</text>"#, PH + 16.0);
        }
        let _ =
            writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">N (parties)</text>"#, PW / 2.0, PH + 36.0);
        if quiet_plain(panel) {
            if let Some(Ok(rt)) = &r.round_trip {
                let y = ypos(rt.median_ns);
                let _ = writeln!(
                    s,
                    r##"<line x1="0" x2="{PW}" y1="{y:.1}" y2="{y:.1}" stroke="#000" stroke-dasharray="6,4"/><text x="4" y="{:.1}" fill="#000">cache-line round trip {}</text>"##,
                    y - 4.0,
                    esc(&fmt_ns(rt.median_ns))
                );
            }
        }
        for (si, sys) in systems.iter().enumerate() {
            let color = COLORS[si % COLORS.len()];
            let pts: Vec<(f64, f64, bool)> = ns
                .iter()
                .filter_map(|&n| {
                    r.find(hogs, *sc, n, *sys)
                        .filter(|st| st.ns_per_episode > 0.0 && st.ns_per_episode.is_finite())
                        .map(|st| (xpos(n), ypos(st.ns_per_episode), st.few_samples()))
                })
                .collect();
            // The spread over repetitions: a min–max bar.
            for &n in &ns {
                if let Some(st) = r.find(hogs, *sc, n, *sys).filter(|st| st.min_ns > 0.0 && st.max_ns.is_finite()) {
                    let _ = writeln!(
                        s,
                        r#"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="1" opacity="0.6"/>"#,
                        ypos(st.min_ns),
                        ypos(st.max_ns),
                        x = xpos(n)
                    );
                }
            }
            let w = if *sys == System::Muster { 3.0 } else { 1.5 };
            if pts.len() > 1 {
                let p: Vec<String> = pts.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{w}"/>"#,
                    p.join(" ")
                );
            }
            for (x, y, capped) in pts {
                let fill = if capped { "white" } else { color };
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{fill}" stroke="{color}" stroke-width="1.5"/>"#
                );
            }
        }
        if quiet_plain(panel) && !alting_pts.is_empty() {
            let pts: Vec<(f64, f64, bool)> = alting_pts.iter().map(|&(n, v, c)| (xpos(n), ypos(v), c)).collect();
            if pts.len() > 1 {
                let p: Vec<String> = pts.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{ALTING_COLOR}" stroke-width="2.5" stroke-dasharray="7,3"/>"#,
                    p.join(" ")
                );
            }
            for (x, y, capped) in pts {
                let fill = if capped { "white" } else { ALTING_COLOR };
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{fill}" stroke="{ALTING_COLOR}" stroke-width="1.5"/>"#,
                    x - 4.0,
                    y - 4.0
                );
            }
        }
        s.push_str("</g>\n");
    }
    let lx = LEFT + scenarios.len().max(1) as f64 * (PW + GAP) - 30.0;
    for (si, sys) in systems.iter().enumerate() {
        let y = TOP + 10.0 + si as f64 * 22.0;
        let color = COLORS[si % COLORS.len()];
        let w = if *sys == System::Muster { 3.0 } else { 1.5 };
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-width="{w}"/><circle cx="{:.1}" cy="{y:.1}" r="4" fill="{color}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            lx + 12.0,
            lx + 30.0,
            y + 4.0,
            esc(sys.label())
        );
    }
    if !alting_pts.is_empty() {
        let y = TOP + 10.0 + systems.len() as f64 * 22.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{ALTING_COLOR}" stroke-width="2.5" stroke-dasharray="7,3"/><rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{ALTING_COLOR}"/><text x="{:.1}" y="{:.1}">Muster alting sync (processes; quiet plain panel)</text>"#,
            lx + 24.0,
            lx + 8.0,
            y - 4.0,
            lx + 30.0,
            y + 4.0
        );
    }
    let gold: Vec<String> = r
        .alting
        .iter()
        .flat_map(|a| &a.goldsmith)
        .filter_map(|(hogs, cfg, g)| {
            g.as_ref().ok().map(|g| {
                let what = match cfg {
                    GoldConfig::Free => "not pinned",
                    GoldConfig::Pinned => "all on one CPU",
                };
                format!("{} {what} {}", condition_name(*hogs), fmt_int(g.events_per_s))
            })
        })
        .collect();
    if !gold.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="58" fill="#333">Goldsmith events/s (alting barriers, 3 processes): {}</text>"##,
            esc(&gold.join("; "))
        );
    }
    s.push_str("</svg>\n");
    s
}
