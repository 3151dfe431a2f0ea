//! Cross-process demo: N worker processes step through phases at a shared barrier and report what
//! each phase cost.
//!
//! `cargo run --release --bin muster-demo -- [--procs 2,8] [--phases 5] [--episodes 20000]`
//!
//! Each phase is `episodes` barrier episodes; the leader of the last episode of a phase records the
//! time, and the parent prints ns per episode for every phase.

use muster::{Region, RegionConfig};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

struct Args {
    procs: Vec<u32>,
    phases: u32,
    episodes: u32,
}

fn parse() -> Result<Args, String> {
    let mut a = Args { procs: vec![2, 8], phases: 5, episodes: 20_000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<u32>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--procs" => a.procs = val.split(',').map(num).collect::<Result<_, _>>()?,
            "--phases" => a.phases = num(&val)?,
            "--episodes" => a.episodes = num(&val)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.procs.contains(&0) || a.phases == 0 || a.episodes == 0 {
        return Err("--procs, --phases and --episodes must be positive".into());
    }
    Ok(a)
}

fn worker(region: &str, n: u32, phases: u32, episodes: u32) -> Result<(), muster::Error> {
    let region = Region::open(region)?;
    let barrier = region.barrier("phase", n)?;
    let mut t0 = Instant::now();
    barrier.wait()?; // line up before timing
    for phase in 0..phases {
        for _ in 0..episodes {
            barrier.wait()?;
        }
        let r = barrier.wait()?;
        if r.is_leader() {
            let ns = t0.elapsed().as_nanos() as f64 / f64::from(episodes + 1);
            println!("  phase {phase}: {ns:>10.0} ns per episode");
        }
        t0 = Instant::now();
    }
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--worker") {
        let get = |i: usize| argv.get(i).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        return match worker(&argv[2], get(3), get(4), get(5)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("worker: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("muster-demo: {e}");
            return ExitCode::from(2);
        }
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("muster-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("muster-demo: {cpus} CPUs, {} phases of {} episodes", args.phases, args.episodes);
    for &n in &args.procs {
        let name = format!("muster-demo-{}-{n}", std::process::id());
        let region = match Region::create(&name, &RegionConfig::default()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("muster-demo: cannot create region {name}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{n} processes:");
        let children: Vec<_> = (0..n)
            .map(|_| {
                Command::new(&exe)
                    .args(["--worker", &name, &n.to_string(), &args.phases.to_string(), &args.episodes.to_string()])
                    .spawn()
            })
            .collect();
        let mut ok = true;
        let deadline = Instant::now() + Duration::from_secs(300);
        for c in children {
            match c {
                Ok(mut c) => loop {
                    match c.try_wait() {
                        Ok(Some(st)) => {
                            ok &= st.success();
                            break;
                        }
                        Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                        _ => {
                            let _ = c.kill();
                            let _ = c.wait();
                            ok = false;
                            break;
                        }
                    }
                },
                Err(e) => {
                    eprintln!("muster-demo: spawn failed: {e}");
                    ok = false;
                }
            }
        }
        drop(region);
        let _ = Region::unlink(&name);
        if !ok {
            eprintln!("muster-demo: a worker failed");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
