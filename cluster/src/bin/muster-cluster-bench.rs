//! Benchmark: per-generation latency of a cluster barrier across 3 simulated hosts x 2 processes,
//! next to etcd's DoubleBarrier recipe driven by the same 6 processes and to a single-host Muster
//! membership barrier of 6 processes; plus the cost of the etcd operations the protocol is made
//! of (a put = one Raft commit, a linearizable read), measured from this process.
//!
//! `muster-cluster-bench [--gens N] [--warmup W]` starts a throw-away 3-member etcd cluster on
//! 127.0.0.1 (see `muster_cluster::testkit`) and prints a Markdown table.

use muster_cluster::testkit::EtcdCluster;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

fn arg(name: &str, default: u64) -> u64 {
    let v: Vec<String> = std::env::args().collect();
    v.iter().position(|a| a == name).and_then(|i| v.get(i + 1)).and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Runs one configuration: `(host, region)` per process, all with `role`; returns each
/// process's `lat` line fields (mean, p50, p90, p99 in ns).
fn run(role: &str, procs: &[(String, String)], common: &[(&str, String)]) -> Vec<[u64; 4]> {
    let exe = std::env::current_exe().expect("current exe");
    let worker = exe.with_file_name("muster-cluster-worker");
    let mut children = Vec::new();
    for (host, region) in procs {
        let mut cmd = Command::new(&worker);
        cmd.args(["--role", role, "--host", host, "--region", region]);
        for (k, v) in common {
            cmd.arg(format!("--{k}")).arg(v);
        }
        let mut c = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn worker");
        let out = BufReader::new(c.stdout.take().expect("stdout"));
        children.push((c, out));
    }
    let mut lines = Vec::new();
    for (_, out) in &mut children {
        let mut l = String::new();
        out.read_line(&mut l).expect("read");
        assert_eq!(l.trim(), "ready", "worker said {l:?}");
    }
    for (c, _) in &mut children {
        let stdin = c.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").and_then(|_| stdin.flush()).expect("go");
    }
    for (c, out) in &mut children {
        let mut l = String::new();
        out.read_line(&mut l).expect("read");
        let f: Vec<u64> = l.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        assert!(l.starts_with("lat") && f.len() >= 4, "worker said {l:?}");
        lines.push([f[0], f[1], f[2], f[3]]);
        let _ = c.wait();
    }
    lines
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

/// Medians over processes of each statistic.
fn summary(v: &[[u64; 4]]) -> [u64; 4] {
    let mut out = [0; 4];
    for (j, o) in out.iter_mut().enumerate() {
        let mut col: Vec<u64> = v.iter().map(|r| r[j]).collect();
        col.sort_unstable();
        *o = col[col.len() / 2];
    }
    out
}

fn etcd_ops(endpoints: &[String], n: usize) -> ([u64; 4], [u64; 4]) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let urls: Vec<String> = endpoints.iter().map(|e| format!("http://{e}")).collect();
        let mut c = etcd_client::Client::connect(urls, None).await.expect("connect");
        let mut put = Vec::new();
        let mut get = Vec::new();
        for i in 0..n {
            let t = Instant::now();
            c.put("/muster-bench/put", i.to_string(), None).await.expect("put");
            put.push(t.elapsed().as_nanos() as u64);
            let t = Instant::now();
            c.get("/muster-bench/put", None).await.expect("get");
            get.push(t.elapsed().as_nanos() as u64);
        }
        let stats = |mut v: Vec<u64>| {
            v.sort_unstable();
            let q = |f: f64| v[((v.len() as f64 - 1.0) * f) as usize];
            [v.iter().sum::<u64>() / v.len() as u64, q(0.5), q(0.9), q(0.99)]
        };
        (stats(put), stats(get))
    })
}

fn main() {
    let gens = arg("--gens", 300);
    let warmup = arg("--warmup", 30);
    let etcd = EtcdCluster::start(3).expect("start etcd (is `etcd` installed?)");
    let eps = etcd.endpoints().join(",");
    let tag = format!("mcb-{}", std::process::id());
    let common = |name: &str| {
        vec![
            ("name", name.to_owned()),
            ("endpoints", eps.clone()),
            ("barrier", "bench".to_owned()),
            ("gens", gens.to_string()),
            ("warmup", warmup.to_string()),
            ("parties", "6".to_owned()),
        ]
    };
    let hosts: Vec<(String, String)> = (0..6).map(|i| (format!("h{}", i / 2), format!("{tag}-h{}", i / 2))).collect();
    let one_host: Vec<(String, String)> = (0..6).map(|_| ("h0".to_owned(), format!("{tag}-local"))).collect();
    let one_host_cluster: Vec<(String, String)> = (0..6).map(|_| ("h0".to_owned(), format!("{tag}-solo"))).collect();
    let six_hosts: Vec<(String, String)> = (0..6).map(|i| (format!("h{i}"), format!("{tag}-six{i}"))).collect();

    let cluster = summary(&run("bench-cluster", &hosts, &common(&format!("{tag}-c"))));
    let six = summary(&run("bench-cluster", &six_hosts, &common(&format!("{tag}-six"))));
    let solo = Some(summary(&run("bench-cluster", &one_host_cluster, &common(&format!("{tag}-s")))));
    let recipe = summary(&run("bench-recipe", &hosts, &common(&format!("{tag}-r"))));
    let local = summary(&run("bench-local", &one_host, &common(&format!("{tag}-l"))));
    let (put, get) = etcd_ops(&etcd.endpoints(), 300);
    for r in hosts.iter().chain(&one_host).chain(&one_host_cluster).chain(&six_hosts) {
        let _ = muster_shm::Region::unlink(&r.1);
    }
    drop(etcd);

    println!(
        "3-member etcd {} on 127.0.0.1 (heartbeat 50 ms), {gens} generations after {warmup} warm-up,",
        etcd_version()
    );
    println!("median over the 6 processes of each statistic; microseconds per generation.\n");
    println!("| configuration | mean | p50 | p90 | p99 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let row =
        |name: &str, s: [u64; 4]| println!("| {name} | {} | {} | {} | {} |", us(s[0]), us(s[1]), us(s[2]), us(s[3]));
    row("Muster cluster barrier, 3 hosts x 2 processes", cluster);
    row("Muster cluster barrier, 6 hosts x 1 process", six);
    if let Some(solo) = solo {
        row("Muster cluster barrier, 1 host x 6 processes", solo);
    }
    row("etcd DoubleBarrier recipe (enter + leave), 6 processes", recipe);
    row("Muster membership barrier, one host, 6 processes (no etcd)", local);
    row("etcd put (one Raft commit), one client", put);
    row("etcd linearizable get, one client", get);
}

fn etcd_version() -> String {
    Command::new(muster_cluster::testkit::etcd_binary())
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(|l| l.trim_start_matches("etcd Version: ").to_owned()))
        .unwrap_or_default()
}
