//! 3 simulated hosts x 2 processes meet 1,000 times with the phase invariants checked by every
//! process (see the worker's `gens` role); members join and leave between generations.

mod common;
use common::*;

use std::time::Duration;

#[test]
fn three_hosts_two_processes_thousand_generations() {
    gens_on_three_hosts("phases", 1000, [&[], &[]]);
}

/// Split phase across hosts: on each of 3 hosts one process arrives and awaits (split phase)
/// while the other waits (blocking), 300 generations with the same phase invariants; each host
/// still has exactly one leader per generation, whichever kind of call it made.
#[test]
fn split_phase_and_blocking_waits_mix_across_three_hosts() {
    gens_on_three_hosts("split", 300, [&[("split", "1")], &[("split", "0")]]);
}

/// Runs the worker's `gens` role for `gens` generations on 3 simulated hosts with two processes
/// each, the `k`-th process of a host with the extra arguments `extra[k]`; every worker must exit
/// 0, and every generation must have had exactly one leader per host.
fn gens_on_three_hosts(tag: &str, gens: u64, extra: [&[(&'static str, &str)]; 2]) {
    let _g = serial();
    let Some(etcd) = etcd(3) else { return };
    let name = unique(tag);
    let hosts = ["h0", "h1", "h2"];
    let regions = Regions(hosts.iter().map(|h| format!("{name}-{h}")).collect());
    let dir = etcd.dir().join("files");
    let mut ws = Workers::new();
    let mut all = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        for extra in extra {
            let mut a = args(&name, &regions.0[h], &etcd.endpoints().join(","), "gens");
            a.push(("gens", gens.to_string()));
            a.push(("procs", "2".into()));
            a.push(("hosts", hosts.join(",")));
            a.push(("dir", dir.display().to_string()));
            a.extend(extra.iter().map(|&(k, v)| (k, v.to_owned())));
            all.push(ws.spawn(host, &a));
        }
    }
    ws.await_each(&all, "ready", WATCHDOG);
    ws.go(&all);
    ws.await_each(&all, "done", Duration::from_secs(600));
    for i in &all {
        assert_eq!(ws.exit_code(*i, WATCHDOG), Some(0), "worker {i}");
    }
    let done: Vec<_> = ws.log.iter().filter(|(_, _, l)| l.starts_with("done")).map(|(_, _, l)| l.clone()).collect();
    println!("{done:?}");
    for host in 0..3 {
        let led: u64 = ws
            .log
            .iter()
            .filter(|(i, _, l)| l.starts_with("done") && all[host * 2..host * 2 + 2].contains(i))
            .map(|(_, _, l)| l.split(' ').nth(3).and_then(|v| v.parse::<u64>().ok()).expect("led count"))
            .sum();
        assert_eq!(led, gens, "host h{host}: leaders per generation");
    }
}

/// Members join and leave while two hosts keep meeting: a process of a new host (twice: the host
/// comes back after it left), and a second process of an existing host. Nobody may see a death,
/// the long-running members complete every generation, and each joiner's generations are
/// consecutive and carry the hosts that take part.
#[test]
fn members_join_and_leave_between_generations() {
    let _g = serial();
    let Some(etcd) = etcd(3) else { return };
    let name = unique("joinleave");
    let hosts = ["h0", "h1", "h2"];
    let regions = Regions(hosts.iter().map(|h| format!("{name}-{h}")).collect());
    let eps = etcd.endpoints().join(",");
    let mut ws = Workers::new();
    let mut steady = Vec::new();
    for (host, region) in hosts.iter().zip(&regions.0).take(2) {
        let mut a = args(&name, region, &eps, "loop");
        a.push(("gens", "80".into()));
        steady.push(ws.spawn(host, &a));
    }
    ws.await_each(&steady, "ready", WATCHDOG);
    ws.go(&steady);
    let count = |ws: &Workers, i: usize| ws.log.iter().filter(|(w, _, l)| *w == i && l.starts_with("gen ")).count();
    let mut rounds = Vec::new();
    for round in 0..2 {
        while count(&ws, steady[0]) < 10 + 25 * round {
            let (i, _, l) = ws.next(WATCHDOG);
            assert!(!l.starts_with("error"), "worker {i}: {l}");
        }
        let mut a = args(&name, &regions.0[2], &eps, "join-leave");
        a.push(("gens", "5".into()));
        let new_host = ws.spawn("h2", &a);
        let mut a = args(&name, &regions.0[0], &eps, "join-leave");
        a.push(("gens", "5".into()));
        let same_host = ws.spawn("h0", &a);
        ws.await_each(&[new_host, same_host], "ready", WATCHDOG);
        ws.go(&[new_host, same_host]);
        ws.await_each(&[new_host, same_host], "left", WATCHDOG);
        rounds.push((new_host, same_host));
    }
    ws.await_each(&steady, "finished", WATCHDOG);
    for i in 0..ws.w.len() {
        assert_eq!(ws.exit_code(i, WATCHDOG), Some(0), "worker {i}");
        let bad: Vec<_> =
            ws.log.iter().filter(|(w, _, l)| *w == i && (l.contains("died") || l.starts_with("error"))).collect();
        assert!(bad.is_empty(), "worker {i}: {bad:?}");
    }
    for (new_host, same_host) in rounds {
        for (i, must) in [(new_host, "h0,h1,h2"), (same_host, "h0,h1")] {
            let gens: Vec<(u64, String)> = ws
                .log
                .iter()
                .filter(|(w, _, l)| *w == i && l.starts_with("gen "))
                .map(|(_, _, l)| {
                    let f: Vec<&str> = l.split(' ').collect();
                    (f[1].parse().expect("generation"), f[3].to_owned())
                })
                .collect();
            assert_eq!(gens.len(), 5, "joiner {i}");
            assert!(gens.windows(2).all(|w| w[1].0 == w[0].0 + 1), "joiner {i}: {gens:?}");
            for (_, hs) in &gens {
                assert!(must.split(',').all(|h| hs.split(',').any(|x| x == h)), "joiner {i}: hosts {hs}, want {must}");
            }
            println!("joiner {i} ({}): generations {}..={}", ws.w[i].host, gens[0].0, gens[4].0);
        }
    }
}
