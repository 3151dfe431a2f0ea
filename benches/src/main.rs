//! `muster-bench`: the cross-process barrier harness.
//!
//! For every load condition (quiet, or `--hogs K` busy processes beside), scenario and party count
//! N, the harness starts fresh workers for every system (N copies of this binary with a hidden
//! `--worker` role, one copy running N threads, or a C helper), which then meet at the barrier E
//! times per repetition, R repetitions, interleaved: repetition r of every system in turn, round
//! after round, so a drift of the machine hits all alike. It reports ns per episode (median and
//! spread over repetitions), per-episode latency percentiles (hdrhistogram), and CPU time per
//! episode, plus two references measured in the same run: the cache-line round trip between two
//! processes and the CPU an idle Muster waiter burns, and checks the targets. Output:
//! Markdown on stdout and in `table.md`, JSON (serde), SVG.
//!
//! Run `muster-bench --help` or see `BENCHMARKS.md`.

mod alting;
mod baselines;
mod cli;
mod clock;
mod ctl;
mod external;
mod gate;
mod hogs;
mod muster_sys;
mod report;
mod report_json;
mod run;
mod stats;
mod svg;
mod systems;
mod targets;
mod worker;

use alting::{AltingReport, GoldConfig, SyncRow};
use cli::Options;
use report::{Machine, Report, Row};
use stats::Outcome;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use systems::{Kind, Scenario, System};

/// UTC "YYYY-MM-DD HH:MM UTC" from the system clock (civil-from-days, no dependencies).
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

fn show(o: &Outcome) -> String {
    match o {
        Outcome::Measured(s) => {
            let cap = if s.collapsed {
                format!(" (collapsed: {} episodes, > 1 ms each; not repeated)", s.min_episodes())
            } else if s.capped() {
                format!(" (capped: {} episodes)", s.min_episodes())
            } else {
                "".into()
            };
            format!(
                "{} [{}–{}], p99 {}, {:.2} µs CPU{cap}",
                report::fmt_ns(s.ns_per_episode),
                report::fmt_ns(s.min_ns),
                report::fmt_ns(s.max_ns),
                report::fmt_ns(s.p99),
                s.cpu_us_per_episode
            )
        }
        Outcome::Skipped(w) => format!("skipped: {w}"),
        Outcome::Failed(w) => format!("FAILED: {w}"),
    }
}

fn harness(opts: &Options) -> Result<(), String> {
    let start = Instant::now();
    run::sweep_stale();
    let cal = clock::Calibration::measure();
    let want = |s: System| !opts.alting_only && opts.systems.contains(&s);
    let helpers = external::Helpers::prepare(
        &opts.out_dir.join("bin"),
        want(System::Omp),
        want(System::LibOmp),
        opts.systems.iter().any(|s| s.kind() == Kind::Mpi) && !opts.alting_only,
    );
    let mut notes = vec![];
    if let (true, Err(e)) = (want(System::Omp), &helpers.gomp) {
        notes.push(format!("libgomp skipped: {e}"));
    }
    if let (true, Err(e)) = (want(System::LibOmp), &helpers.libomp) {
        notes.push(format!("libomp skipped: {e}"));
    }
    match (&helpers.mpi, want(System::Mpi)) {
        (Err(e), true) => notes.push(format!("MPI skipped: {e} (scripts/bench.sh installs Open MPI)")),
        (Ok(m), true) => notes.push(format!("MPI: {} (mpirun --oversubscribe --bind-to none)", m.version)),
        _ => {}
    }
    let machine = Machine::detect();
    eprintln!(
        "muster-bench: {} CPUs, load {:.2}; {}; {} episodes × {} reps (interleaved), budget {} ms/rep; alting: {}",
        machine.cpus,
        machine.load_at_start,
        if opts.alting_only {
            "no sweep (--alting-only)".to_string()
        } else {
            format!(
                "{} systems × N in {:?} × conditions {}",
                opts.systems.len(),
                opts.ns,
                opts.hogs
                    .iter()
                    .map(|&k| format!(
                        "{} ({})",
                        report::condition_name(k),
                        opts.scenarios_for(k).iter().map(|s| s.name()).collect::<Vec<_>>().join("+")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        opts.episodes,
        opts.reps,
        opts.budget_ms,
        if opts.alting {
            format!(
                "Goldsmith {} windows × {} ms (free, pinned), sync N in {:?}",
                opts.reps,
                opts.goldsmith_ms,
                alting::PARTIES
            )
        } else {
            "off".to_string()
        }
    );
    let mut runner = run::Runner::new(opts, cal, helpers)?;
    let round_trip = opts.reference.then(|| runner.pingpong());
    if let Some(Ok(rt)) = &round_trip {
        eprintln!("  cache-line round trip: {}", report::fmt_ns(rt.median_ns));
    }
    let handoff = opts.reference.then(|| runner.handoff());
    if let Some(Ok(h)) = &handoff {
        eprintln!(
            "  CPU hand-off between two processes (sched_yield, one CPU): {}",
            report::fmt_ns(h.per_handoff_ns())
        );
    }
    let idle = (opts.reference && opts.systems.contains(&System::Muster)).then(|| runner.idle());
    let mut results = vec![];
    // A baseline that collapsed hard (over 10 ms per episode) or timed out at some N is not run at
    // larger N of the same condition and scenario: it would only collapse harder, at the
    // watchdog's pace.
    let mut collapsed: HashMap<(usize, Scenario, System), (usize, String)> = HashMap::new();
    let conditions = if opts.alting_only { &[][..] } else { &opts.hogs[..] };
    for &hogs in conditions {
        for &scenario in opts.scenarios_for(hogs) {
            for &n in &opts.ns {
                let t = Instant::now();
                let skip = |sys: System| {
                    collapsed.get(&(hogs, scenario, sys)).map(|(at, why)| format!("not run: {why} at N={at}"))
                };
                let outcomes = runner.run_group(&opts.systems, scenario, n, hogs, &skip);
                let took = t.elapsed().as_secs_f64();
                for (&system, outcome) in opts.systems.iter().zip(outcomes) {
                    eprintln!(
                        "  {:<9} {:<6} N={n:<3} {:<13} {}",
                        report::condition_name(hogs),
                        scenario.name(),
                        system.name(),
                        show(&outcome)
                    );
                    let why = match &outcome {
                        Outcome::Measured(s) if s.collapsed && s.ns_per_episode > stats::SKIP_LARGER_NS => {
                            Some(format!("collapsed ({} per episode)", report::fmt_ns(s.ns_per_episode)))
                        }
                        Outcome::Failed(w) if w.contains("timed out") => Some("timed out".to_string()),
                        _ => None,
                    };
                    let baseline = !matches!(system, System::Muster | System::MusterHeap);
                    if let (true, Some(why)) = (baseline, why) {
                        collapsed.entry((hogs, scenario, system)).or_insert((n, why));
                    }
                    results.push(Row { hogs, scenario, n, system, outcome });
                }
                eprintln!("  [{} {} N={n}: {took:.1} s]", report::condition_name(hogs), scenario.name());
            }
        }
    }
    let alting = opts.alting.then(|| alting_section(&mut runner, &results));
    let report = Report {
        command: opts.command.clone(),
        date: utc_now(),
        machine,
        cal,
        quick: opts.quick,
        episodes: opts.episodes,
        reps: opts.reps,
        budget_ms: opts.budget_ms,
        hogs: opts.hogs.clone(),
        round_trip,
        handoff,
        idle,
        results,
        alting,
        notes,
        elapsed_s: start.elapsed().as_secs_f64(),
        load_at_end: report::load1(),
    };
    let md = report.markdown();
    print!("{md}");
    let _ = std::io::stdout().flush();
    eprint!("{}", report.targets_text());
    write_file(&opts.table, &md)?;
    let json = serde_json::to_string_pretty(&report.json()).map_err(|e| format!("JSON: {e}"))?;
    write_file(&opts.json, &(json + "\n"))?;
    write_file(&opts.svg, &svg::render(&report))?;
    eprintln!(
        "muster-bench: wrote {}, {}, {} in {:.1} s",
        opts.table.display(),
        opts.json.display(),
        opts.svg.display(),
        report.elapsed_s
    );
    Ok(())
}

/// Goldsmith (free and pinned, under every load condition) and the alting sync cost at N = 2, 4,
/// 8 next to the plain barrier (the quiet sweep's plain `muster` row where it has one, else
/// measured here).
fn alting_section(runner: &mut run::Runner, results: &[Row]) -> AltingReport {
    let t0 = Instant::now();
    let window_ms = runner.opts.goldsmith_ms;
    let mut goldsmith = vec![];
    for &hogs in &runner.opts.hogs.clone() {
        for cfg in GoldConfig::ALL {
            let t = Instant::now();
            let r = runner.goldsmith(cfg, window_ms, hogs);
            let what = match &r {
                Ok(g) => format!(
                    "{:.0} events/s (a/b/c {:.0}/{:.0}/{:.0} %), {:.2} µs CPU/event",
                    g.events_per_s,
                    100.0 * g.shares[0],
                    100.0 * g.shares[1],
                    100.0 * g.shares[2],
                    g.cpu_us_per_event
                ),
                Err(e) => format!("FAILED: {e}"),
            };
            eprintln!(
                "  {:<9} alting goldsmith {:<12} {what}  [{:.1} s]",
                report::condition_name(hogs),
                cfg.name(),
                t.elapsed().as_secs_f64()
            );
            goldsmith.push((hogs, cfg, r));
        }
    }
    let mut sync = vec![];
    for n in alting::PARTIES {
        let t = Instant::now();
        let a = runner.alting_sync(n);
        let from_sweep = results
            .iter()
            .find(|r| r.hogs == 0 && r.scenario == Scenario::Plain && r.n == n && r.system == System::Muster)
            .filter(|r| r.outcome.stats().is_some())
            .map(|r| r.outcome.clone());
        let plain_from_sweep = from_sweep.is_some();
        let plain = from_sweep.unwrap_or_else(|| {
            runner.run_group(&[System::Muster], Scenario::Plain, n, 0, &|_| None).pop().expect("one system")
        });
        eprintln!(
            "  quiet     alting sync N={n:<3} alting {}; plain {}{}  [{:.1} s]",
            show(&a),
            show(&plain),
            if plain_from_sweep { " (sweep)" } else { "" },
            t.elapsed().as_secs_f64()
        );
        sync.push(SyncRow { n, alting: a, plain, plain_from_sweep });
    }
    AltingReport { goldsmith, sync, window_ms, elapsed_s: t0.elapsed().as_secs_f64() }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--worker") {
        std::process::exit(worker::worker_main(&args));
    }
    if args.first().is_some_and(|a| a == "--hog") {
        std::process::exit(hogs::hog_main());
    }
    let opts = match Options::parse(&args) {
        Ok(Some(o)) => o,
        Ok(None) => return,
        Err(e) => {
            eprintln!("muster-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = harness(&opts) {
        eprintln!("muster-bench: {e}");
        std::process::exit(1);
    }
}
