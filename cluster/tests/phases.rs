//! 3 simulated hosts x 2 processes meet 1,000 times with the phase invariants checked by every
//! process (see the worker's `gens` role); members join and leave between generations.

mod common;
use common::*;

#[test]
fn three_hosts_two_processes_thousand_generations() {
    let _g = serial();
    let Some(etcd) = etcd(3) else { return };
    let name = unique("phases");
    let hosts = ["h0", "h1", "h2"];
    let regions = Regions(hosts.iter().map(|h| format!("{name}-{h}")).collect());
    let dir = etcd.dir().join("files");
    let mut ws = Workers::new();
    let mut all = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        for _ in 0..2 {
            let mut a = args(&name, &regions.0[h], &etcd.endpoints().join(","), "gens");
            a.push(("gens", "1000".into()));
            a.push(("procs", "2".into()));
            a.push(("hosts", hosts.join(",")));
            a.push(("dir", dir.display().to_string()));
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
    // Every generation had exactly one leader per host.
    for host in 0..3 {
        let led: u64 = ws
            .log
            .iter()
            .filter(|(i, _, l)| l.starts_with("done") && all[host * 2..host * 2 + 2].contains(i))
            .map(|(_, _, l)| l.split(' ').nth(3).and_then(|v| v.parse::<u64>().ok()).expect("led count"))
            .sum();
        assert_eq!(led, 1000, "host h{host}: leaders per generation");
    }
}

use std::time::Duration;
