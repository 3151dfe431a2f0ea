//! Issue 9's targets, checked against one run's numbers (reported as met / not met, never
//! asserted), and the list of every place where Muster loses.

use crate::alting;
use crate::report::{condition_name, fmt_int, fmt_ns, fmt_ratio, outcome_why, Report};
use crate::stats::{Outcome, Stats};
use crate::systems::{Scenario, System};
use std::fmt::Write as _;

/// One checked target.
pub struct Target {
    pub what: String,
    /// The figures it was judged on.
    pub figures: String,
    /// `None`: not measured in this run.
    pub met: Option<bool>,
}

/// The systems Muster is compared with: everything but Muster's own two.
fn baselines() -> impl Iterator<Item = System> {
    System::ALL.into_iter().filter(|&s| s != System::Muster && s != System::MusterHeap)
}

impl Report {
    /// Measured baselines at (`hogs`, plain, `n`), and the ones that were not measured.
    fn measured_baselines(
        &self,
        hogs: usize,
        n: usize,
        only: impl Fn(System) -> bool,
    ) -> (Vec<(System, &Stats)>, Vec<String>) {
        let (mut got, mut missing) = (vec![], vec![]);
        for s in baselines().filter(|&s| only(s)) {
            if let Some(r) = self.row(hogs, Scenario::Plain, n, s) {
                match &r.outcome {
                    Outcome::Measured(st) => got.push((s, &**st)),
                    o => missing.push(format!("{} {}", s.name(), crate::report::outcome_word(o))),
                }
            }
        }
        (got, missing)
    }

    /// Every target of issue 9 this run can speak to.
    pub fn target_list(&self) -> Vec<Target> {
        let mut v = vec![];
        let sc = Scenario::Plain;
        let rt = self.round_trip.as_ref().and_then(|r| r.as_ref().ok());
        let not_measured =
            |s: &[String]| if s.is_empty() { String::new() } else { format!("; not measured: {}", s.join(", ")) };
        // Quiet, N = 2.
        if let Some(m) = self.find(0, sc, 2, System::Muster) {
            match rt {
                Some(rt) => {
                    let r = m.ns_per_episode / rt.median_ns;
                    v.push(Target {
                        what: "quiet N=2: Muster median ≤ 1.0× the cache-line round trip".into(),
                        figures: format!("{} = {r:.2}× of {}", fmt_ns(m.ns_per_episode), fmt_ns(rt.median_ns)),
                        met: Some(r <= 1.0),
                    });
                }
                None => v.push(Target {
                    what: "quiet N=2: Muster median ≤ 1.0× the cache-line round trip".into(),
                    figures: "round trip not measured".into(),
                    met: None,
                }),
            }
            let (got, missing) = self.measured_baselines(0, 2, System::spins);
            let figs: Vec<String> = got
                .iter()
                .map(|(s, st)| {
                    format!(
                        "{} {} ({})",
                        s.name(),
                        fmt_ns(st.ns_per_episode),
                        fmt_ratio(st.ns_per_episode / m.ns_per_episode)
                    )
                })
                .collect();
            v.push(Target {
                what: "quiet N=2: ≥ 1.2× faster than every spinning baseline".into(),
                figures: format!("Muster {}; {}{}", fmt_ns(m.ns_per_episode), figs.join(", "), not_measured(&missing)),
                met: (!got.is_empty()).then(|| got.iter().all(|(_, st)| st.ns_per_episode >= 1.2 * m.ns_per_episode)),
            });
        }
        // Quiet N = 4..16 and every N under hogs.
        let mut conds: Vec<usize> = self.results.iter().map(|r| r.hogs).collect();
        conds.dedup();
        for hogs in conds {
            for n in self.ns_list(hogs, sc) {
                if hogs == 0 && !(4..=16).contains(&n) {
                    continue;
                }
                let cond = condition_name(hogs);
                let Some(m) = self.find(hogs, sc, n, System::Muster) else {
                    let why =
                        self.row(hogs, sc, n, System::Muster).map(|r| outcome_why(&r.outcome)).unwrap_or_default();
                    v.push(Target { what: format!("{cond} N={n}: Muster measured"), figures: why, met: Some(false) });
                    continue;
                };
                let (got, missing) = self.measured_baselines(hogs, n, |_| true);
                let best = got.iter().min_by(|a, b| a.1.ns_per_episode.total_cmp(&b.1.ns_per_episode));
                let pthread = got.iter().find(|(s, _)| *s == System::Pthread).map(|(_, st)| *st);
                let what = if hogs == 0 {
                    format!("{cond} N={n}: at least as fast as the best baseline")
                } else {
                    format!("{cond} N={n}: ≤ pthread_barrier and ≤ every other baseline")
                };
                let figures = match (best, pthread) {
                    (Some((bs, b)), p) => format!(
                        "Muster {}; best baseline {} {}{}{}",
                        fmt_ns(m.ns_per_episode),
                        bs.name(),
                        fmt_ns(b.ns_per_episode),
                        p.map_or(String::new(), |p| format!("; pthread {}", fmt_ns(p.ns_per_episode))),
                        not_measured(&missing)
                    ),
                    (None, _) => format!("Muster {}; no baseline measured", fmt_ns(m.ns_per_episode)),
                };
                v.push(Target { what, figures, met: best.map(|(_, b)| m.ns_per_episode <= b.ns_per_episode) });
                v.push(Target {
                    what: format!("{cond} N={n}: CPU per episode ≤ pthread's"),
                    figures: pthread.map_or("pthread not measured".into(), |p| {
                        format!("{:.2} µs vs {:.2} µs", m.cpu_us_per_episode, p.cpu_us_per_episode)
                    }),
                    met: pthread.map(|p| m.cpu_us_per_episode <= p.cpu_us_per_episode),
                });
            }
        }
        if let Some(a) = &self.alting {
            for (hogs, cfg, g) in &a.goldsmith {
                let what = format!(
                    "{}: Goldsmith ({}) ≥ {} events/s, every barrier ≥ {:.0} %",
                    condition_name(*hogs),
                    cfg.label(),
                    fmt_int(alting::TARGET_EVENTS_PER_S),
                    100.0 * alting::TARGET_MIN_SHARE
                );
                match g {
                    Ok(g) => v.push(Target {
                        what,
                        figures: format!(
                            "{} events/s; a/b/c {:.0}/{:.0}/{:.0} %",
                            fmt_int(g.events_per_s),
                            100.0 * g.shares[0],
                            100.0 * g.shares[1],
                            100.0 * g.shares[2]
                        ),
                        met: Some(g.meets_target()),
                    }),
                    Err(e) => v.push(Target { what, figures: format!("FAILED: {e}"), met: Some(false) }),
                }
            }
        }
        if let Some(Ok(i)) = &self.idle {
            v.push(Target {
                what: "a waiter blocked 1 s uses < 1 % of a core".into(),
                figures: format!("{:.3} %", 100.0 * i.core_share()),
                met: Some(i.core_share() < 0.01),
            });
        }
        v.push(Target {
            what: "16-core machine: N=2..16 ahead of MPI_Barrier and both OpenMP runtimes".into(),
            figures: format!("not this machine ({} CPUs)", self.machine.cpus),
            met: None,
        });
        v
    }

    /// The targets as a Markdown table.
    pub fn targets(&self) -> String {
        let list = self.target_list();
        let (met, missed) =
            (list.iter().filter(|t| t.met == Some(true)).count(), list.iter().filter(|t| t.met == Some(false)).count());
        let mut t = format!("{met} met, {missed} not met, {} not measured here.\n\n", list.len() - met - missed);
        t.push_str("| target | measured | met |\n|---|---|---|\n");
        for x in &list {
            let m = match x.met {
                Some(true) => "met",
                Some(false) => "**not met**",
                None => "n/a",
            };
            let _ = writeln!(t, "| {} | {} | {m} |", x.what, x.figures);
        }
        t
    }

    /// The targets as plain text (for the terminal).
    pub fn targets_text(&self) -> String {
        let mut t = String::from("muster-bench: targets (issue 9):\n");
        for x in self.target_list() {
            let m = match x.met {
                Some(true) => "met    ",
                Some(false) => "NOT MET",
                None => "n/a    ",
            };
            let _ = writeln!(t, "  {m} {}: {}", x.what, x.figures);
        }
        t
    }

    /// Every configuration where a baseline beats Muster (processes) on time, or pthread on CPU,
    /// or where Muster did not produce a number. Generated, so the report can't gloss over it.
    pub fn losses(&self) -> String {
        let mut t = String::new();
        for (hogs, sc) in self.panels() {
            let cond = condition_name(hogs);
            for n in self.ns_list(hogs, sc) {
                let m = match self.row(hogs, sc, n, System::Muster).map(|r| &r.outcome) {
                    Some(Outcome::Measured(m)) => m,
                    Some(o) => {
                        let _ =
                            writeln!(t, "- {cond}, {} N={n}: Muster produced no number: {}", sc.name(), outcome_why(o));
                        continue;
                    }
                    None => continue,
                };
                let mut faster: Vec<(System, &Stats)> = baselines()
                    .filter_map(|s| self.find(hogs, sc, n, s).map(|st| (s, st)))
                    .filter(|(_, st)| st.ns_per_episode < m.ns_per_episode)
                    .collect();
                faster.sort_by(|a, b| a.1.ns_per_episode.total_cmp(&b.1.ns_per_episode));
                if !faster.is_empty() {
                    let who: Vec<String> = faster
                        .iter()
                        .map(|(s, st)| {
                            format!(
                                "{} {} ({:.2}× Muster's time)",
                                s.name(),
                                fmt_ns(st.ns_per_episode),
                                st.ns_per_episode / m.ns_per_episode
                            )
                        })
                        .collect();
                    let _ = writeln!(
                        t,
                        "- {cond}, {} N={n}: Muster {} is slower than {}",
                        sc.name(),
                        fmt_ns(m.ns_per_episode),
                        who.join(", ")
                    );
                }
                if let Some(p) = self.find(hogs, sc, n, System::Pthread) {
                    if m.cpu_us_per_episode > p.cpu_us_per_episode {
                        let _ = writeln!(
                            t,
                            "- {cond}, {} N={n}: Muster uses more CPU per episode than pthread ({:.2} µs vs {:.2} µs)",
                            sc.name(),
                            m.cpu_us_per_episode,
                            p.cpu_us_per_episode
                        );
                    }
                }
            }
        }
        if let Some(a) = &self.alting {
            for (hogs, cfg, g) in &a.goldsmith {
                let cond = condition_name(*hogs);
                match g {
                    Ok(g) if !g.meets_target() => {
                        let _ = writeln!(
                            t,
                            "- {cond}, alting Goldsmith ({}): {} events/s, smallest share {:.0} % (target ≥ {}, every \
                             barrier ≥ {:.0} %)",
                            cfg.label(),
                            fmt_int(g.events_per_s),
                            100.0 * g.min_share(),
                            fmt_int(alting::TARGET_EVENTS_PER_S),
                            100.0 * alting::TARGET_MIN_SHARE
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = writeln!(t, "- {cond}, alting Goldsmith ({}): no number: {e}", cfg.label());
                    }
                }
            }
            for r in &a.sync {
                let Some(s) = r.alting.stats() else {
                    let _ = writeln!(t, "- alting sync N={}: no number: {}", r.n, outcome_why(&r.alting));
                    continue;
                };
                if let Some(p) = self.find(0, Scenario::Plain, r.n, System::Pthread) {
                    if p.ns_per_episode < s.ns_per_episode {
                        let _ = writeln!(
                            t,
                            "- alting sync N={}: {} per episode is slower than pthread's plain barrier {} ({:.2}× \
                             alting's time; pthread offers no choice, so this is the price of alting)",
                            r.n,
                            fmt_ns(s.ns_per_episode),
                            fmt_ns(p.ns_per_episode),
                            p.ns_per_episode / s.ns_per_episode
                        );
                    }
                }
            }
        }
        if t.is_empty() {
            t.push_str(
                "- nowhere in this run (no baseline was faster, none used less CPU than Muster where pthread did)\n",
            );
        }
        t
    }
}
