//! Helpers for muster-cluster's multi-process tests: the etcd gate, worker processes of
//! simulated hosts (one region per simulated host, distinct `--host` ids), their output lines with
//! arrival times, and watchdogs (a test fails instead of hanging; dropping kills every worker).
#![allow(dead_code)]

use muster_cluster::testkit::{etcd_available, EtcdCluster};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Generous bound for any one multi-process step.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// One etcd cluster and its worker processes at a time per test binary (the machine has 2 CPUs).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts a 3-member etcd cluster, or prints why the test is skipped and returns `None`.
pub fn etcd(n: usize) -> Option<EtcdCluster> {
    if !etcd_available() {
        println!("skipped: the etcd binary is not installed (Debian: apt-get install etcd-server)");
        return None;
    }
    Some(EtcdCluster::start(n).expect("start etcd cluster"))
}

/// A name unique to this test process.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("mc-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Region names of simulated hosts, unlinked on drop.
pub struct Regions(pub Vec<String>);

impl Drop for Regions {
    fn drop(&mut self) {
        for r in &self.0 {
            let _ = muster_shm::Region::unlink(r);
        }
    }
}

pub struct Worker {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub host: String,
}

/// Worker processes and their output: `(worker index, time read, line)`.
pub struct Workers {
    pub w: Vec<Worker>,
    tx: Sender<(usize, Instant, String)>,
    pub rx: Receiver<(usize, Instant, String)>,
    pub log: Vec<(usize, Instant, String)>,
}

impl Workers {
    pub fn new() -> Workers {
        let (tx, rx) = channel();
        Workers { w: Vec::new(), tx, rx, log: Vec::new() }
    }

    /// Starts a worker for `host` with `args` (`--key value` pairs).
    pub fn spawn(&mut self, host: &str, args: &[(&str, String)]) -> usize {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_muster-cluster-worker"));
        cmd.arg("--host").arg(host);
        for (k, v) in args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn worker");
        let idx = self.w.len();
        let out = child.stdout.take().expect("stdout");
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send((idx, Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        self.w.push(Worker { child, stdin, host: host.to_owned() });
        idx
    }

    /// Next line from anyone, or panics after `limit`.
    pub fn next(&mut self, limit: Duration) -> (usize, Instant, String) {
        let l = self
            .rx
            .recv_timeout(limit)
            .unwrap_or_else(|_| panic!("watchdog: no worker output for {limit:?}; log: {:?}", self.tail()));
        self.log.push(l.clone());
        l
    }

    /// The last 3 lines of every worker (for watchdog messages).
    fn tail(&self) -> Vec<String> {
        let mut out = Vec::new();
        for w in 0..self.w.len() {
            let mine: Vec<_> = self.log.iter().filter(|(i, _, _)| *i == w).collect();
            out.extend(mine.iter().rev().take(3).rev().map(|(i, _, l)| format!("{i}: {l}")));
        }
        out
    }

    /// Waits until every worker in `which` printed a line starting with `prefix`; returns the
    /// time each did. A line starting with `error` fails the test.
    pub fn await_each(&mut self, which: &[usize], prefix: &str, limit: Duration) -> Vec<Instant> {
        let start = Instant::now();
        let mut seen: Vec<Option<Instant>> = vec![None; self.w.len()];
        while which.iter().any(|i| seen[*i].is_none()) {
            let left = limit
                .checked_sub(start.elapsed())
                .unwrap_or_else(|| panic!("watchdog: waiting for {prefix:?}; log: {:?}", self.tail()));
            let (i, t, line) = self.next(left);
            assert!(!line.starts_with("error"), "worker {i} ({}): {line}", self.w[i].host);
            if line.starts_with(prefix) && seen[i].is_none() {
                seen[i] = Some(t);
            }
        }
        which.iter().map(|i| seen[*i].expect("seen")).collect()
    }

    /// Sends `go` to the workers in `which`.
    pub fn go(&mut self, which: &[usize]) {
        for i in which {
            let s = self.w[*i].stdin.as_mut().expect("stdin");
            s.write_all(b"go\n").expect("write go");
            s.flush().expect("flush");
        }
    }

    pub fn kill(&mut self, i: usize) {
        let _ = self.w[i].child.kill();
        let _ = self.w[i].child.wait();
    }

    /// Waits for worker `i` to exit; returns its exit code (None: killed by a signal).
    pub fn exit_code(&mut self, i: usize, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.w[i].child.try_wait().expect("try_wait") {
                return st.code();
            }
            if start.elapsed() > limit {
                self.kill(i);
                panic!("watchdog: worker {i} still running after {limit:?}; log: {:?}", self.tail());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Drains output already printed.
    pub fn drain(&mut self) {
        while let Ok(l) = self.rx.try_recv() {
            self.log.push(l);
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.drain();
            let path = std::env::temp_dir().join(format!("muster-cluster-test-{}.log", std::process::id()));
            let text: String = self.log.iter().map(|(i, _, l)| format!("{i} {}: {l}\n", self.w[*i].host)).collect();
            if std::fs::write(&path, text).is_ok() {
                eprintln!("worker output: {}", path.display());
            }
        }
        for w in &mut self.w {
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }
}

/// Common worker arguments for a process of `host` in cluster `name`.
pub fn args(name: &str, region: &str, endpoints: &str, role: &str) -> Vec<(&'static str, String)> {
    vec![
        ("role", role.to_owned()),
        ("name", name.to_owned()),
        ("region", region.to_owned()),
        ("endpoints", endpoints.to_owned()),
        ("barrier", "Phase 1".to_owned()),
    ]
}
