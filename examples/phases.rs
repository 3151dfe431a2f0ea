//! Phases: N worker processes step through phases together at one counted barrier.
//!
//! ```sh
//! cargo run --example phases            # 3 processes, 5 phases
//! cargo run --example phases -- 4 10    # 4 processes, 10 phases
//! ```
//! The program re-executes itself as each worker (`phases child REGION RANK N PHASES`); the
//! parent creates the region, waits for the workers and removes the region.

use muster::{Region, RegionConfig};
use std::process::Command;
use std::time::Duration;

fn child(region: &str, rank: u32, n: u32, phases: u32) -> Result<(), muster::Error> {
    let region = Region::open(region)?;
    let phase = region.barrier("phase", n)?;
    for step in 0..phases {
        // Each phase's work; uneven on purpose, so the barrier really waits for the slowest.
        std::thread::sleep(Duration::from_millis(u64::from(5 + 3 * rank)));
        let r = phase.wait_timeout(Duration::from_secs(30))?;
        if r.is_leader() {
            println!("phase {step} complete (generation {}, leader: rank {rank})", r.generation);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let num = |i: usize| args.get(i).and_then(|s| s.parse::<u32>().ok()).ok_or("bad child arguments");
        child(&args[2], num(3)?, num(4)?, num(5)?)?;
        return Ok(());
    }
    let n: u32 = args.get(1).map_or(Ok(3), |s| s.parse())?;
    let phases: u32 = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let name = format!("muster-example-phases-{}", std::process::id());
    let region = Region::create(&name, &RegionConfig::default())?;
    let me = std::env::current_exe()?;
    let mut workers = Vec::new();
    for rank in 0..n {
        let args = ["child".to_owned(), name.clone(), rank.to_string(), n.to_string(), phases.to_string()];
        workers.push(Command::new(&me).args(args).spawn()?);
    }
    let mut ok = true;
    for mut w in workers {
        ok &= w.wait()?.success();
    }
    drop(region);
    Region::unlink(&name)?;
    if !ok {
        return Err("a worker failed".into());
    }
    println!("{n} processes went through {phases} phases together");
    Ok(())
}
