//! Command-line options of the harness (clap, derive).

use crate::systems::{Scenario, System};
use clap::Parser;
use std::path::PathBuf;

fn system(s: &str) -> Result<System, String> {
    System::parse(s).ok_or_else(|| {
        let all: Vec<&str> = System::ALL.iter().map(|s| s.name()).collect();
        format!("unknown system '{s}' (one of {})", all.join(", "))
    })
}

fn scenario(s: &str) -> Result<Scenario, String> {
    Scenario::parse(s).ok_or_else(|| format!("unknown scenario '{s}' (plain or phased)"))
}

/// N processes (or threads) meet at a barrier E times per repetition, R repetitions, for Muster
/// and its baselines, interleaved (repetition r of every system in turn); prints a Markdown report
/// and writes JSON and an SVG plot.
#[derive(Parser, Debug)]
#[command(name = "muster-bench")]
struct Args {
    /// The short run (< 60 s on 2 cores), still every system and every N
    #[arg(long)]
    quick: bool,
    /// Party counts
    #[arg(long, value_delimiter = ',', default_value = "2,4,8,16")]
    n: Vec<usize>,
    /// Systems to measure (default: all): muster, muster-heap, pthread, sem, broker, std, spin,
    /// spin-yield, dissemination, libgomp (or omp), libomp, mpi
    #[arg(long, value_delimiter = ',', value_parser = system)]
    systems: Option<Vec<System>>,
    /// Scenarios of the quiet sweep: plain, phased (random 0-20 us busy work per episode)
    #[arg(long, value_delimiter = ',', value_parser = scenario, default_value = "plain,phased")]
    scenarios: Vec<Scenario>,
    /// Load conditions: for each K, the sweep and Goldsmith run with K busy-loop processes
    /// beside (started before and killed after each configuration); 0 = quiet. E.g. 0,2
    #[arg(long, value_delimiter = ',', default_value = "0")]
    hogs: Vec<usize>,
    /// Scenarios of the sweep under hogs (K > 0)
    #[arg(long, value_delimiter = ',', value_parser = scenario, default_value = "plain")]
    hog_scenarios: Vec<Scenario>,
    /// Episodes per repetition phase [quick 4000, full 20000]
    #[arg(long)]
    episodes: Option<u64>,
    /// Repetitions per configuration, at most 16 [quick 3, full 5]
    #[arg(long)]
    reps: Option<usize>,
    /// Time budget per repetition; a repetition stops early once it is spent [quick 40, full 250]
    #[arg(long)]
    budget_ms: Option<u64>,
    /// JSON results [default: benches/out/results.json]
    #[arg(long)]
    json: Option<PathBuf>,
    /// Plot of ns/episode vs N [default: benches/out/barrier.svg]
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Markdown report [default: benches/out/table.md]
    #[arg(long)]
    table: Option<PathBuf>,
    /// Skip the cache-line round trip and the idle-waiter measurement
    #[arg(long)]
    no_reference: bool,
    /// Skip the alting section (Goldsmith events/s, alting sync cost)
    #[arg(long, conflicts_with = "alting_only")]
    no_alting: bool,
    /// Only the alting section (with Muster's plain barrier at N = 2, 4, 8)
    #[arg(long)]
    alting_only: bool,
    /// Length of one Goldsmith repetition window [quick 150, full 600]
    #[arg(long)]
    goldsmith_ms: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub quick: bool,
    pub ns: Vec<usize>,
    pub systems: Vec<System>,
    pub scenarios: Vec<Scenario>,
    /// Load conditions (busy-loop processes beside; 0 = quiet), in the order run.
    pub hogs: Vec<usize>,
    pub hog_scenarios: Vec<Scenario>,
    pub episodes: u64,
    pub reps: usize,
    pub budget_ms: u64,
    pub json: PathBuf,
    pub svg: PathBuf,
    pub table: PathBuf,
    pub out_dir: PathBuf,
    pub reference: bool,
    /// Run the alting section; only it (no sweep, no references).
    pub alting: bool,
    pub alting_only: bool,
    pub goldsmith_ms: u64,
    pub pingpong_iters: u64,
    pub seed: u64,
    /// The command line, for the report.
    pub command: String,
}

/// At most this many hogs (a typo like `--hogs 20` would otherwise freeze a small machine).
pub const MAX_HOGS: usize = 64;

impl Options {
    /// Parses the arguments (without the program name). `Ok(None)`: help or version was printed.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let a = match Args::try_parse_from(std::iter::once("muster-bench").chain(args.iter().map(String::as_str))) {
            Ok(a) => a,
            Err(e)
                if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) =>
            {
                print!("{e}");
                return Ok(None);
            }
            Err(e) => return Err(e.render().to_string().trim_end().trim_start_matches("error: ").to_string()),
        };
        let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("out");
        let q = a.quick;
        let mut hogs = a.hogs;
        hogs.dedup();
        let o = Options {
            quick: q,
            ns: a.n,
            systems: a.systems.unwrap_or_else(|| System::ALL.to_vec()),
            scenarios: a.scenarios,
            hogs,
            hog_scenarios: a.hog_scenarios,
            episodes: a.episodes.unwrap_or(if q { 4000 } else { 20_000 }),
            reps: a.reps.unwrap_or(if q { 3 } else { 5 }),
            budget_ms: a.budget_ms.unwrap_or(if q { 40 } else { 250 }),
            json: a.json.unwrap_or_else(|| out_dir.join("results.json")),
            svg: a.svg.unwrap_or_else(|| out_dir.join("barrier.svg")),
            table: a.table.unwrap_or_else(|| out_dir.join("table.md")),
            out_dir,
            reference: !a.no_reference && !a.alting_only,
            alting: !a.no_alting,
            alting_only: a.alting_only,
            goldsmith_ms: a.goldsmith_ms.unwrap_or(if q { 150 } else { 600 }),
            pingpong_iters: if q { 50_000 } else { 200_000 },
            seed: 0x5eed_1234_abcd_0001,
            command: std::iter::once("muster-bench")
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        };
        if o.ns.is_empty() || o.ns.iter().any(|&n| !(2..=crate::ctl::MAX_N).contains(&n)) {
            return Err(format!("--n: party counts must be within 2..={}", crate::ctl::MAX_N));
        }
        if !(1..=crate::ctl::MAX_REPS).contains(&o.reps) {
            return Err(format!("--reps must be within 1..={}", crate::ctl::MAX_REPS));
        }
        if o.episodes == 0 || o.systems.is_empty() || o.scenarios.is_empty() || o.hogs.is_empty() {
            return Err("--episodes, --systems, --scenarios and --hogs must not be empty".into());
        }
        if o.hogs.iter().any(|&k| k > MAX_HOGS) {
            return Err(format!("--hogs: at most {MAX_HOGS} busy processes"));
        }
        if o.goldsmith_ms == 0 || o.goldsmith_ms > 60_000 {
            return Err("--goldsmith-ms must be within 1..=60000".into());
        }
        Ok(Some(o))
    }

    /// The scenarios of the sweep under `hogs` busy processes.
    pub fn scenarios_for(&self, hogs: usize) -> &[Scenario] {
        if hogs == 0 {
            &self.scenarios
        } else {
            &self.hog_scenarios
        }
    }
}
