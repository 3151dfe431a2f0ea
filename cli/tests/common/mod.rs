//! Helpers for the CLI tests: unique region names, running the `muster` binary, and child
//! processes that hold regions open.
//!
//! Child processes are this test binary re-executed with `MUSTER_CLI_CHILD=<role>`: it runs only
//! the ignored test `child_entry` (`--exact --ignored`), which performs the role. Each role prints
//! `MUSTER-CHILD-READY` once its state is set up, then waits for its stdin to close (or, for looping roles,
//! for its time to pass).
#![allow(dead_code)]

use muster_shm::{Region, RegionConfig};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Generous bound for any single step: a test fails instead of hanging.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// The prefix of every region name this test process makes: `muster clean --prefix` with it
/// touches nothing of other processes running tests at the same time.
pub fn prefix() -> String {
    format!("mc-{}-", std::process::id())
}

/// A region name unique to this test process; the region, its sidecar and temporaries are
/// removed on drop.
pub struct TempName(pub String);

impl TempName {
    pub fn new(tag: &str) -> TempName {
        static N: AtomicU32 = AtomicU32::new(0);
        TempName(format!("{}{tag}-{}", prefix(), N.fetch_add(1, Ordering::Relaxed)))
    }
    pub fn path(&self) -> String {
        format!("/dev/shm/{}", self.0)
    }
    pub fn sidecar(&self) -> String {
        format!("/dev/shm/.{}.muster-lock", self.0)
    }
}

impl Drop for TempName {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
        let _ = std::fs::remove_file(self.sidecar());
    }
}

/// Path of the built `muster` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_muster")
}

/// Runs `muster args...` with a watchdog.
pub fn muster(args: &[&str]) -> Output {
    run_bounded(Command::new(bin()).args(args))
}

/// Runs a command, killing it after [`WATCHDOG`].
pub fn run_bounded(cmd: &mut Command) -> Output {
    try_run_bounded(cmd).unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

/// [`run_bounded`], but a command that cannot be started is an `Err` (for tests that probe
/// whether they can run something at all, e.g. as another user).
pub fn try_run_bounded(cmd: &mut Command) -> std::io::Result<Output> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("watchdog: {cmd:?} still running after {WATCHDOG:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output { status, stdout: t_out.join().expect("stdout"), stderr: t_err.join().expect("stderr") })
}

/// `muster --json args...`, expecting exit 0, parsed.
pub fn muster_json(args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = muster(&a);
    assert!(out.status.success(), "muster {a:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON from {a:?}: {e}: {:?}", out.stdout))
}

/// The `ls --json` entry of region `name`, if listed.
pub fn ls_entry(name: &str) -> Option<Value> {
    let v = muster_json(&["ls"]);
    v["regions"].as_array().expect("regions array").iter().find(|r| r["name"] == name).cloned()
}

/// Asserts a failed run: exit status 1 and exactly one stderr line naming `region` and
/// containing `reason`; never a panic.
pub fn assert_error(out: &Output, region: &str, reason: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "expected exit 1, stderr: {err}");
    assert_eq!(err.lines().count(), 1, "expected one stderr line, got: {err}");
    assert!(err.contains(region), "stderr does not name {region}: {err}");
    assert!(err.contains(reason), "stderr does not say {reason:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A child process that is killed (and reaped) when dropped.
pub struct Held {
    pub child: Child,
    stdin: Option<ChildStdin>,
}

impl Held {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs the child and reaps it.
    pub fn kill9(&mut self) {
        // SAFETY: sending a signal to our own child's pid; no memory arguments.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// Closes the child's stdin (it then exits normally) and waits; returns its success.
    pub fn finish(&mut self) -> bool {
        drop(self.stdin.take());
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st.success();
            }
            if start.elapsed() > WATCHDOG {
                panic!("watchdog: child {} did not exit", self.child.id());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts this test binary as a child with `role` on `region` and waits for its `ready` line.
pub fn spawn(role: &str, region: &str) -> Held {
    spawn_env(role, region, &[])
}

/// [`spawn`] with extra environment variables.
pub fn spawn_env(role: &str, region: &str, env: &[(&str, &str)]) -> Held {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(["child_entry", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("MUSTER_CLI_CHILD", role)
        .env("MUSTER_CLI_REGION", region)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn child");
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.trim_end().ends_with("MUSTER-CHILD-READY") {
                let _ = tx.send(());
            }
        }
    });
    let mut held = Held { child, stdin };
    if rx.recv_timeout(WATCHDOG).is_err() {
        held.kill9();
        panic!("child {role} on {region} never became ready");
    }
    held
}

fn ready() {
    println!("MUSTER-CHILD-READY");
    let _ = std::io::stdout().flush();
}

fn wait_stdin_eof() {
    let mut buf = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut buf);
}

fn die(msg: String) -> ! {
    eprintln!("child: {msg}");
    std::process::exit(3)
}

/// The body of the `child_entry` test of each test binary: does nothing unless this process
/// was started by [`spawn`].
pub fn child_main() {
    let Ok(role) = std::env::var("MUSTER_CLI_CHILD") else { return };
    let name = std::env::var("MUSTER_CLI_REGION").unwrap_or_else(|_| die("no region".into()));
    let cfg = RegionConfig::default();
    let ok = |r: muster_shm::Result<()>, what: &str| r.unwrap_or_else(|e| die(format!("{what}: {e}")));
    match role.as_str() {
        // Everything `show` reports: a counted and a membership barrier (joined), an alting
        // barrier with front-end 0 owned here, a channel holding two values.
        "hold" => {
            let r = Region::open_or_create(&name, &cfg).unwrap_or_else(|e| die(format!("open: {e}")));
            let _phase = r.barrier("phase", 2).unwrap_or_else(|e| die(format!("barrier: {e}")));
            let _group = r.join("group").unwrap_or_else(|e| die(format!("join: {e}")));
            match r.alting_create("alt", 2) {
                Ok(()) | Err(muster_shm::Error::Exists) => {}
                Err(e) => die(format!("alting_create: {e}")),
            }
            let _fe = r.alting_attach("alt", 0).unwrap_or_else(|e| die(format!("alting_attach: {e}")));
            let ch = r.channel("ch", 4, false).unwrap_or_else(|e| die(format!("channel: {e}")));
            ok(ch.try_write(7).map(|_| ()), "write");
            ok(ch.try_write(8).map(|_| ()), "write");
            ready();
            wait_stdin_eof();
        }
        // Joins "group" twice and waits at it with one handle (the other never arrives), and
        // from a second thread waits at the counted barrier "pair" (2 parties) alone, so `show`
        // sees one waiter on each; dies waiting when SIGKILLed.
        "waiter" => {
            let r = Region::open_or_create(&name, &cfg).unwrap_or_else(|e| die(format!("open: {e}")));
            let g = r.join("group").unwrap_or_else(|e| die(format!("join: {e}")));
            let _other = r.join("group").unwrap_or_else(|e| die(format!("join: {e}")));
            let pair = r.barrier("pair", 2).unwrap_or_else(|e| die(format!("barrier: {e}")));
            std::thread::spawn(move || {
                let _ = pair.wait_timeout(Duration::from_secs(100));
            });
            ready();
            let _ = g.wait_timeout(Duration::from_secs(100));
        }
        // Completes episodes of a 1-party barrier as fast as it can (for `top`).
        "spin" => {
            let r = Region::open_or_create(&name, &cfg).unwrap_or_else(|e| die(format!("open: {e}")));
            let b = r.barrier("spin", 1).unwrap_or_else(|e| die(format!("barrier: {e}")));
            ready();
            let start = Instant::now();
            while start.elapsed() < WATCHDOG {
                if let Err(e) = b.wait() {
                    die(format!("wait: {e}"));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        // Opens and closes the region over and over for MUSTER_CLI_SECS seconds; after every open
        // the named file must be the one it is attached to (inspection lists this pid alive).
        "churn" => {
            let secs: f64 = std::env::var("MUSTER_CLI_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
            ready();
            let start = Instant::now();
            let me = std::process::id();
            let mut opens = 0u64;
            while start.elapsed().as_secs_f64() < secs {
                let r = Region::open_or_create(&name, &cfg).unwrap_or_else(|e| die(format!("open: {e}")));
                let b = r.barrier("b", 1).unwrap_or_else(|e| die(format!("barrier: {e}")));
                b.wait().unwrap_or_else(|e| die(format!("wait: {e}")));
                let snap = muster_shm::inspect::inspect(&name).unwrap_or_else(|e| die(format!("inspect: {e}")));
                if !snap.processes.iter().any(|p| p.pid == me && p.alive) {
                    die(format!("attached to a region that is no longer named {name}"));
                }
                drop(b);
                drop(r);
                opens += 1;
            }
            eprintln!("churn {name}: {opens} opens");
        }
        other => die(format!("unknown role {other}")),
    }
    std::process::exit(0);
}

/// Polls `f` until it returns true or [`WATCHDOG`] passes.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > WATCHDOG {
            panic!("watchdog: never {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
