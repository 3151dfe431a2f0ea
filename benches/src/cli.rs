//! Command-line options of the harness.

use crate::systems::{Scenario, System};
use std::path::PathBuf;

pub const USAGE: &str = "\
muster-bench: N processes (or threads) meet at a barrier E times, R times over, for Muster and
its baselines; prints a table and writes JSON and an SVG plot.

USAGE: muster-bench [--quick] [OPTIONS]

  --quick             the short run (< 60 s on 2 cores), still every system and every N
  --n LIST            party counts, e.g. 2,4,8,16 (default)
  --systems LIST      muster,muster-heap,pthread,sem,broker,std,spin,spin-yield,omp,mpi (default all)
  --scenarios LIST    plain,phased (default both; phased = random 0-20 us busy work per episode)
  --episodes E        episodes per repetition (quick 4000, full 40000)
  --reps R            repetitions per configuration, at most 16 (quick 3, full 5)
  --budget-ms MS      time budget per repetition; a repetition stops early once it is spent
                      (quick 60, full 600)
  --json PATH         JSON results (default benches/out/results.json)
  --svg PATH          plot of ns/episode vs N (default benches/out/barrier.svg)
  --table PATH        Markdown tables (default benches/out/table.md)
  --no-reference      skip the cache-line round trip and the idle-waiter measurement
  --no-alting         skip the alting section (Goldsmith events/s, alting sync cost)
  --alting-only       only the alting section (with Muster's plain barrier at N = 2, 4, 8)
  --goldsmith-ms MS   length of one Goldsmith repetition window (quick 150, full 1000)
  -h, --help          this text
";

#[derive(Clone, Debug)]
pub struct Options {
    pub quick: bool,
    pub ns: Vec<usize>,
    pub systems: Vec<System>,
    pub scenarios: Vec<Scenario>,
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

fn list<T>(v: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse(s.trim()).ok_or_else(|| format!("{what}: unknown value '{s}'")))
        .collect()
}

fn num<T: std::str::FromStr>(v: &str, what: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{what}: not a number: '{v}'"))
}

impl Options {
    /// Parses the arguments (without the program name). `Ok(None)`: help was printed.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("out");
        let quick = args.iter().any(|a| a == "--quick");
        let mut o = Options {
            quick,
            ns: vec![2, 4, 8, 16],
            systems: System::ALL.to_vec(),
            scenarios: vec![Scenario::Plain, Scenario::Phased],
            episodes: if quick { 4000 } else { 40_000 },
            reps: if quick { 3 } else { 5 },
            budget_ms: if quick { 60 } else { 600 },
            json: out_dir.join("results.json"),
            svg: out_dir.join("barrier.svg"),
            table: out_dir.join("table.md"),
            out_dir,
            reference: true,
            alting: true,
            alting_only: false,
            goldsmith_ms: if quick { 150 } else { 1000 },
            pingpong_iters: if quick { 50_000 } else { 200_000 },
            seed: 0x5eed_1234_abcd_0001,
            command: std::iter::once("muster-bench")
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "-h" | "--help" => {
                    print!("{USAGE}");
                    return Ok(None);
                }
                "--quick" => {}
                "--no-reference" => o.reference = false,
                "--no-alting" => o.alting = false,
                "--alting-only" => o.alting_only = true,
                "--goldsmith-ms" => o.goldsmith_ms = num(&val()?, a)?,
                "--n" => o.ns = list(&val()?, "--n", |s| s.parse().ok())?,
                "--systems" => o.systems = list(&val()?, "--systems", System::parse)?,
                "--scenarios" => o.scenarios = list(&val()?, "--scenarios", Scenario::parse)?,
                "--episodes" => o.episodes = num(&val()?, a)?,
                "--reps" => o.reps = num(&val()?, a)?,
                "--budget-ms" => o.budget_ms = num(&val()?, a)?,
                "--json" => o.json = val()?.into(),
                "--svg" => o.svg = val()?.into(),
                "--table" => o.table = val()?.into(),
                other => return Err(format!("unknown argument '{other}' (see --help)")),
            }
        }
        if o.ns.is_empty() || o.ns.iter().any(|&n| !(2..=crate::ctl::MAX_N).contains(&n)) {
            return Err(format!("--n: party counts must be within 2..={}", crate::ctl::MAX_N));
        }
        if !(1..=crate::ctl::MAX_REPS).contains(&o.reps) {
            return Err(format!("--reps must be within 1..={}", crate::ctl::MAX_REPS));
        }
        if o.episodes == 0 || o.systems.is_empty() || o.scenarios.is_empty() {
            return Err("--episodes, --systems and --scenarios must not be empty".into());
        }
        if o.alting_only && !o.alting {
            return Err("--alting-only and --no-alting contradict each other".into());
        }
        if o.alting_only {
            o.reference = false;
        }
        if o.goldsmith_ms == 0 || o.goldsmith_ms > 60_000 {
            return Err("--goldsmith-ms must be within 1..=60000".into());
        }
        Ok(Some(o))
    }
}
