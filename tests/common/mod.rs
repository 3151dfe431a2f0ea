//! Helpers for multi-process tests: unique region names, the worker binary, the kids guard
//! (`kids`), and a watchdog.
#![allow(dead_code)]

pub mod kids;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous bound for any single multi-process step: a test fails instead of hanging.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// A region name unique to this test process, unlinked on drop.
pub struct TempName(pub String);

impl TempName {
    pub fn new(tag: &str) -> TempName {
        static N: AtomicU32 = AtomicU32::new(0);
        TempName(format!("mt-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
    }
}

impl Drop for TempName {
    fn drop(&mut self) {
        let _ = muster::Region::unlink(&self.0);
        let _ = std::fs::remove_file(format!("/dev/shm/{}.log", self.0));
    }
}

/// Starts the worker binary with `args`, stdout piped.
pub fn worker(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_muster-test-worker"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn worker")
}

/// Waits for `child` to exit within `limit`, killing it and panicking otherwise. Returns success.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> bool {
    wait_bounded_status(child, limit).success()
}

/// [`wait_bounded`], returning the exit status (for failure messages).
pub fn wait_bounded_status(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        match child.try_wait().expect("try_wait") {
            Some(st) => return st,
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("watchdog: worker {} still running after {limit:?}", child.id());
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Waits for all `children` within one overall `limit`. As soon as one fails (or the limit
/// passes) the rest are killed, so a broken run fails fast instead of waiting out every child.
/// Returns whether all succeeded.
pub fn wait_all_bounded(children: &mut [Child], limit: Duration) -> bool {
    let start = Instant::now();
    let mut done = vec![false; children.len()];
    let mut ok = true;
    while ok && done.iter().any(|d| !d) {
        for (c, d) in children.iter_mut().zip(done.iter_mut()) {
            if !*d {
                if let Some(st) = c.try_wait().expect("try_wait") {
                    *d = true;
                    ok &= st.success();
                }
            }
        }
        if start.elapsed() > limit {
            ok = false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    for c in children.iter_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
    ok
}

/// Reads the child's stdout lines on a thread; `next_line` waits with a bound.
pub struct Lines(mpsc::Receiver<String>);

impl Lines {
    pub fn of(child: &mut Child) -> Lines {
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines(rx)
    }
    pub fn next_line(&self, limit: Duration) -> String {
        self.0.recv_timeout(limit).unwrap_or_else(|e| panic!("watchdog: no line from worker within {limit:?}: {e}"))
    }
}

/// Runs `f` on a thread and panics if it does not finish within `limit`.
pub fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("watchdog: step did not finish within {limit:?}"))
}
