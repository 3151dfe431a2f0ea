//! `muster-bench`: the cross-process barrier harness.
//!
//! For every system, scenario and party count N, the harness starts fresh workers (N copies of this
//! binary with a hidden `--worker` subcommand, one copy running N threads, or a C helper), which
//! meet at the barrier E times per repetition, R repetitions. It reports ns per episode (median
//! over repetitions), per-episode latency percentiles, and CPU time per episode, plus two
//! references measured in the same run: the cache-line round trip between two processes and the
//! CPU an idle Muster waiter burns. Output: Markdown tables on stdout and in `table.md`, JSON, SVG.
//!
//! Run `muster-bench --help` or see `BENCHMARKS.md`.

mod alting;
mod baselines;
mod cli;
mod clock;
mod ctl;
mod external;
mod json;
mod muster_sys;
mod report;
mod run;
mod stats;
mod svg;
mod systems;
mod worker;

use alting::{AltingReport, GoldConfig, SyncRow};
use cli::Options;
use report::{Machine, Report, Row};
use stats::Outcome;
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

fn harness(opts: &Options) -> Result<(), String> {
    let start = Instant::now();
    run::sweep_stale();
    let cal = clock::Calibration::measure();
    let want = |k: Kind| !opts.alting_only && opts.systems.iter().any(|s| s.kind() == k);
    let helpers = external::Helpers::prepare(&opts.out_dir.join("bin"), want(Kind::Omp), want(Kind::Mpi));
    let mut notes = vec![];
    if let (true, Err(e)) = (want(Kind::Omp), &helpers.omp) {
        notes.push(format!("OpenMP skipped: {e}"));
    }
    match (&helpers.mpi, want(Kind::Mpi)) {
        (Err(e), true) => notes.push(format!("MPI skipped: {e} (scripts/bench.sh installs Open MPI)")),
        (Ok(m), true) => notes.push(format!("MPI: {} (mpirun --oversubscribe --bind-to none)", m.version)),
        _ => {}
    }
    let machine = Machine::detect();
    eprintln!(
        "muster-bench: {} CPUs; {}; {} episodes × {} reps, budget {} ms/rep; alting: {}",
        machine.cpus,
        if opts.alting_only {
            "no sweep (--alting-only)".to_string()
        } else {
            format!("{} systems × {} scenarios × N in {:?}", opts.systems.len(), opts.scenarios.len(), opts.ns)
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
    let idle = (opts.reference && opts.systems.contains(&System::Muster)).then(|| runner.idle());
    let mut results = vec![];
    let sweep = if opts.alting_only { &[][..] } else { &opts.scenarios[..] };
    for &scenario in sweep {
        for &n in &opts.ns {
            for &system in &opts.systems {
                let t = Instant::now();
                let outcome = runner.run(system, scenario, n);
                let what = match &outcome {
                    Outcome::Measured(s) => {
                        let cap =
                            if s.capped() { format!(" (capped: {} episodes)", s.min_episodes()) } else { "".into() };
                        format!("{}, p99 {}{cap}", report::fmt_ns(s.ns_per_episode), report::fmt_ns(s.p99))
                    }
                    Outcome::Skipped(w) => format!("skipped: {w}"),
                    Outcome::Failed(w) => format!("FAILED: {w}"),
                };
                eprintln!(
                    "  {:<6} N={n:<3} {:<12} {what}  [{:.1} s]",
                    scenario.name(),
                    system.name(),
                    t.elapsed().as_secs_f64()
                );
                results.push(Row { scenario, n, system, outcome });
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
        round_trip,
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
    write_file(&opts.table, &md)?;
    write_file(&opts.json, &report.json().pretty())?;
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

/// Goldsmith (free and pinned) and the alting sync cost at N = 2, 4, 8 next to the plain barrier
/// (the sweep's plain `muster` row where it has one, else measured here).
fn alting_section(runner: &mut run::Runner, results: &[Row]) -> AltingReport {
    let t0 = Instant::now();
    let window_ms = runner.opts.goldsmith_ms;
    let mut goldsmith = vec![];
    for cfg in GoldConfig::ALL {
        let t = Instant::now();
        let r = runner.goldsmith(cfg, window_ms);
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
        eprintln!("  alting goldsmith {:<12} {what}  [{:.1} s]", cfg.name(), t.elapsed().as_secs_f64());
        goldsmith.push((cfg, r));
    }
    let mut sync = vec![];
    for n in alting::PARTIES {
        let t = Instant::now();
        let a = runner.alting_sync(n);
        let from_sweep = results
            .iter()
            .find(|r| r.scenario == Scenario::Plain && r.n == n && r.system == System::Muster)
            .filter(|r| r.outcome.stats().is_some())
            .map(|r| r.outcome.clone());
        let plain_from_sweep = from_sweep.is_some();
        let plain = from_sweep.unwrap_or_else(|| runner.run(System::Muster, Scenario::Plain, n));
        let show = |o: &Outcome| match o {
            Outcome::Measured(s) => format!("{}, p99 {}", report::fmt_ns(s.ns_per_episode), report::fmt_ns(s.p99)),
            Outcome::Skipped(w) => format!("skipped: {w}"),
            Outcome::Failed(w) => format!("FAILED: {w}"),
        };
        eprintln!(
            "  alting sync N={n:<3} alting {}; plain {}{}  [{:.1} s]",
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
