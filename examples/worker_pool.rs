//! A worker pool: worker processes join a membership barrier, each computes its share of every
//! round and sends its partial result over a channel to the coordinator, then all meet at the
//! barrier before the next round.
//!
//! ```sh
//! cargo run --example worker_pool           # 4 workers, 5 rounds
//! cargo run --example worker_pool -- 3 8    # 3 workers, 8 rounds
//! ```
//! Membership barriers count enrolled members, so the pool's size is whoever joined; a worker
//! that dies breaks the round with `Error::PeerDied` instead of hanging the others.

use muster::{Region, RegionConfig};
use std::process::Command;
use std::time::Duration;

const ITEMS: u64 = 10_000;
const TIMEOUT: Duration = Duration::from_secs(30);

fn worker(region: &str, rank: u64, n: u64, rounds: u64) -> Result<(), muster::Error> {
    let region = Region::open(region)?;
    let round = region.join("round")?;
    let start = region.barrier("start", (n + 1) as u32)?;
    let results = region.channel("results", 64, false)?;
    start.wait_timeout(TIMEOUT)?; // everyone has joined "round"
    for r in 0..rounds {
        // This worker's share of round r: the items i with i % n == rank.
        let partial: u64 = (0..ITEMS).filter(|i| i % n == rank).map(|i| i * (r + 1)).sum();
        results.write(partial)?;
        round.wait_timeout(TIMEOUT)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let num = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok()).ok_or("bad child arguments");
        worker(&args[2], num(3)?, num(4)?, num(5)?)?;
        return Ok(());
    }
    let n: u64 = args.get(1).map_or(Ok(4), |s| s.parse())?;
    let rounds: u64 = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let name = format!("muster-example-pool-{}", std::process::id());
    let region = Region::create(&name, &RegionConfig::default())?;
    let round = region.join("round")?; // the coordinator is a member too
    let start = region.barrier("start", (n + 1) as u32)?;
    let results = region.channel("results", 64, false)?;
    let me = std::env::current_exe()?;
    let mut workers = Vec::new();
    for rank in 0..n {
        let args = ["child".to_owned(), name.clone(), rank.to_string(), n.to_string(), rounds.to_string()];
        workers.push(Command::new(&me).args(args).spawn()?);
    }
    start.wait_timeout(TIMEOUT)?;
    for r in 0..rounds {
        let mut total = 0;
        for _ in 0..n {
            total += results.read(Some(TIMEOUT))?;
        }
        let expected: u64 = (0..ITEMS).map(|i| i * (r + 1)).sum();
        println!("round {r}: {n} workers summed {total} (expected {expected})");
        assert_eq!(total, expected);
        round.wait_timeout(TIMEOUT)?;
    }
    let mut ok = true;
    for mut w in workers {
        ok &= w.wait()?.success();
    }
    drop((round, start, results, region));
    Region::unlink(&name)?;
    if !ok {
        return Err("a worker failed".into());
    }
    Ok(())
}
