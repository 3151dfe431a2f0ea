//! Worker role for the random-instant kill tests of plain barriers (`tests/party_identity.rs`).
//!
//! `plain-kill REGION BARRIER KIND N ME LOG`: KIND is `counted` or `member`. Meets at the barrier
//! in a tight loop with plain `wait()` (no timeout: a lost peer would hang it) until a wait fails;
//! LOG is a shared u32 array:
//! * `[0..8)` progress: the round each worker is about to arrive in (written before arriving);
//!   after every successful wait of round `r` every peer must have reached `r` (else exit 3:
//!   someone was released before every party arrived);
//! * `[8..24)` the CLOCK_MONOTONIC time (lo, hi) at which this worker's wait failed;
//! * `[24..32)` 1 once this worker finished (membership: after the survivors reset and passed
//!   three more generations with one party less).
//!
//! Exit codes: 0 ok, 3 early release, 4 unexpected error, 5 wrong party count after recovery,
//! 6 a survivor never saw the break.

use crate::{fail, num, say, Log};
use muster::{Error, Region};

const PROGRESS: usize = 0;
const ERR_AT: usize = 8;
const DONE: usize = 24;

pub fn plain_kill(a: &[String]) {
    let region = Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open region: {e}")));
    let member = a[4] == "member";
    let n = num(a, 5) as usize;
    let me = num(a, 6) as usize;
    let log = Log::open(&a[7]);
    let b = if member { region.join(&a[3]) } else { region.barrier(&a[3], n as u32) }
        .unwrap_or_else(|e| fail(format!("open barrier: {e}")));
    if member {
        // Start together: everyone enrolled before the first generation.
        while (b.parties() as usize) < n {
            std::thread::yield_now();
        }
    }
    // Round 1 arrives split-phase so that "ready" comes after this process is a party of the
    // counted barrier (a process killed before its first arrival never was one, and the others
    // would rightly wait for it).
    log.at(PROGRESS + me).store(1, std::sync::atomic::Ordering::SeqCst);
    let first = b.arrive().unwrap_or_else(|e| fail(format!("first arrival: {e}")));
    say("ready");
    let mut round: u32 = 0;
    loop {
        round += 1;
        log.at(PROGRESS + me).store(round, std::sync::atomic::Ordering::SeqCst);
        let outcome = if round == 1 {
            b.await_ticket(first.ticket, None).map(|()| first.index)
        } else {
            b.wait().map(|r| r.index)
        };
        match outcome {
            Ok(_) => {
                for p in 0..n {
                    let peer = log.at(PROGRESS + p).load(std::sync::atomic::Ordering::SeqCst);
                    if peer < round {
                        eprintln!("worker {me}: released in round {round} but worker {p} only reached {peer}");
                        std::process::exit(3);
                    }
                }
            }
            Err(Error::PeerDied { .. }) | Err(Error::Broken) => {
                let t = muster_shm::futex::monotonic_ns();
                log.at(ERR_AT + 2 * me).store(t as u32, std::sync::atomic::Ordering::SeqCst);
                log.at(ERR_AT + 2 * me + 1).store((t >> 32) as u32, std::sync::atomic::Ordering::SeqCst);
                break;
            }
            Err(e) => {
                eprintln!("worker {me}: unexpected error {e}");
                std::process::exit(4);
            }
        }
    }
    if member {
        // The survivors reset and pass again, one party less. No reset before every survivor
        // saw the broken generation: a survivor that had not arrived yet would otherwise meet
        // the others in the fresh generation while still in its checking loop.
        let since = std::time::Instant::now();
        let seen = || (0..n).filter(|p| log.at(ERR_AT + 2 * p).load(std::sync::atomic::Ordering::SeqCst) != 0).count();
        while seen() < n - 1 {
            if since.elapsed() > std::time::Duration::from_secs(10) {
                eprintln!("worker {me}: only {} of {} survivors saw the break", seen(), n - 1);
                std::process::exit(6);
            }
            std::thread::yield_now();
        }
        let mut passed = 0;
        while passed < 3 {
            match b.wait() {
                Ok(_) => {
                    passed += 1;
                    // Checked after the first pass: nobody leaves (and resigns) before every
                    // survivor passed all three.
                    if passed == 1 && b.parties() as usize != n - 1 {
                        eprintln!("worker {me}: {} parties after recovery, want {}", b.parties(), n - 1);
                        std::process::exit(5);
                    }
                }
                Err(Error::PeerDied { .. }) | Err(Error::Broken) => {
                    if b.is_broken() {
                        let _ = b.reset();
                    }
                }
                Err(e) => {
                    eprintln!("worker {me}: unexpected error after the kill: {e}");
                    std::process::exit(4);
                }
            }
        }
    }
    log.at(DONE + me).store(1, std::sync::atomic::Ordering::SeqCst);
}
