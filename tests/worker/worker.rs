//! Worker process for the multi-process tests (`tests/plain_barrier.rs`). Not part of the API.
//!
//! `muster-test-worker <role> <args...>`; exit code 0 = success, 1 = check failed, 2 = usage.
//! Roles:
//! * `phases REGION BARRIER PARTIES EPISODES LOG PROC`: meets at a counted barrier EPISODES times;
//!   before each arrival publishes its progress in LOG (a shared u32 array); after each wait checks
//!   that every peer arrived in this generation and none is more than one ahead; records its
//!   arrival index per generation in LOG for the parent to check.
//! * `member REGION BARRIER EPISODES`: joins a membership barrier, waits EPISODES times, prints
//!   `ready` after joining and the outcome of every wait as `ok GEN IDX` / `err ERROR`.
//! * `join-and-hang REGION BARRIER`: joins, prints `ready`, then sleeps (to be SIGKILLed).
//! * `open-barrier REGION BARRIER PARTIES`: open_or_create the region and the barrier, print its
//!   index in the name table (via generation hack: prints `ok`).
//! * `goldsmith ...`: see [`goldsmith`]; the other alting roles live in `alting.rs`.

mod alting;
mod crash;
mod plain_kill;

use muster::{Region, RegionConfig};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

struct Log {
    ptr: *mut AtomicU32,
    len: usize,
}

impl Log {
    fn open(path: &str) -> Log {
        let f = std::fs::OpenOptions::new().read(true).write(true).open(path).expect("open log");
        let len = f.metadata().expect("stat log").len() as usize;
        use std::os::fd::AsRawFd;
        // SAFETY: mapping a regular file we opened read-write, shared, whole length.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap log");
        Log { ptr: p as *mut AtomicU32, len: len / 4 }
    }
    fn at(&self, i: usize) -> &AtomicU32 {
        assert!(i < self.len, "log index {i} out of {}", self.len);
        // SAFETY: in bounds (checked), 4-aligned (page-aligned mapping), and the mapping lives for
        // the whole process (never unmapped).
        unsafe { &*self.ptr.add(i) }
    }
}

fn fail(msg: String) -> ! {
    eprintln!("worker {}: {msg}", std::process::id());
    std::process::exit(1)
}

fn num(a: &[String], i: usize) -> u32 {
    a.get(i).and_then(|v| v.parse().ok()).unwrap_or_else(|| fail(format!("argument {i} missing or not a number")))
}

fn phases(a: &[String]) {
    let region = Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open: {e}")));
    let n = num(a, 4);
    let episodes = num(a, 5);
    let log = Log::open(&a[6]);
    let me = num(a, 7) as usize;
    let b = region.barrier(&a[3], n).unwrap_or_else(|e| fail(format!("barrier: {e}")));
    // progress[p] at p * 16 (own cache line), indices after 16 * n.
    let base = 16 * n as usize;
    for k in 0..episodes {
        log.at(me * 16).store(k + 1, Ordering::SeqCst);
        let r = b.wait().unwrap_or_else(|e| fail(format!("wait {k}: {e}")));
        for q in 0..n as usize {
            let p = log.at(q * 16).load(Ordering::SeqCst);
            if p < k + 1 || p > k + 2 {
                fail(format!("after generation {k} peer {q} is at {p}"));
            }
        }
        if r.index >= n {
            fail(format!("index {} out of range", r.index));
        }
        log.at(base + (k as usize) * n as usize + me).store(r.index + 1, Ordering::SeqCst);
    }
}

/// Goldsmith's challenge: P (0) offers a,b; Q (1) offers b,c; R (2) offers c,a. Loops
/// `fair_select` (with a short timeout so it can stop) until the shared stop flag is set, which the
/// first process to reach ROUNDS events sets. Logs `barrier << 24 | ticket` per event into LOG at
/// `4 + me * stride`; word `me` holds its event count; word 3 the stop flag.
fn goldsmith(a: &[String]) {
    let region = Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open: {e}")));
    let me = num(a, 3) as usize;
    let rounds = num(a, 4);
    let log = Log::open(&a[5]);
    let stride = num(a, 6) as usize;
    let min_per_barrier = num(a, 7);
    let names = ["a", "b", "c"];
    // (barrier, front-end index) offered by each process.
    let offers = [[(0usize, 0u32), (1, 0)], [(1, 1), (2, 0)], [(2, 1), (0, 1)]];
    let fes: Vec<_> = offers[me]
        .iter()
        .map(|&(b, i)| region.alting_attach(names[b], i).unwrap_or_else(|e| fail(format!("attach: {e}"))))
        .collect();
    let mut alt = region.alternative().unwrap_or_else(|e| fail(format!("alternative: {e}")));
    for f in &fes {
        alt.add_alting(f).unwrap_or_else(|e| fail(format!("add: {e}")));
    }
    say("ready");
    let mut n = 0usize;
    // The last ticket seen on each of this process's two barriers (= how often it fired).
    let mut last = [0u32; 2];
    let t0 = std::time::Instant::now();
    // Word 3 gathers the stop condition: bit p = both of process p's barriers fired
    // `min_per_barrier` times, bit 3 = some process logged `rounds` events.
    while log.at(3).load(Ordering::SeqCst) != GOLDSMITH_DONE {
        match alt.select(muster::Select::Fair, Some(std::time::Duration::from_millis(50))) {
            Ok(g) => {
                let ticket = alt.ticket().unwrap_or_else(|e| fail(format!("ticket: {e}"))).unwrap_or(0);
                if n >= stride {
                    fail(format!("log full before every barrier fired {min_per_barrier} times ({last:?})"));
                }
                log.at(4 + me * stride + n).store(((offers[me][g].0 as u32) << 24) | ticket, Ordering::SeqCst);
                n += 1;
                log.at(me).store(n as u32, Ordering::SeqCst);
                last[g] = ticket;
                if last.iter().all(|&t| t >= min_per_barrier) {
                    log.at(3).fetch_or(1 << me, Ordering::SeqCst);
                }
                if n as u32 >= rounds {
                    log.at(3).fetch_or(1 << 3, Ordering::SeqCst);
                }
            }
            Err(muster::Error::Timeout) => {}
            Err(e) => fail(format!("select: {e}")),
        }
    }
    say(&format!("done {n} {}", t0.elapsed().as_nanos()));
}

/// [`goldsmith`]'s stop word once all three processes and the round count are satisfied.
const GOLDSMITH_DONE: u32 = 0b1111;

fn say(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("phases") => phases(&a),
        Some("member") => {
            let region = Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open: {e}")));
            let b = region.join(&a[3]).unwrap_or_else(|e| fail(format!("join: {e}")));
            say("ready");
            for _ in 0..num(&a, 4) {
                match b.wait() {
                    Ok(r) => say(&format!("ok {} {}", r.generation, r.index)),
                    Err(e) => say(&format!("err {e}")),
                }
            }
        }
        Some("member-until-ok") => {
            // Waits until one wait succeeds (at most 5000 tries), printing every outcome.
            let region = Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open: {e}")));
            let b = region.join(&a[3]).unwrap_or_else(|e| fail(format!("join: {e}")));
            say("ready");
            for _ in 0..5000 {
                match b.wait_timeout(std::time::Duration::from_secs(60)) {
                    Ok(r) => {
                        say(&format!("ok {} {}", r.generation, r.index));
                        return;
                    }
                    Err(e) => {
                        say(&format!("err {e}"));
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
            }
            fail("no wait succeeded".into())
        }
        Some("fork-misuse") => {
            // A handle inherited across fork() must refuse to act for the child.
            let region = Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open: {e}")));
            let b = region.join(&a[3]).unwrap_or_else(|e| fail(format!("join: {e}")));
            // SAFETY: this process is single-threaded here; the child only calls our API and exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let ok = matches!(b.wait(), Err(muster::Error::Misuse(_)))
                    && matches!(region.barrier("other", 2), Err(muster::Error::Misuse(_)))
                    && matches!(b.resign(), Err(muster::Error::Misuse(_)))
                    && matches!(b.abort(), Err(muster::Error::Misuse(_)))
                    && matches!(region.alting_create("alt-in-child", 2), Err(muster::Error::Misuse(_)))
                    && matches!(region.alting_reset("alt-in-child", 0), Err(muster::Error::Misuse(_)))
                    && matches!(region.channel("ch-in-child", 4, false), Err(muster::Error::Misuse(_)))
                    && Region::open(&a[2]).and_then(|r| r.barrier("other", 1)?.wait()).is_ok();
                std::mem::forget(b);
                std::mem::forget(region);
                // SAFETY: leave the child without running the parent's destructors or atexit hooks.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
                fail("forked child did not see Misuse".into());
            }
            // The parent is still a live member: alone, it passes its own barrier.
            b.wait().unwrap_or_else(|e| fail(format!("parent wait after fork: {e}")));
            say("ok");
        }
        Some("goldsmith") => goldsmith(&a),
        Some("plain-kill") => plain_kill::plain_kill(&a),
        Some("alt-sync") => alting::alt_sync(&a),
        Some("gadget") => alting::gadget(&a),
        Some("resign-race") => alting::resign_race(&a),
        Some("misuse") => alting::misuse_role(&a),
        Some("alt-hold") => alting::alt_hold(&a),
        Some("poll-partner") => alting::poll_partner(&a),
        Some("expand-load") => alting::expand_load(&a),
        Some("kill-sel") => alting::kill_sel(&a),
        Some("crash-gold") => crash::gold(&a),
        Some("crash-writer") => crash::writer(&a),
        Some("crash-reader") => crash::reader(&a),
        Some("crash-region") => crash::region_racer(&a),
        Some("join-and-hang") => {
            let region = Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open: {e}")));
            let _b = region.join(&a[3]).unwrap_or_else(|e| fail(format!("join: {e}")));
            say("ready");
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
        Some("open-barrier") => {
            let region =
                Region::open_or_create(&a[2], &RegionConfig::default()).unwrap_or_else(|e| fail(format!("open: {e}")));
            let b = region.barrier(&a[3], num(&a, 4)).unwrap_or_else(|e| fail(format!("barrier: {e}")));
            // Meet the other racers, so all of them must have found the same barrier.
            b.wait_timeout(std::time::Duration::from_secs(60)).unwrap_or_else(|e| fail(format!("wait: {e}")));
            say("ok");
        }
        _ => {
            eprintln!(
                "usage: muster-test-worker phases|member|join-and-hang|open-barrier|goldsmith|alt-sync|gadget|..."
            );
            std::process::exit(2)
        }
    }
}
