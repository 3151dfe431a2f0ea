//! The report: Markdown tables (stdout and `table.md`), one set per load condition (quiet,
//! `--hogs K`); the targets check is in `targets.rs`, the JSON in `report_json.rs`.

use crate::alting::{self, AltingReport};
use crate::clock::Calibration;
use crate::run::Idle;
use crate::stats::{Outcome, RoundTrip, Stats};
use crate::systems::{Scenario, System};
use std::fmt::Write as _;

/// Everything one run measured.
pub struct Report {
    pub command: String,
    pub date: String,
    pub machine: Machine,
    pub cal: Calibration,
    pub quick: bool,
    pub episodes: u64,
    pub reps: usize,
    pub budget_ms: u64,
    /// The load conditions run (busy processes beside; 0 = quiet).
    pub hogs: Vec<usize>,
    pub round_trip: Option<Result<RoundTrip, String>>,
    /// Two processes pinned to one CPU taking turns with `sched_yield` (a round trip is two
    /// hand-offs).
    pub handoff: Option<Result<RoundTrip, String>>,
    pub idle: Option<Result<Idle, String>>,
    pub results: Vec<Row>,
    /// The alting section (`None`: not run).
    pub alting: Option<AltingReport>,
    pub notes: Vec<String>,
    pub elapsed_s: f64,
    pub load_at_end: f64,
}

pub struct Row {
    /// Busy-loop processes beside (0 = quiet).
    pub hogs: usize,
    pub scenario: Scenario,
    pub n: usize,
    pub system: System,
    pub outcome: Outcome,
}

#[derive(serde::Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// `/proc/loadavg`'s 1-minute load when the run started (other work on the machine skews results).
    #[serde(rename = "load1_at_start")]
    pub load_at_start: f64,
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

impl Machine {
    pub fn detect() -> Machine {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.to_string()))
            .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
            .unwrap_or_else(|| "unknown CPU".into());
        let kernel =
            std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(|_| "?".into(), |s| s.trim().into());
        Machine { cpus, cpu_model, kernel, load_at_start: load1() }
    }
}

/// "quiet", "--hogs 2".
pub fn condition_name(hogs: usize) -> String {
    if hogs == 0 {
        "quiet".into()
    } else {
        format!("--hogs {hogs}")
    }
}

pub fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Measured(_) => "measured",
        Outcome::Skipped(_) => "skipped",
        Outcome::Failed(_) => "FAILED",
    }
}

pub fn outcome_why(o: &Outcome) -> String {
    match o {
        Outcome::Measured(_) => String::new(),
        Outcome::Skipped(w) | Outcome::Failed(w) => w.clone(),
    }
}

/// "850 ns", "12.3 µs", "4.56 ms".
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "–".into()
    } else if ns < 10_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 10_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.1} ms", ns / 1e6)
    }
}

/// "812,345".
pub fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let d = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "–".into()
    } else if r < 0.01 {
        format!("{r:.4}×")
    } else if r < 0.1 {
        format!("{r:.3}×")
    } else if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}

impl Report {
    pub fn find(&self, hogs: usize, sc: Scenario, n: usize, sys: System) -> Option<&Stats> {
        self.row(hogs, sc, n, sys).and_then(|r| r.outcome.stats())
    }

    pub fn row(&self, hogs: usize, sc: Scenario, n: usize, sys: System) -> Option<&Row> {
        self.results.iter().find(|r| r.hogs == hogs && r.scenario == sc && r.n == n && r.system == sys)
    }

    /// The (condition, scenario) pairs of the sweep, in the order run.
    pub fn panels(&self) -> Vec<(usize, Scenario)> {
        let mut v: Vec<(usize, Scenario)> = vec![];
        for r in &self.results {
            if !v.contains(&(r.hogs, r.scenario)) {
                v.push((r.hogs, r.scenario));
            }
        }
        v
    }

    pub fn ns_list(&self, hogs: usize, sc: Scenario) -> Vec<usize> {
        let mut v: Vec<usize> =
            self.results.iter().filter(|r| r.hogs == hogs && r.scenario == sc).map(|r| r.n).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn systems(&self) -> Vec<System> {
        let mut v: Vec<System> = self.results.iter().map(|r| r.system).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Ratio of `s`'s ns/episode to Muster's (processes) in the same configuration.
    fn vs_muster(&self, hogs: usize, sc: Scenario, n: usize, s: &Stats) -> f64 {
        self.find(hogs, sc, n, System::Muster).map_or(f64::NAN, |m| s.ns_per_episode / m.ns_per_episode)
    }

    /// The summary table of one condition and scenario: one row per N, one column per system.
    pub fn summary_table(&self, hogs: usize, sc: Scenario) -> String {
        let systems = self.systems();
        let mut t = String::new();
        let _ = writeln!(t, "| N | {} |", systems.iter().map(|s| s.name()).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(t, "|--:|{}", "--:|".repeat(systems.len()));
        for n in self.ns_list(hogs, sc) {
            let cells: Vec<String> = systems
                .iter()
                .map(|&sys| match self.row(hogs, sc, n, sys).map(|r| &r.outcome) {
                    Some(Outcome::Measured(s)) => {
                        let mark = if s.few_samples() { "†" } else { "" };
                        if sys == System::Muster {
                            format!("**{}**{mark}", fmt_ns(s.ns_per_episode))
                        } else {
                            format!(
                                "{}{mark} ({})",
                                fmt_ns(s.ns_per_episode),
                                fmt_ratio(self.vs_muster(hogs, sc, n, s))
                            )
                        }
                    }
                    Some(Outcome::Failed(_)) => "failed".into(),
                    Some(Outcome::Skipped(_)) => "skipped".into(),
                    None => "".into(),
                })
                .collect();
            let _ = writeln!(t, "| {n} | {} |", cells.join(" | "));
        }
        t
    }

    /// The detail table of one condition: one row per (scenario, N, system), with the spread.
    pub fn detail_table(&self, hogs: usize) -> String {
        let mut t = String::new();
        t.push_str(
            "| scenario | N | system | ns/episode (median) | reps min–max | IQR | p50 | p99 | p99.9 | CPU µs/episode | \
             ÷ Muster | episodes/rep |\n",
        );
        t.push_str("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for r in self.results.iter().filter(|r| r.hogs == hogs) {
            let (sc, n) = (r.scenario.name(), r.n);
            match &r.outcome {
                Outcome::Measured(s) => {
                    let mut eps = if s.capped() {
                        format!("{} of {} (time cap)", s.min_episodes(), s.requested)
                    } else {
                        s.requested.to_string()
                    };
                    if s.collapsed {
                        let _ = write!(eps, "; collapsed: {} of {} reps", s.rep_ns.len(), s.reps_requested);
                    }
                    let _ = writeln!(
                        t,
                        "| {sc} | {n} | {} | {} | {}–{} | {}–{} | {} | {} | {} | {:.2} | {} | {eps} |",
                        r.system.name(),
                        fmt_ns(s.ns_per_episode),
                        fmt_ns(s.min_ns),
                        fmt_ns(s.max_ns),
                        fmt_ns(s.q1_ns),
                        fmt_ns(s.q3_ns),
                        fmt_ns(s.p50),
                        fmt_ns(s.p99),
                        fmt_ns(s.p999),
                        s.cpu_us_per_episode,
                        fmt_ratio(self.vs_muster(hogs, r.scenario, n, s)),
                    );
                }
                o => {
                    let _ = writeln!(
                        t,
                        "| {sc} | {n} | {} | {}: {} | | | | | | | | |",
                        r.system.name(),
                        outcome_word(o),
                        outcome_why(o)
                    );
                }
            }
        }
        t
    }

    /// The reference measurements and notes, as a Markdown list.
    pub fn reference(&self) -> String {
        let mut t = String::new();
        // One line per ping-pong reference: its figures, or why it failed.
        let mut line =
            |what: &str, r: &Option<Result<RoundTrip, String>>, figures: &dyn Fn(&RoundTrip) -> String| match r {
                Some(Ok(x)) => {
                    let _ = writeln!(t, "- {what}: {}", figures(x));
                }
                Some(Err(e)) => {
                    let _ = writeln!(t, "- {what}: FAILED: {e}");
                }
                None => {}
            };
        line(
            "Cache-line round trip between two processes (ping-pong on one shared word, quiet)",
            &self.round_trip,
            &|rt| {
                format!(
                    "**{}** (median over repetitions of {} round trips; single round trips p50 {}, p99 {})",
                    fmt_ns(rt.median_ns),
                    rt.iterations,
                    fmt_ns(rt.p50),
                    fmt_ns(rt.p99)
                )
            },
        );
        line(
            "CPU hand-off between two processes pinned to one CPU, each waiting for its turn with `sched_yield`",
            &self.handoff,
            &|h| {
                format!(
                    "**{}** per hand-off (median over repetitions of {} round trips of two hand-offs; single \
                     round trips p50 {}, p99 {}). Where a barrier's processes outnumber the CPUs, a CPU running k \
                     of them must pass from one to the next at least k − 1 times per episode (the last to run in \
                     one episode runs first in the next): with N spread evenly over C CPUs, an episode costs at \
                     least N/C − 1 hand-offs, whatever the barrier",
                    fmt_ns(h.per_handoff_ns()),
                    h.iterations,
                    fmt_ns(h.p50),
                    fmt_ns(h.p99)
                )
            },
        );
        match &self.idle {
            Some(Ok(i)) => {
                let _ = writeln!(
                    t,
                    "- Idle waiter: one process waited {:.3} s on a Muster barrier nobody else reached; it used \
                     **{:.0} µs CPU = {:.3} % of a core**",
                    i.waited_ns / 1e9,
                    i.cpu_ns / 1e3,
                    100.0 * i.core_share()
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(t, "- Idle waiter: FAILED: {e}");
            }
            None => {}
        }
        let _ = writeln!(
            t,
            "- Clock: {} ({:.3} ticks/ns), one read ≈ {:.1} ns. ns/episode and CPU/episode come from a phase with \
             no per-episode clock reads; the latency percentiles (hdrhistogram, 3 significant digits) from a second \
             phase of up to {} episodes in which every party reads the clock before and after each wait",
            if cfg!(target_arch = "x86_64") { "lfence + rdtsc" } else { "CLOCK_MONOTONIC" },
            self.cal.ticks_per_ns,
            self.cal.read_ns,
            crate::ctl::LAT_CAP
        );
        if self.alting.is_none() {
            let _ = writeln!(t, "- Alting barriers: {}", alting::status_skipped());
        }
        for n in &self.notes {
            let _ = writeln!(t, "- {n}");
        }
        t
    }

    /// The alting section: Goldsmith events/s (every condition) and alting sync cost (quiet).
    pub fn alting_section(&self) -> String {
        let mut t = String::new();
        let Some(a) = &self.alting else {
            let _ = writeln!(t, "{}", alting::status_skipped());
            return t;
        };
        let _ = writeln!(
            t,
            "Goldsmith's challenge: P offers alting barriers a, b; Q offers b, c; R offers c, a; each process loops \
             `Alternative::select(Select::Fair, 20 ms)`. One event = one barrier completion (both its parties' selects \
             return it). Median over {} windows of {} ms after a warm-up; CPU = all three processes \
             (`/proc/PID/schedstat`). JCSP 1.1-rc4 (threads in one JVM) figures are the issue's, measured on the same \
             kind of 2-vCPU machine, not by this harness.\n",
            self.reps, a.window_ms
        );
        t.push_str(
            "| condition | Goldsmith | events/s | windows min–max | a / b / c share | CPU µs/event | cores busy | \
             JCSP 1.1-rc4 | ÷ JCSP |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for (hogs, cfg, g) in &a.goldsmith {
            let cond = condition_name(*hogs);
            match g {
                Ok(g) => {
                    let lo = g.rep_events_per_s.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = g.rep_events_per_s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let _ = writeln!(
                        t,
                        "| {cond} | {} | **{}** | {}–{} | {:.0} / {:.0} / {:.0} % | {:.2} | {:.2} | {} | {} |",
                        cfg.label(),
                        fmt_int(g.events_per_s),
                        fmt_int(lo),
                        fmt_int(hi),
                        100.0 * g.shares[0],
                        100.0 * g.shares[1],
                        100.0 * g.shares[2],
                        g.cpu_us_per_event,
                        g.cores_busy,
                        fmt_int(cfg.jcsp()),
                        fmt_ratio(g.events_per_s / cfg.jcsp())
                    );
                }
                Err(e) => {
                    let _ =
                        writeln!(t, "| {cond} | {} | FAILED: {e} | | | | | {} | |", cfg.label(), fmt_int(cfg.jcsp()));
                }
            }
        }
        let _ = writeln!(
            t,
            "\nTarget: ≥ {} events/s with every barrier ≥ {:.0} % of the events, quiet and under `--hogs 2` \
             (cores busy counts only P, Q and R, not the hogs).\n",
            fmt_int(alting::TARGET_EVENTS_PER_S),
            100.0 * alting::TARGET_MIN_SHARE
        );
        t.push_str(
            "Alting `sync` (quiet): N processes, each attached to its own front-end of one alting barrier with N \
             front-ends, call `AltingBarrier::sync()` back to back, in the same loop as the main table (validation, \
             throughput phase, latency phase). *Plain* is Muster's counted barrier (`muster`, plain scenario) at the \
             same N: the quiet sweep's row of this run where it has one (s), else measured right after (m).\n\n",
        );
        t.push_str(
            "| N | alting sync ns/episode | p50 | p99 | CPU µs/episode | plain barrier ns/episode | plain CPU \
             µs/episode | alting ÷ plain | JCSP AltingBarrier.sync (threads) |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for r in &a.sync {
            let jcsp = if r.n == 2 {
                format!("{}–{}", fmt_ns(alting::JCSP_SYNC_2_NS.0), fmt_ns(alting::JCSP_SYNC_2_NS.1))
            } else {
                "–".into()
            };
            let src = if r.plain_from_sweep { "s" } else { "m" };
            let (pn, pc) = match &r.plain {
                Outcome::Measured(p) => {
                    (format!("{} ({src})", fmt_ns(p.ns_per_episode)), format!("{:.2}", p.cpu_us_per_episode))
                }
                o => (format!("{}: {}", outcome_word(o), outcome_why(o)), String::new()),
            };
            match &r.alting {
                Outcome::Measured(s) => {
                    let ratio = r.plain.stats().map_or(f64::NAN, |p| s.ns_per_episode / p.ns_per_episode);
                    let mark = if s.few_samples() { "†" } else { "" };
                    let _ = writeln!(
                        t,
                        "| {} | **{}**{mark} | {} | {} | {:.2} | {pn} | {pc} | {} | {jcsp} |",
                        r.n,
                        fmt_ns(s.ns_per_episode),
                        fmt_ns(s.p50),
                        fmt_ns(s.p99),
                        s.cpu_us_per_episode,
                        fmt_ratio(ratio)
                    );
                }
                o => {
                    let _ = writeln!(
                        t,
                        "| {} | {}: {} | | | | {pn} | {pc} | | {jcsp} |",
                        r.n,
                        outcome_word(o),
                        outcome_why(o)
                    );
                }
            }
        }
        let _ = writeln!(t, "\nAlting section: {:.0} s.", a.elapsed_s);
        t
    }

    /// The whole Markdown report.
    pub fn markdown(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "Machine: {} CPUs, {}, Linux {}; load average {:.2} at the start, {:.2} at the end. \
             Run: {} ({} episodes × {} repetitions per configuration, interleaved; time budget {} ms per \
             repetition; conditions: {}), {:.0} s.\n",
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.kernel,
            self.machine.load_at_start,
            self.load_at_end,
            if self.quick { "quick" } else { "full" },
            self.episodes,
            self.reps,
            self.budget_ms,
            self.hogs.iter().map(|&k| condition_name(k)).collect::<Vec<_>>().join(", "),
            self.elapsed_s
        );
        t.push_str("### Targets (issue 9; reported, not asserted)\n\n");
        t.push_str(&self.targets());
        let panels = self.panels();
        for &(hogs, sc) in &panels {
            let what = if hogs == 0 {
                "quiet machine".to_string()
            } else {
                format!("{hogs} busy-loop processes beside (`--hogs {hogs}`)")
            };
            let _ = writeln!(
                t,
                "\n### {} — {what}: ns per episode (median over repetitions); (×) = system ÷ Muster, above 1 means \
                 Muster is faster\n",
                sc.name()
            );
            t.push_str(&self.summary_table(hogs, sc));
        }
        if !panels.is_empty() {
            t.push_str(
                "\n`†` = the time budget stopped repetitions after fewer than 100 episodes: a rough number. A \
                 baseline whose first repetition took over 1 ms per episode *collapsed*: it is not repeated (see the \
                 detail tables), and over 10 ms per episode (or a watchdog timeout) it is not run at larger N of that \
                 table either; Muster always runs every repetition. Thread-based systems (muster-heap, std, libgomp, libomp) are compared with Muster across \
                 processes too.\n",
            );
        }
        if self.alting.is_some() {
            t.push_str("\n### Alting barriers across processes: Goldsmith events/s and `sync` cost\n\n");
            t.push_str(&self.alting_section());
        }
        t.push_str("\n### Where Muster loses in this run\n\n");
        t.push_str(&self.losses());
        t.push_str("\n### Reference\n\n");
        t.push_str(&self.reference());
        let mut conds: Vec<usize> = panels.iter().map(|p| p.0).collect();
        conds.dedup();
        for hogs in conds {
            let _ = writeln!(
                t,
                "\n### Detail, {}\n\nMedian and spread over the repetitions (min–max, interquartile range). \
                 Latency = per episode, from the last party's arrival to the last party's return (max exit − max \
                 entry timestamp), over all repetitions. CPU = user + system time of all parties (and the broker's \
                 coordinator; not the hogs) per episode, median over repetitions.\n",
                condition_name(hogs)
            );
            t.push_str(&self.detail_table(hogs));
        }
        t
    }
}
