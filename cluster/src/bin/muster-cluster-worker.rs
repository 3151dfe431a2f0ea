//! Worker process for muster-cluster's multi-process tests and benchmark: one process of one
//! simulated host. Arguments are `--key value` pairs (a test tool with a handful of flags; a
//! command-line library would add a dependency to the library crate for nothing).
//!
//! Roles (`--role`):
//! * `gens`: `--gens N` generations checking the phase invariants (`--split 1`: each one as a
//!   split-phase arrive + await); prints `done N`.
//! * `loop`: completes `--gens N` generations (pausing `--pause-ms` between waits), reporting
//!   each outcome (`gen G`, `hostdied H P`, `peerdied P`; `unavailable ...` exits with 3) and
//!   resetting after deaths; prints `finished N`.
//! * `join-leave`: joins, waits `--gens N` generations, resigns, prints `left`.
//! * `bench-cluster`, `bench-recipe`, `bench-local`: timed generations (see the crate's bench).
//!
//! Every role prints `ready` once enrolled and then waits for a `go` line on stdin, so a test can
//! start all processes before generation 1.

use muster_cluster::{recipe, Cluster, ClusterConfig};
use muster_shm::{Error, Region, RegionConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::time::{Duration, Instant};

struct Args(BTreeMap<String, String>);

impl Args {
    fn parse() -> Args {
        let v: Vec<String> = std::env::args().skip(1).collect();
        let mut m = BTreeMap::new();
        for pair in v.chunks(2) {
            if let [k, val] = pair {
                m.insert(k.trim_start_matches("--").to_owned(), val.clone());
            } else {
                fail(&format!("odd argument {pair:?}"));
            }
        }
        Args(m)
    }
    fn get(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| fail(&format!("missing --{k}")))
    }
    fn num(&self, k: &str, d: u64) -> u64 {
        self.0.get(k).map_or(d, |v| v.parse().unwrap_or_else(|_| fail(&format!("--{k} wants a number"))))
    }
}

fn fail(msg: &str) -> ! {
    println!("error {msg}");
    eprintln!("muster-cluster-worker: {msg}");
    std::process::exit(1)
}

fn go() {
    println!("ready");
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim() != "go" {
        fail("expected `go` on stdin");
    }
}

fn main() {
    let a = Args::parse();
    let role = a.get("role");
    let region_name = a.get("region");
    let region = Region::open_or_create(&region_name, &RegionConfig::default())
        .unwrap_or_else(|e| fail(&format!("region {region_name}: {e}")));
    let config = ClusterConfig {
        endpoints: a.get("endpoints").split(',').map(str::to_owned).collect(),
        host_id: Some(a.get("host")),
        lease_ttl: Some(Duration::from_millis(a.num("ttl-ms", 2000))),
    };
    match role.as_str() {
        "gens" => gens(&a, &region, &config),
        "loop" => looping(&a, &region, &config),
        "join-leave" => join_leave(&a, &region, &config),
        "bench-cluster" => bench_cluster(&a, &region, &config),
        "bench-recipe" => bench_recipe(&a, &config),
        "bench-local" => bench_local(&a, &region),
        r => fail(&format!("unknown role {r}")),
    }
}

fn connect(a: &Args, region: &Region, config: &ClusterConfig) -> Cluster {
    Cluster::connect(region, &a.get("name"), config).unwrap_or_else(|e| fail(&format!("connect: {e}")))
}

/// The phase invariants, `--gens N` times: before arriving each process writes the generation's
/// number to its own file; the host leader (after the local stage) checks that every process of
/// its host wrote this generation's number (nobody passed early, every local write before the
/// arrival is visible) and carries the number to the other hosts; after the wait every process
/// checks that exactly the expected hosts carried exactly this number, and that the cluster
/// generation advanced by one.
fn gens(a: &Args, region: &Region, config: &ClusterConfig) {
    let cluster = connect(a, region, config);
    let b = cluster.join(&a.get("barrier")).unwrap_or_else(|e| fail(&format!("join: {e}")));
    let n = a.num("gens", 1000);
    let procs = a.num("procs", 2) as usize;
    let hosts: BTreeSet<String> = a.get("hosts").split(',').map(str::to_owned).collect();
    let dir = std::path::PathBuf::from(a.get("dir")).join(cluster.host_id());
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("mkdir: {e}")));
    let me = dir.join(std::process::id().to_string());
    let split = a.num("split", 0) == 1;
    go();
    let start = Instant::now();
    let mut first: Option<u64> = None;
    let mut led = 0u64;
    for i in 0..n {
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        std::fs::write(&tmp, i.to_string())
            .and_then(|_| std::fs::rename(&tmp, &me))
            .unwrap_or_else(|e| fail(&format!("write: {e}")));
        let check = || {
            let mut seen = 0;
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                let v = std::fs::read_to_string(e.path()).unwrap_or_default();
                if v != i.to_string() {
                    fail(&format!("generation {i}: local peer file {:?} says {v:?}", e.path()));
                }
                seen += 1;
            }
            if seen != procs {
                fail(&format!("generation {i}: {seen} local files, want {procs}"));
            }
            i.to_string().into_bytes()
        };
        let limit = Some(Duration::from_secs(60));
        let r = if split {
            // Split phase: arrive, then await (the leader's value runs in its await).
            b.arrive().and_then(|t| b.await_with(t.ticket, limit, check))
        } else {
            b.wait_with(limit, check)
        }
        .unwrap_or_else(|e| fail(&format!("generation {i}: wait: {e}")));
        led += u64::from(r.host_leader);
        let got: BTreeSet<String> = r.values.keys().cloned().collect();
        if got != hosts {
            fail(&format!("generation {i}: hosts carried {got:?}, want {hosts:?}"));
        }
        if let Some((h, v)) = r.values.iter().find(|(_, v)| **v != i.to_string().into_bytes()) {
            fail(&format!("generation {i}: host {h} carried {:?}", String::from_utf8_lossy(v)));
        }
        let g0 = *first.get_or_insert(r.generation);
        if r.generation != g0 + i {
            fail(&format!("generation {i}: cluster generation {} after starting at {g0}", r.generation));
        }
    }
    println!("done {n} led {led} ms {}", start.elapsed().as_millis());
}

fn looping(a: &Args, region: &Region, config: &ClusterConfig) {
    let cluster = connect(a, region, config);
    let b = cluster.join(&a.get("barrier")).unwrap_or_else(|e| fail(&format!("join: {e}")));
    let max = a.num("gens", 60);
    let pause = Duration::from_millis(a.num("pause-ms", 20));
    go();
    let mut ok = 0u64;
    while ok < max {
        match b.wait_timeout(Duration::from_secs(60)) {
            Ok(r) => {
                println!("gen {}", r.generation);
                ok += 1;
            }
            Err(Error::HostDied { host, pid }) => {
                println!("hostdied {host} {pid}");
                b.reset().unwrap_or_else(|e| fail(&format!("reset: {e}")));
            }
            Err(Error::PeerDied { pid }) => {
                println!("peerdied {pid}");
                b.reset().unwrap_or_else(|e| fail(&format!("reset: {e}")));
            }
            Err(Error::Unavailable(m)) => {
                println!("unavailable {m}");
                std::process::exit(3);
            }
            Err(e) => fail(&format!("wait: {e}")),
        }
        std::thread::sleep(pause);
    }
    println!("finished {ok}");
}

fn join_leave(a: &Args, region: &Region, config: &ClusterConfig) {
    let cluster = connect(a, region, config);
    go();
    let b = cluster.join(&a.get("barrier")).unwrap_or_else(|e| fail(&format!("join: {e}")));
    let mut hosts = BTreeSet::new();
    for _ in 0..a.num("gens", 5) {
        let r = b.wait_timeout(Duration::from_secs(60)).unwrap_or_else(|e| fail(&format!("wait: {e}")));
        hosts.extend(r.values.keys().cloned());
        println!("gen {} hosts {}", r.generation, r.values.keys().cloned().collect::<Vec<_>>().join(","));
    }
    b.resign().unwrap_or_else(|e| fail(&format!("resign: {e}")));
    println!("left");
}

/// Times `--gens N` calls of `generation` after `--warmup W` untimed ones and prints
/// `lat mean <ns> p50 .. p90 .. p99 .. n N`.
fn timed(a: &Args, mut generation: impl FnMut()) {
    let (w, n) = (a.num("warmup", 20), a.num("gens", 200));
    let mut times = Vec::with_capacity(n as usize);
    for i in 0..w + n {
        let t = Instant::now();
        generation();
        if i >= w {
            times.push(t.elapsed().as_nanos() as u64);
        }
    }
    times.sort_unstable();
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    let mean = times.iter().sum::<u64>() / times.len().max(1) as u64;
    println!("lat mean {mean} p50 {} p90 {} p99 {} n {}", pick(0.5), pick(0.9), pick(0.99), times.len());
}

fn bench_cluster(a: &Args, region: &Region, config: &ClusterConfig) {
    let cluster = connect(a, region, config);
    let b = cluster.join(&a.get("barrier")).unwrap_or_else(|e| fail(&format!("join: {e}")));
    go();
    timed(a, || {
        b.wait_timeout(Duration::from_secs(60)).unwrap_or_else(|e| fail(&format!("wait: {e}")));
    });
}

fn bench_recipe(a: &Args, config: &ClusterConfig) {
    let parties = a.num("parties", 6) as usize;
    let mut r = recipe::DoubleBarrier::connect(config, &format!("/muster-recipe/{}", a.get("name")), parties)
        .unwrap_or_else(|e| fail(&format!("connect: {e}")));
    go();
    timed(a, || {
        r.enter().unwrap_or_else(|e| fail(&format!("enter: {e}")));
        r.leave().unwrap_or_else(|e| fail(&format!("leave: {e}")));
    });
}

fn bench_local(a: &Args, region: &Region) {
    let b = region.join(&a.get("barrier")).unwrap_or_else(|e| fail(&format!("join: {e}")));
    go();
    timed(a, || {
        b.wait_timeout(Duration::from_secs(60)).unwrap_or_else(|e| fail(&format!("wait: {e}")));
    });
}
