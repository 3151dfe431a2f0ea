//! The report: Markdown tables (stdout and `table.md`), the targets check, and JSON.

use crate::alting::{self, AltingReport};
use crate::clock::Calibration;
use crate::json::Json;
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
    pub round_trip: Option<Result<RoundTrip, String>>,
    pub idle: Option<Result<Idle, String>>,
    pub results: Vec<Row>,
    /// The alting section (`None`: not run).
    pub alting: Option<AltingReport>,
    pub notes: Vec<String>,
    pub elapsed_s: f64,
    pub load_at_end: f64,
}

pub struct Row {
    pub scenario: Scenario,
    pub n: usize,
    pub system: System,
    pub outcome: Outcome,
}

pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// `/proc/loadavg`'s 1-minute load when the run started (other work on the machine skews results).
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

fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Measured(_) => "measured",
        Outcome::Skipped(_) => "skipped",
        Outcome::Failed(_) => "FAILED",
    }
}

fn outcome_why(o: &Outcome) -> String {
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

fn stats_json(s: &Stats) -> Json {
    Json::obj([
        ("ns_per_episode", Json::Num(s.ns_per_episode)),
        ("rep_ns_per_episode", Json::Arr(s.rep_ns.iter().map(|&v| Json::Num(v)).collect())),
        ("latency_p50_ns", Json::Num(s.p50)),
        ("latency_p99_ns", Json::Num(s.p99)),
        ("latency_p999_ns", Json::Num(s.p999)),
        ("cpu_us_per_episode", Json::Num(s.cpu_us_per_episode)),
        ("episodes_per_rep", Json::Arr(s.episodes.iter().map(|&v| Json::Num(v as f64)).collect())),
        ("episodes_requested", Json::Num(s.requested as f64)),
        ("capped", Json::Bool(s.capped())),
    ])
}

fn outcome_json(o: &Outcome) -> Json {
    match o {
        Outcome::Measured(s) => Json::obj([("status", Json::Str("measured".into())), ("result", stats_json(s))]),
        Outcome::Skipped(w) => Json::obj([("status", Json::Str("skipped".into())), ("reason", Json::Str(w.clone()))]),
        Outcome::Failed(w) => Json::obj([("status", Json::Str("failed".into())), ("reason", Json::Str(w.clone()))]),
    }
}

fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "–".into()
    } else if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}

impl Report {
    fn find(&self, sc: Scenario, n: usize, sys: System) -> Option<&Stats> {
        self.results.iter().find(|r| r.scenario == sc && r.n == n && r.system == sys).and_then(|r| r.outcome.stats())
    }

    fn scenarios(&self) -> Vec<Scenario> {
        let mut v: Vec<Scenario> = vec![];
        for r in &self.results {
            if !v.contains(&r.scenario) {
                v.push(r.scenario);
            }
        }
        v
    }

    fn ns_list(&self, sc: Scenario) -> Vec<usize> {
        let mut v: Vec<usize> = self.results.iter().filter(|r| r.scenario == sc).map(|r| r.n).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn systems(&self) -> Vec<System> {
        let mut v: Vec<System> = self.results.iter().map(|r| r.system).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Ratio of `sys`'s ns/episode to Muster's (processes) in the same configuration.
    fn vs_muster(&self, sc: Scenario, n: usize, s: &Stats) -> f64 {
        self.find(sc, n, System::Muster).map_or(f64::NAN, |m| s.ns_per_episode / m.ns_per_episode)
    }

    /// The summary table: one row per configuration, one column per system.
    pub fn summary_table(&self) -> String {
        let systems = self.systems();
        let mut t = String::new();
        let _ = writeln!(t, "| scenario | N | {} |", systems.iter().map(|s| s.name()).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(t, "|---|--:|{}", "--:|".repeat(systems.len()));
        for sc in self.scenarios() {
            for n in self.ns_list(sc) {
                let cells: Vec<String> = systems
                    .iter()
                    .map(|&sys| {
                        let row = self.results.iter().find(|r| r.scenario == sc && r.n == n && r.system == sys);
                        match row.map(|r| &r.outcome) {
                            Some(Outcome::Measured(s)) => {
                                let mark = if s.few_samples() { "†" } else { "" };
                                if sys == System::Muster {
                                    format!("**{}**{mark}", fmt_ns(s.ns_per_episode))
                                } else {
                                    format!(
                                        "{}{mark} ({})",
                                        fmt_ns(s.ns_per_episode),
                                        fmt_ratio(self.vs_muster(sc, n, s))
                                    )
                                }
                            }
                            Some(Outcome::Failed(_)) => "failed".into(),
                            Some(Outcome::Skipped(_)) => "skipped".into(),
                            None => "".into(),
                        }
                    })
                    .collect();
                let _ = writeln!(t, "| {} | {n} | {} |", sc.name(), cells.join(" | "));
            }
        }
        t
    }

    /// The detail table: one row per (configuration, system).
    pub fn detail_table(&self) -> String {
        let mut t = String::new();
        t.push_str(
            "| scenario | N | system | ns/episode | p50 | p99 | p99.9 | CPU µs/episode | ÷ Muster | episodes/rep |\n",
        );
        t.push_str("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|\n");
        for r in &self.results {
            let (sc, n) = (r.scenario.name(), r.n);
            match &r.outcome {
                Outcome::Measured(s) => {
                    let eps = if s.capped() {
                        format!("{} of {} (time cap)", s.min_episodes(), s.requested)
                    } else {
                        s.requested.to_string()
                    };
                    let _ = writeln!(
                        t,
                        "| {sc} | {n} | {} | {} | {} | {} | {} | {:.2} | {} | {eps} |",
                        r.system.name(),
                        fmt_ns(s.ns_per_episode),
                        fmt_ns(s.p50),
                        fmt_ns(s.p99),
                        fmt_ns(s.p999),
                        s.cpu_us_per_episode,
                        fmt_ratio(self.vs_muster(r.scenario, n, s)),
                    );
                }
                Outcome::Skipped(why) | Outcome::Failed(why) => {
                    let what = if matches!(r.outcome, Outcome::Skipped(_)) { "skipped" } else { "FAILED" };
                    let _ = writeln!(t, "| {sc} | {n} | {} | {what}: {why} | | | | | | |", r.system.name());
                }
            }
        }
        t
    }

    /// The reference measurements and notes, as a Markdown list.
    pub fn reference(&self) -> String {
        let mut t = String::new();
        match &self.round_trip {
            Some(Ok(rt)) => {
                let _ = writeln!(
                    t,
                    "- Cache-line round trip between two processes (ping-pong on one shared word): **{}** \
                     (median over repetitions of {} round trips; single round trips p50 {}, p99 {})",
                    fmt_ns(rt.median_ns),
                    rt.iterations,
                    fmt_ns(rt.p50),
                    fmt_ns(rt.p99)
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(t, "- Cache-line round trip: FAILED: {e}");
            }
            None => {}
        }
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
             no per-episode clock reads; the latency percentiles from a second phase in which every party reads \
             the clock before and after each wait",
            if cfg!(target_arch = "x86_64") { "lfence + rdtsc" } else { "CLOCK_MONOTONIC" },
            self.cal.ticks_per_ns,
            self.cal.read_ns
        );
        if self.alting.is_none() {
            let _ = writeln!(t, "- Alting barriers: {}", alting::status_skipped());
        }
        for n in &self.notes {
            let _ = writeln!(t, "- {n}");
        }
        t
    }

    /// Targets from the brief, reported (not asserted) against this run's plain-scenario numbers.
    pub fn targets(&self) -> String {
        let mut t = String::from("| target | measured | met |\n|---|---|---|\n");
        let mut row = |what: String, measured: String, ok: Option<bool>| {
            let met = match ok {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "n/a",
            };
            let _ = writeln!(t, "| {what} | {measured} | {met} |");
        };
        let sc = Scenario::Plain;
        let rt = self.round_trip.as_ref().and_then(|r| r.as_ref().ok());
        if let Some(m2) = self.find(sc, 2, System::Muster) {
            if let Some(rt) = rt {
                let r = m2.ns_per_episode / rt.median_ns;
                row(
                    "N=2 median ≤ 1.5× cache-line round trip".into(),
                    format!("{} = {r:.2}× of {}", fmt_ns(m2.ns_per_episode), fmt_ns(rt.median_ns)),
                    Some(r <= 1.5),
                );
            }
            row("N=2 p99 ≤ 250 ns".into(), fmt_ns(m2.p99), Some(m2.p99 <= 250.0));
            if let Some(p) = self.find(sc, 2, System::Pthread) {
                let r = p.ns_per_episode / m2.ns_per_episode;
                row("N=2 ≥ 100× faster than pthread".into(), fmt_ratio(r), Some(r >= 100.0));
            }
        }
        for n in [8, 16] {
            let Some(m) = self.find(sc, n, System::Muster) else { continue };
            let best = System::ALL
                .iter()
                .filter(|&&s| s != System::Muster && s != System::MusterHeap)
                .filter_map(|&s| self.find(sc, n, s).map(|st| (s, st)))
                .min_by(|a, b| a.1.ns_per_episode.total_cmp(&b.1.ns_per_episode));
            if let Some((bs, b)) = best {
                row(
                    format!("N={n} at least as fast as the best baseline"),
                    format!("Muster {} vs {} {}", fmt_ns(m.ns_per_episode), bs.name(), fmt_ns(b.ns_per_episode)),
                    Some(m.ns_per_episode <= b.ns_per_episode),
                );
            }
            if let Some(p) = self.find(sc, n, System::Pthread) {
                let r = p.ns_per_episode / m.ns_per_episode;
                row(format!("N={n} ≥ 3× faster than pthread"), fmt_ratio(r), Some(r >= 3.0));
                row(
                    format!("N={n} CPU/episode ≤ pthread's"),
                    format!("{:.2} µs vs {:.2} µs", m.cpu_us_per_episode, p.cpu_us_per_episode),
                    Some(m.cpu_us_per_episode <= p.cpu_us_per_episode),
                );
            }
        }
        if let Some(a) = &self.alting {
            for (cfg, g) in &a.goldsmith {
                let what = format!(
                    "Goldsmith ≥ {} events/s ({}; 10× JCSP's best {})",
                    fmt_int(alting::TARGET_EVENTS_PER_S),
                    cfg.label(),
                    fmt_int(alting::JCSP_GOLDSMITH_PINNED)
                );
                match g {
                    Ok(g) => row(
                        what,
                        format!("{} events/s", fmt_int(g.events_per_s)),
                        Some(g.events_per_s >= alting::TARGET_EVENTS_PER_S),
                    ),
                    Err(e) => row(what, format!("FAILED: {e}"), Some(false)),
                }
            }
        }
        if let Some(Ok(i)) = &self.idle {
            row(
                "waiter blocked 1 s uses < 1 % of a core".into(),
                format!("{:.3} %", 100.0 * i.core_share()),
                Some(i.core_share() < 0.01),
            );
        }
        t
    }

    /// Every configuration where a baseline beats Muster (processes) on time, or pthread on CPU,
    /// or where Muster did not produce a number. Generated, so the report can't gloss over it.
    pub fn losses(&self) -> String {
        let mut t = String::new();
        for sc in self.scenarios() {
            for n in self.ns_list(sc) {
                let row = self.results.iter().find(|r| r.scenario == sc && r.n == n && r.system == System::Muster);
                let m = match row.map(|r| &r.outcome) {
                    Some(Outcome::Measured(m)) => m,
                    Some(Outcome::Failed(w)) | Some(Outcome::Skipped(w)) => {
                        let _ = writeln!(t, "- {} N={n}: Muster produced no number: {w}", sc.name());
                        continue;
                    }
                    None => continue,
                };
                let mut faster: Vec<(System, &Stats)> = System::ALL
                    .iter()
                    .filter(|&&s| s != System::Muster && s != System::MusterHeap)
                    .filter_map(|&s| self.find(sc, n, s).map(|st| (s, st)))
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
                        "- {} N={n}: Muster {} is slower than {}",
                        sc.name(),
                        fmt_ns(m.ns_per_episode),
                        who.join(", ")
                    );
                }
                if let Some(p) = self.find(sc, n, System::Pthread) {
                    if m.cpu_us_per_episode > p.cpu_us_per_episode {
                        let _ = writeln!(
                            t,
                            "- {} N={n}: Muster uses more CPU per episode than pthread ({:.2} µs vs {:.2} µs)",
                            sc.name(),
                            m.cpu_us_per_episode,
                            p.cpu_us_per_episode
                        );
                    }
                }
            }
        }
        if let Some(a) = &self.alting {
            for (cfg, g) in &a.goldsmith {
                match g {
                    Ok(g) if g.events_per_s < alting::TARGET_EVENTS_PER_S => {
                        let _ = writeln!(
                            t,
                            "- alting, Goldsmith ({}): {} events/s, below the {} target",
                            cfg.label(),
                            fmt_int(g.events_per_s),
                            fmt_int(alting::TARGET_EVENTS_PER_S)
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = writeln!(t, "- alting, Goldsmith ({}): no number: {e}", cfg.label());
                    }
                }
            }
            for r in &a.sync {
                let Some(s) = r.alting.stats() else {
                    let _ = writeln!(t, "- alting sync N={}: no number: {}", r.n, outcome_why(&r.alting));
                    continue;
                };
                if let Some(p) = self.find(Scenario::Plain, r.n, System::Pthread) {
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
                    if p.cpu_us_per_episode < s.cpu_us_per_episode {
                        let _ = writeln!(
                            t,
                            "- alting sync N={}: uses more CPU per episode than pthread's plain barrier ({:.2} µs \
                             vs {:.2} µs)",
                            r.n, s.cpu_us_per_episode, p.cpu_us_per_episode
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

    /// The alting section: Goldsmith events/s and alting sync cost vs the plain barrier and JCSP.
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
            "| Goldsmith | events/s | windows min–max | a / b / c share | CPU µs/event | cores busy | JCSP 1.1-rc4 | \
             ÷ JCSP |\n|---|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for (cfg, g) in &a.goldsmith {
            match g {
                Ok(g) => {
                    let lo = g.rep_events_per_s.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = g.rep_events_per_s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let _ = writeln!(
                        t,
                        "| {} | **{}** | {}–{} | {:.0} / {:.0} / {:.0} % | {:.2} | {:.2} | {} | {} |",
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
                    let _ = writeln!(t, "| {} | FAILED: {e} | | | | | {} | |", cfg.label(), fmt_int(cfg.jcsp()));
                }
            }
        }
        let _ = writeln!(
            t,
            "\nTarget: ≥ {} events/s (ten times JCSP's best, {} with every thread on one CPU).\n",
            fmt_int(alting::TARGET_EVENTS_PER_S),
            fmt_int(alting::JCSP_GOLDSMITH_PINNED)
        );
        t.push_str(
            "Alting `sync`: N processes, each attached to its own front-end of one alting barrier with N front-ends, \
             call `AltingBarrier::sync()` back to back, in the same loop as the main table (validation, throughput \
             phase, latency phase). *Plain* is Muster's counted barrier (`muster`, plain scenario) at the same N: \
             the sweep's row of this run where it has one (s), else measured right after (m).\n\n",
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

    fn alting_json(&self) -> Json {
        let Some(a) = &self.alting else {
            return Json::obj([("status", Json::Str(alting::status_skipped()))]);
        };
        let gold = a
            .goldsmith
            .iter()
            .map(|(cfg, g)| {
                let body = match g {
                    Ok(g) => Json::obj([
                        ("status", Json::Str("measured".into())),
                        ("events_per_s", Json::Num(g.events_per_s)),
                        ("rep_events_per_s", Json::Arr(g.rep_events_per_s.iter().map(|&v| Json::Num(v)).collect())),
                        (
                            "shares",
                            Json::obj([
                                ("a", Json::Num(g.shares[0])),
                                ("b", Json::Num(g.shares[1])),
                                ("c", Json::Num(g.shares[2])),
                            ]),
                        ),
                        ("cpu_us_per_event", Json::Num(g.cpu_us_per_event)),
                        ("cores_busy", Json::Num(g.cores_busy)),
                        ("events", Json::Num(g.events)),
                        ("window_s", Json::Num(g.window_s)),
                        ("meets_target", Json::Bool(g.events_per_s >= alting::TARGET_EVENTS_PER_S)),
                    ]),
                    Err(e) => Json::obj([("status", Json::Str("failed".into())), ("reason", Json::Str(e.clone()))]),
                };
                Json::obj([
                    ("config", Json::Str(cfg.name().into())),
                    ("label", Json::Str(cfg.label().into())),
                    ("jcsp_events_per_s", Json::Num(cfg.jcsp())),
                    ("result", body),
                ])
            })
            .collect();
        let sync = a
            .sync
            .iter()
            .map(|r| {
                let ratio = match (r.alting.stats(), r.plain.stats()) {
                    (Some(s), Some(p)) => s.ns_per_episode / p.ns_per_episode,
                    _ => f64::NAN,
                };
                Json::obj([
                    ("n", Json::Num(r.n as f64)),
                    ("alting_sync", outcome_json(&r.alting)),
                    ("plain_barrier", outcome_json(&r.plain)),
                    ("plain_from_sweep", Json::Bool(r.plain_from_sweep)),
                    ("ratio_alting_vs_plain", Json::Num(ratio)),
                ])
            })
            .collect();
        Json::obj([
            ("status", Json::Str("measured".into())),
            ("goldsmith_window_ms", Json::Num(a.window_ms as f64)),
            ("goldsmith_reps", Json::Num(self.reps as f64)),
            ("target_goldsmith_events_per_s", Json::Num(alting::TARGET_EVENTS_PER_S)),
            (
                "jcsp_1_1_rc4_reference",
                Json::obj([
                    ("goldsmith_events_per_s", Json::Num(alting::JCSP_GOLDSMITH)),
                    ("goldsmith_pinned_one_cpu_events_per_s", Json::Num(alting::JCSP_GOLDSMITH_PINNED)),
                    ("sync_2_threads_ns_min", Json::Num(alting::JCSP_SYNC_2_NS.0)),
                    ("sync_2_threads_ns_max", Json::Num(alting::JCSP_SYNC_2_NS.1)),
                    ("source", Json::Str("the issue (not measured by this harness)".into())),
                ]),
            ),
            ("goldsmith", Json::Arr(gold)),
            ("sync", Json::Arr(sync)),
            ("elapsed_s", Json::Num(a.elapsed_s)),
        ])
    }

    /// The whole Markdown report.
    pub fn markdown(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "Machine: {} CPUs, {}, Linux {}; load average {:.2} at the start, {:.2} at the end. \
             Run: {} ({} episodes × {} repetitions per configuration, time budget {} ms per repetition), {:.0} s.\n",
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.kernel,
            self.machine.load_at_start,
            self.load_at_end,
            if self.quick { "quick" } else { "full" },
            self.episodes,
            self.reps,
            self.budget_ms,
            self.elapsed_s
        );
        let sweep = !self.results.is_empty();
        if sweep {
            t.push_str(
                "### ns per episode (median over repetitions); (×) = system ÷ Muster, above 1 means Muster is faster\n\n",
            );
            t.push_str(&self.summary_table());
            t.push_str(
                "\n`†` = the time budget stopped repetitions after fewer than 100 episodes: a rough number (see \
                 episodes/rep below; the naive spin barrier collapses once parties outnumber CPUs). Thread-based \
                 systems (muster-heap, std, omp) are compared with Muster across processes too.\n",
            );
        }
        if self.alting.is_some() {
            t.push_str("\n### Alting barriers across processes: Goldsmith events/s and `sync` cost\n\n");
            t.push_str(&self.alting_section());
        }
        t.push_str("\n### Targets (reported, not asserted; plain scenario, Goldsmith)\n\n");
        t.push_str(&self.targets());
        t.push_str("\n### Where Muster loses in this run\n\n");
        t.push_str(&self.losses());
        t.push_str("\n### Reference\n\n");
        t.push_str(&self.reference());
        if !sweep {
            return t;
        }
        t.push_str(
            "\n### Detail\n\nLatency = per episode, from the last party's arrival to the last party's return \
             (max exit − max entry timestamp), over all repetitions. CPU = user + system time of all parties \
             (and the broker's coordinator) per episode.\n\n",
        );
        t.push_str(&self.detail_table());
        t
    }

    pub fn json(&self) -> Json {
        let results = self
            .results
            .iter()
            .map(|r| {
                let (status, detail) = match &r.outcome {
                    Outcome::Measured(s) => ("measured", stats_json(s)),
                    Outcome::Skipped(w) => ("skipped", Json::obj([("reason", Json::Str(w.clone()))])),
                    Outcome::Failed(w) => ("failed", Json::obj([("reason", Json::Str(w.clone()))])),
                };
                let vs = r.outcome.stats().map_or(f64::NAN, |s| self.vs_muster(r.scenario, r.n, s));
                Json::obj([
                    ("scenario", Json::Str(r.scenario.name().into())),
                    ("n", Json::Num(r.n as f64)),
                    ("system", Json::Str(r.system.name().into())),
                    ("label", Json::Str(r.system.label().into())),
                    ("status", Json::Str(status.into())),
                    ("ratio_vs_muster", Json::Num(vs)),
                    ("result", detail),
                ])
            })
            .collect();
        let rt = match &self.round_trip {
            Some(Ok(rt)) => Json::obj([
                ("median_ns", Json::Num(rt.median_ns)),
                ("p50_ns", Json::Num(rt.p50)),
                ("p99_ns", Json::Num(rt.p99)),
                ("iterations", Json::Num(rt.iterations as f64)),
            ]),
            Some(Err(e)) => Json::obj([("error", Json::Str(e.clone()))]),
            None => Json::Null,
        };
        let idle = match &self.idle {
            Some(Ok(i)) => Json::obj([
                ("waited_ns", Json::Num(i.waited_ns)),
                ("cpu_ns", Json::Num(i.cpu_ns)),
                ("core_share", Json::Num(i.core_share())),
            ]),
            Some(Err(e)) => Json::obj([("error", Json::Str(e.clone()))]),
            None => Json::Null,
        };
        Json::obj([
            ("command", Json::Str(self.command.clone())),
            ("date", Json::Str(self.date.clone())),
            (
                "machine",
                Json::obj([
                    ("cpus", Json::Num(self.machine.cpus as f64)),
                    ("cpu_model", Json::Str(self.machine.cpu_model.clone())),
                    ("kernel", Json::Str(self.machine.kernel.clone())),
                    ("load1_at_start", Json::Num(self.machine.load_at_start)),
                    ("load1_at_end", Json::Num(self.load_at_end)),
                ]),
            ),
            ("mode", Json::Str(if self.quick { "quick" } else { "full" }.into())),
            ("episodes", Json::Num(self.episodes as f64)),
            ("reps", Json::Num(self.reps as f64)),
            ("budget_ms_per_rep", Json::Num(self.budget_ms as f64)),
            ("clock_ticks_per_ns", Json::Num(self.cal.ticks_per_ns)),
            ("clock_read_ns", Json::Num(self.cal.read_ns)),
            ("cache_line_round_trip", rt),
            ("idle_waiter", idle),
            ("alting", self.alting_json()),
            ("notes", Json::Arr(self.notes.iter().map(|n| Json::Str(n.clone())).collect())),
            ("elapsed_s", Json::Num(self.elapsed_s)),
            ("results", Json::Arr(results)),
        ])
    }
}
