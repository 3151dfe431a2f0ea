//! Goldsmith's alting-barrier challenge: three processes P, Q, R and three alting barriers
//! `pq`, `qr`, `rp`, each shared by two of them. Every process repeatedly offers both of its
//! barriers in one fair select and takes whichever fires; an event happens only when both of its
//! parties chose it, and no process ever commits to two events at once. Fair selection lets
//! all three barriers fire; a lock-free choice protocol means nothing deadlocks.
//!
//! ```sh
//! cargo run --release --example goldsmith           # 2000 events per process
//! cargo run --release --example goldsmith -- 10000
//! ```

use muster::{Region, RegionConfig, Select};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Front-ends of each process: (barrier, front-end index).
const OFFERS: [[(&str, u32); 2]; 3] = [[("pq", 0), ("rp", 1)], [("pq", 1), ("qr", 0)], [("qr", 1), ("rp", 0)]];
const NAMES: [&str; 3] = ["P", "Q", "R"];

fn child(region: &str, who: usize, events: u64) -> Result<(), muster::Error> {
    let region = Region::open(region)?;
    let fes = OFFERS[who].iter().map(|&(b, i)| region.alting_attach(b, i)).collect::<Result<Vec<_>, _>>()?;
    let mut alt = region.alternative()?;
    for fe in &fes {
        alt.add_alting(fe)?;
    }
    let mut counts = [0u64; 2];
    while counts.iter().sum::<u64>() < events {
        // The others stop too: when nobody offers for a while, this process is done.
        match alt.select(Select::Fair, Some(Duration::from_millis(500))) {
            Ok(g) => counts[g] += 1,
            Err(muster::Error::Timeout) => break,
            Err(e) => return Err(e),
        }
    }
    println!("{} {} {} {} {}", NAMES[who], OFFERS[who][0].0, counts[0], OFFERS[who][1].0, counts[1]);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let num = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok()).ok_or("bad child arguments");
        child(&args[2], num(3)? as usize, num(4)?)?;
        return Ok(());
    }
    let events: u64 = args.get(1).map_or(Ok(2000), |s| s.parse())?;
    let name = format!("muster-example-goldsmith-{}", std::process::id());
    let region = Region::create(&name, &RegionConfig::default())?;
    for b in ["pq", "qr", "rp"] {
        region.alting_create(b, 2)?;
    }
    let me = std::env::current_exe()?;
    let mut procs = Vec::new();
    for who in 0..3 {
        let args = ["child".to_owned(), name.clone(), who.to_string(), events.to_string()];
        procs.push(Command::new(&me).args(args).stdout(Stdio::piped()).spawn()?);
    }
    // Each line: NAME barrier count barrier count.
    let mut seen: Vec<(String, String, u64)> = Vec::new();
    let mut ok = true;
    for mut p in procs {
        let out = p.stdout.take().ok_or("no stdout")?;
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [who, b0, c0, b1, c1] = f[..] {
                seen.push((who.to_owned(), b0.to_owned(), c0.parse()?));
                seen.push((who.to_owned(), b1.to_owned(), c1.parse()?));
            }
        }
        ok &= p.wait()?.success();
    }
    drop(region);
    Region::unlink(&name)?;
    if !ok {
        return Err("a process failed".into());
    }
    // Both parties of a barrier saw every one of its events.
    for b in ["pq", "qr", "rp"] {
        let counts: Vec<u64> = seen.iter().filter(|s| s.1 == b).map(|s| s.2).collect();
        println!("{b}: {counts:?} events (each party's count)");
        if counts.len() != 2 || counts[0] != counts[1] {
            return Err(format!("parties of {b} disagree: {counts:?}").into());
        }
    }
    Ok(())
}
