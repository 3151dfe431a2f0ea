//! Faults across simulated hosts: a whole host SIGKILLed, one process of a host SIGKILLed, one
//! etcd member of three SIGKILLed, and a host cut off from etcd (its only endpoint stopped).

mod common;
use common::*;
use std::time::Instant;

const HOSTS: [&str; 3] = ["h0", "h1", "h2"];

/// Starts `per_host` `loop` workers on each host; host `h` uses `endpoints(h)`.
fn start(
    etcd: &muster_cluster::testkit::EtcdCluster,
    name: &str,
    regions: &Regions,
    per_host: usize,
    endpoints: impl Fn(usize) -> String,
    extra: &[(&'static str, String)],
) -> (Workers, Vec<Vec<usize>>) {
    let _ = etcd;
    let mut ws = Workers::new();
    let mut by_host = vec![Vec::new(); HOSTS.len()];
    for (h, host) in HOSTS.iter().enumerate() {
        for _ in 0..per_host {
            let mut a = args(name, &regions.0[h], &endpoints(h), "loop");
            a.extend(extra.iter().cloned());
            by_host[h].push(ws.spawn(host, &a));
        }
    }
    let all: Vec<usize> = by_host.concat();
    ws.await_each(&all, "ready", WATCHDOG);
    ws.go(&all);
    (ws, by_host)
}

/// Lease TTL of the workers in tests whose fault may be the etcd leader's death. Every process
/// must outlast the election that follows (it cannot write its beat meanwhile, and after a whole
/// TTL without one it declares itself lost). Elections of the test cluster took 0.64–1.0 s here,
/// with or without two busy loops beside; in one CI run etcd stayed unavailable to the survivors
/// for over 2 s, and the workers' 2 s TTL left too little margin.
const ELECTION_TTL_MS: &str = "3000";

/// Waits until worker `i` printed `n` generations.
fn await_gens(ws: &mut Workers, i: usize, n: usize) {
    let start = Instant::now();
    while ws.log.iter().filter(|(w, _, l)| *w == i && l.starts_with("gen ")).count() < n {
        let left = WATCHDOG.checked_sub(start.elapsed()).expect("watchdog: generations");
        let (w, _, l) = ws.next(left);
        assert!(!l.starts_with("error") && !l.starts_with("unavailable"), "worker {w}: {l}");
    }
}

fn lines_of(ws: &Workers, i: usize, prefix: &str) -> Vec<(Instant, String)> {
    ws.log.iter().filter(|(w, _, l)| *w == i && l.starts_with(prefix)).map(|(_, t, l)| (*t, l.clone())).collect()
}

/// Kills `victims`, then checks that every survivor completes its generations, that every death
/// it reports is one of `dead_host`'s, and that those in `must_see` report one; prints how long
/// after the kill each first report came.
fn kill_and_check(ws: &mut Workers, by_host: &[Vec<usize>], victims: &[usize], dead_host: &str, must_see: &[usize]) {
    let t_kill = Instant::now();
    for v in victims {
        ws.kill(*v);
    }
    let survivors: Vec<usize> = by_host.concat().into_iter().filter(|i| !victims.contains(i)).collect();
    ws.await_each(&survivors, "finished", WATCHDOG);
    for i in &survivors {
        assert_eq!(ws.exit_code(*i, WATCHDOG), Some(0), "survivor {i}");
        let deaths: Vec<_> = ws
            .log
            .iter()
            .filter(|(w, _, l)| w == i && (l.starts_with("hostdied") || l.starts_with("peerdied")))
            .map(|(_, t, l)| (*t, l.clone()))
            .collect();
        for (t, l) in &deaths {
            assert!(*t >= t_kill, "survivor {i}: death reported before the kill: {l}");
            assert!(
                l.starts_with(&format!("hostdied {dead_host} "))
                    || (l.starts_with("peerdied") && ws.w[*i].host == dead_host),
                "survivor {i} ({}): {l}",
                ws.w[*i].host
            );
        }
        match deaths.first() {
            Some((t, first)) => {
                println!("survivor {i} ({}): `{first}` {:?} after the kill", ws.w[*i].host, t.duration_since(t_kill))
            }
            None => {
                assert!(!must_see.contains(i), "survivor {i} ({}) saw no death", ws.w[*i].host);
                println!("survivor {i} ({}): no generation of its broke", ws.w[*i].host);
            }
        }
    }
}

#[test]
fn a_killed_host_is_reported_by_name_and_the_others_go_on() {
    let _g = serial();
    let Some(etcd) = etcd(3) else { return };
    let name = unique("hostdeath");
    let regions = Regions(HOSTS.iter().map(|h| format!("{name}-{h}")).collect());
    let eps = etcd.endpoints().join(",");
    let (mut ws, by_host) = start(&etcd, &name, &regions, 2, |_| eps.clone(), &[]);
    await_gens(&mut ws, by_host[0][0], 20);
    let victims = by_host[2].clone();
    // A whole host gone: its members never arrive, so everyone's generation breaks.
    let must: Vec<usize> = by_host[0].iter().chain(&by_host[1]).copied().collect();
    kill_and_check(&mut ws, &by_host, &victims, "h2", &must);
}

#[test]
fn one_killed_process_breaks_the_generation_everywhere() {
    let _g = serial();
    let Some(etcd) = etcd(3) else { return };
    let name = unique("leaderdeath");
    let regions = Regions(HOSTS.iter().map(|h| format!("{name}-{h}")).collect());
    let eps = etcd.endpoints().join(",");
    let (mut ws, by_host) = start(&etcd, &name, &regions, 2, |_| eps.clone(), &[]);
    await_gens(&mut ws, by_host[0][0], 20);
    let victims = vec![by_host[1][0]];
    // Its host peer always notices (locally or through etcd); the other hosts do when the death
    // falls into a generation before it completed.
    kill_and_check(&mut ws, &by_host, &victims, "h1", &[by_host[1][1]]);
}

#[test]
fn barriers_keep_working_when_one_of_three_etcd_members_dies() {
    let _g = serial();
    let Some(mut etcd) = etcd(3) else { return };
    let name = unique("etcdmember");
    let regions = Regions(HOSTS.iter().map(|h| format!("{name}-{h}")).collect());
    let eps = etcd.endpoints().join(",");
    let (mut ws, by_host) = start(&etcd, &name, &regions, 2, |_| eps.clone(), &[("ttl-ms", ELECTION_TTL_MS.into())]);
    await_gens(&mut ws, by_host[0][0], 20);
    etcd.kill(0);
    let t_kill = Instant::now();
    let all = by_host.concat();
    ws.await_each(&all, "finished", WATCHDOG);
    for i in &all {
        assert_eq!(ws.exit_code(*i, WATCHDOG), Some(0), "worker {i}");
        assert!(
            lines_of(&ws, *i, "hostdied").is_empty() && lines_of(&ws, *i, "peerdied").is_empty(),
            "worker {i}: false death"
        );
        let after = ws.log.iter().filter(|(w, t, l)| w == i && *t > t_kill && l.starts_with("gen ")).count();
        assert!(after > 0, "worker {i}: no generation after the etcd member died");
    }
    println!("60 generations each; the last {} after etcd member 0 was killed", 60 - 20);
}

#[test]
fn a_partitioned_host_looks_dead_to_the_others_and_gets_unavailable() {
    let _g = serial();
    let Some(mut etcd) = etcd(3) else { return };
    let name = unique("partition");
    let regions = Regions(HOSTS.iter().map(|h| format!("{name}-{h}")).collect());
    // The worst case: h2's only endpoint is the Raft leader, so cutting it off also makes etcd
    // elect a new leader, which renews every lease (h2's leases outlive the TTL; only the beats
    // tell the others that h2 went silent).
    let leader = etcd.leader().unwrap_or(2);
    let others: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let eps = etcd.endpoints();
    let endpoint = |h: usize| if h == 2 { eps[leader].clone() } else { eps[others[h]].clone() };
    let (mut ws, by_host) = start(&etcd, &name, &regions, 2, endpoint, &[("ttl-ms", ELECTION_TTL_MS.into())]);
    await_gens(&mut ws, by_host[0][0], 20);
    println!("h2 is cut off with etcd member {leader} (the leader: {})", etcd.leader() == Some(leader));
    let t_cut = Instant::now();
    etcd.kill(leader); // h2's only endpoint
    ws.await_each(&by_host[2], "unavailable", WATCHDOG);
    for i in by_host[2].clone() {
        assert_eq!(ws.exit_code(i, WATCHDOG), Some(3), "partitioned worker {i} should exit with `unavailable`");
    }
    for i in &by_host[2] {
        let u = lines_of(&ws, *i, "unavailable");
        assert_eq!(u.len(), 1, "worker {i}");
        println!("partitioned worker {i}: {:?} after the cut: {}", u[0].0.duration_since(t_cut), u[0].1);
    }
    let survivors: Vec<usize> = by_host[0].iter().chain(&by_host[1]).copied().collect();
    ws.await_each(&survivors, "finished", WATCHDOG);
    for i in &survivors {
        assert_eq!(ws.exit_code(*i, WATCHDOG), Some(0), "survivor {i}");
        let d = lines_of(&ws, *i, "hostdied");
        assert!(!d.is_empty() && d.iter().all(|(_, l)| l.starts_with("hostdied h2 ")), "survivor {i}: {d:?}");
        println!("survivor {i}: `{}` {:?} after the cut", d[0].1, d[0].0.duration_since(t_cut));
    }
}
