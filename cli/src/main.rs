//! `muster`: list, inspect, watch and clean up Muster regions in `/dev/shm`.
//!
//! Reads regions through `muster_shm::inspect` (a read-only mapping; the tool never joins a
//! region, takes no process slot and no liveness token) and removes them through
//! `muster_shm::clean` (never a region a live process uses).
//!
//! Exit codes: 0 ok, 1 error (one line on stderr naming the region and the reason), 2 usage.

mod model;
mod render;
mod top;

use clap::{Parser, Subcommand};
use muster_shm::clean::{self, Removal};
use muster_shm::{inspect, Error};
use std::process::ExitCode;
use std::time::Duration;

/// See, watch and clean up Muster shared-memory regions (in /dev/shm).
#[derive(Parser, Debug)]
#[command(name = "muster", version, about)]
struct Cli {
    /// Print JSON (stable keys) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every Muster region: size, layout version, barriers, processes alive/dead, stale.
    Ls,
    /// Show a region's barriers, alting barriers, channels and process table.
    Show {
        /// Region name (as given to `Region::open`).
        region: String,
        /// Show only this barrier, alting barrier or channel.
        barrier: Option<String>,
    },
    /// Remove a region and its sidecar; refuses while a live process uses it.
    Rm {
        /// Region name.
        region: String,
        /// Remove even if live processes use it (they keep their mappings).
        #[arg(long)]
        force: bool,
    },
    /// Remove stale regions, orphaned sidecars and leftover temporary files.
    Clean {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Only regions whose names start with this.
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Live view of a region: per barrier episodes/s, waiting, broken (`q` quits).
    Top {
        /// Region name.
        region: String,
        /// Seconds between refreshes.
        #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
        interval: f64,
        /// Stop after this many refreshes (default: until `q` or Ctrl-C).
        #[arg(long)]
        count: Option<u64>,
    },
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.01..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("interval must be a number of seconds in 0.01..=3600, got {s:?}")),
    }
}

/// A failure: the region (or other subject) it concerns and why.
pub struct Failure {
    subject: String,
    reason: String,
}

impl Failure {
    fn new(subject: &str, reason: impl std::fmt::Display) -> Failure {
        Failure { subject: subject.to_owned(), reason: reason.to_string() }
    }
}

/// The reason text for an error about region `name`.
pub fn describe(e: &Error) -> String {
    match e {
        Error::NotFound => "no such region".into(),
        Error::Permission => "permission denied (another user's region?)".into(),
        other => other.to_string(),
    }
}

fn print_json(v: &serde_json::Value) {
    println!("{v}");
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Ls => {
            let listing = inspect::list().map_err(|e| Failure::new("/dev/shm", describe(&e)))?;
            if cli.json {
                print_json(&model::ls(&listing));
            } else {
                print!("{}", render::ls(&listing));
            }
            Ok(())
        }
        Command::Show { region, barrier } => {
            let snap = inspect::inspect(&region).map_err(|e| Failure::new(&region, describe(&e)))?;
            let snap = match barrier {
                None => snap,
                Some(b) => model::only(snap, &b).ok_or_else(|| {
                    Failure::new(&region, format!("no barrier, alting barrier or channel named {b:?}"))
                })?,
            };
            if cli.json {
                print_json(&model::show(&snap));
            } else {
                print!("{}", render::show(&snap));
            }
            Ok(())
        }
        Command::Rm { region, force } => match clean::remove(&region, force) {
            Ok(Removal::Removed) => {
                if cli.json {
                    print_json(&serde_json::json!({"name": region, "removed": true, "in_use_by": []}));
                } else {
                    println!("removed {region}");
                }
                Ok(())
            }
            Ok(Removal::InUse(pids)) => {
                if cli.json {
                    print_json(&serde_json::json!({"name": region, "removed": false, "in_use_by": pids}));
                }
                let who = if pids.is_empty() {
                    "a live process (pid unknown: it is attaching, or the region is unreadable)".to_owned()
                } else {
                    let p: Vec<String> = pids.iter().map(u32::to_string).collect();
                    format!("pid {}", p.join(", "))
                };
                Err(Failure::new(&region, format!("in use by {who}; not removed (--force removes it anyway)")))
            }
            Err(e) => Err(Failure::new(&region, describe(&e))),
        },
        Command::Clean { dry_run, prefix } => {
            let done = clean::clean(dry_run, prefix.as_deref()).map_err(|e| Failure::new("/dev/shm", describe(&e)))?;
            if cli.json {
                print_json(&model::clean(&done, dry_run));
            } else {
                print!("{}", render::clean(&done, dry_run));
            }
            Ok(())
        }
        Command::Top { region, interval, count } => {
            top::run(&region, Duration::from_secs_f64(interval), count, cli.json).map_err(|e| Failure::new(&region, e))
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors exit 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("muster: {}: {}", f.subject, f.reason);
            ExitCode::from(1)
        }
    }
}
