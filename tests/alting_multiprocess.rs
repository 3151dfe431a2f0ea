//! Alting barriers across real processes: Goldsmith's challenge, crash in the middle of selects,
//! misuse, poll. Every step is bounded by a watchdog.

mod common;

use common::{wait_all_bounded, worker, Lines, TempName, WATCHDOG};
use muster::{Region, RegionConfig};
use std::collections::{HashMap, HashSet};

fn region(tag: &str) -> (TempName, Region) {
    let name = TempName::new(tag);
    let r = Region::create(&name.0, &RegionConfig::default()).expect("create region");
    (name, r)
}

/// Checks Goldsmith logs: per process a list of (barrier, ticket).
fn check_goldsmith(logs: &[Vec<(u32, u32)>]) -> HashMap<u32, usize> {
    let parties: [[u32; 2]; 3] = [[0, 1], [1, 2], [2, 0]]; // barriers offered by P, Q, R
    let members = |b: u32| -> Vec<usize> { (0..3).filter(|&p| parties[p].contains(&b)).collect() };
    // 1. Each barrier's tickets are 1, 2, 3, ... in each party's log, and both parties saw the same.
    let mut per_barrier = HashMap::new();
    for b in 0..3u32 {
        let seqs: Vec<Vec<u32>> =
            members(b).iter().map(|&p| logs[p].iter().filter(|e| e.0 == b).map(|e| e.1).collect()).collect();
        for s in &seqs {
            for (i, t) in s.iter().enumerate() {
                assert_eq!(*t as usize, i + 1, "barrier {b}: tickets not consecutive: {:?}", &s[..s.len().min(20)]);
            }
        }
        // A process may stop right after the other logged the last event: allow a difference of 1.
        let (x, y) = (seqs[0].len(), seqs[1].len());
        assert!(x.abs_diff(y) <= 1, "barrier {b}: parties saw {x} and {y} events");
        per_barrier.insert(b, x.min(y));
    }
    // 2. The per-process logs admit one global order: the graph of "event e before event f in some
    //    process's log" over events (barrier, ticket) is acyclic (Kahn's algorithm).
    let mut succ: HashMap<(u32, u32), Vec<(u32, u32)>> = HashMap::new();
    let mut indeg: HashMap<(u32, u32), usize> = HashMap::new();
    for log in logs {
        for w in log.windows(2) {
            succ.entry(w[0]).or_default().push(w[1]);
            *indeg.entry(w[1]).or_default() += 1;
            indeg.entry(w[0]).or_default();
        }
        if let Some(e) = log.first() {
            indeg.entry(*e).or_default();
        }
    }
    let mut ready: Vec<_> = indeg.iter().filter(|(_, d)| **d == 0).map(|(e, _)| *e).collect();
    let mut done = HashSet::new();
    while let Some(e) = ready.pop() {
        done.insert(e);
        for f in succ.get(&e).into_iter().flatten() {
            let d = indeg.get_mut(f).unwrap();
            *d -= 1;
            if *d == 0 {
                ready.push(*f);
            }
        }
    }
    assert_eq!(done.len(), indeg.len(), "the processes' logs contradict each other (a cycle)");
    per_barrier
}

#[test]
fn goldsmith_challenge_across_three_processes() {
    let (name, r) = region("gold");
    for b in ["a", "b", "c"] {
        r.alting_create(b, 2).unwrap();
    }
    let rounds = 200_000u32;
    let stride = rounds as usize + 8;
    let log_path = format!("/dev/shm/{}.log", name.0);
    std::fs::File::create(&log_path).and_then(|f| f.set_len(((4 + 3 * stride) * 4) as u64)).unwrap();
    let mut kids: Vec<_> = (0..3)
        .map(|p| worker(&["goldsmith", &name.0, &p.to_string(), &rounds.to_string(), &log_path, &stride.to_string()]))
        .collect();
    let lines: Vec<Lines> = kids.iter_mut().map(Lines::of).collect();
    for l in &lines {
        assert_eq!(l.next_line(WATCHDOG), "ready");
    }
    // "done EVENTS ELAPSED_NS" from each process; the run lasts as long as the slowest.
    let mut elapsed_ns = 0u64;
    for l in &lines {
        let done = l.next_line(WATCHDOG);
        let ns: u64 = done.split_whitespace().nth(2).and_then(|v| v.parse().ok()).expect("done line");
        elapsed_ns = elapsed_ns.max(ns);
    }
    assert!(wait_all_bounded(&mut kids, WATCHDOG), "a Goldsmith process failed");
    let bytes = std::fs::read(&log_path).unwrap();
    let word = |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());
    let logs: Vec<Vec<(u32, u32)>> = (0..3)
        .map(|p| (0..word(p) as usize).map(|k| word(4 + p * stride + k)).map(|w| (w >> 24, w & 0xff_ffff)).collect())
        .collect();
    let per = check_goldsmith(&logs);
    let total: usize = per.values().sum();
    let rate = total as f64 / (elapsed_ns as f64 / 1e9);
    eprintln!(
        "goldsmith: {total} events in {:.3} s = {rate:.0} events/s; per barrier {per:?}",
        elapsed_ns as f64 / 1e9
    );
    assert!(total as u32 >= rounds, "fewer events than rounds");
    // No barrier starves. (How the OS schedules three busy processes on two CPUs decides the
    // exact shares, so the bound is loose.)
    for (b, n) in &per {
        assert!(*n * 20 >= total, "barrier {b} starved: {n} of {total}");
    }
}
