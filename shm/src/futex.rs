//! Futex wait/wake and the clock: the operating-system side of [`muster_core::wait::Parker`].
//!
//! Two parkers share one implementation:
//! * [`SharedParker`] for words inside a `MAP_SHARED` region. It never sets `FUTEX_PRIVATE_FLAG`:
//!   with the flag the kernel keys the futex by (mm, address) and a waker in another process
//!   silently wakes nobody (this is why `atomic-wait` and std's futex cannot be used here).
//! * [`PrivateParker`] for heap state used by the threads of one process (the flag is set, which
//!   saves the kernel a VMA lookup). `atomic-wait` would do for untimed waits, but it has no
//!   timeout, and every Muster wait can carry a deadline.
//!
//! Both hand waits the process-wide contention memory of [`crate::load`], which decides whether a
//! wait that stopped spinning yields or goes straight to sleep.
//!
//! Timeouts use `FUTEX_WAIT_BITSET` with an *absolute* `CLOCK_MONOTONIC` deadline, so retrying
//! after `EINTR` or a spurious wake-up never stretches the wait.

use crate::load::{process_contention, sample};
use muster_core::contention::{Contention, Load};
use muster_core::sync::AtomicU32;
use muster_core::wait::{Parker, WaitPolicy};
use std::sync::OnceLock;

fn futex_wait(word: &AtomicU32, expected: u32, deadline_ns: Option<u64>, private: bool) {
    let op = libc::FUTEX_WAIT_BITSET | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
    let ts = deadline_ns
        .map(|d| libc::timespec { tv_sec: (d / 1_000_000_000) as libc::time_t, tv_nsec: (d % 1_000_000_000) as _ });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, 4-byte aligned atomic for the duration of the call; the kernel only
    // reads it (value check) and the optional timespec, which outlives the call. Any result
    // (woken, EAGAIN, EINTR, ETIMEDOUT) is fine: callers re-check their condition.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op,
            expected,
            ts_ptr,
            std::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        );
    }
}

fn futex_wake_all(word: &AtomicU32, private: bool) {
    let op = libc::FUTEX_WAKE | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
    // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is live for the call.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), op, i32::MAX);
    }
}

/// Nanoseconds on `CLOCK_MONOTONIC` (the clock futex deadlines are measured on).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

fn cpus() -> u32 {
    static CPUS: OnceLock<u32> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32))
}

/// The waiting policy for this process: [`WaitPolicy::default`], overridden by the environment
/// variables `MUSTER_SPIN_NS`, `MUSTER_BUSY_SPIN_NS`, `MUSTER_OVERSUB_SPINS`, `MUSTER_YIELD_NS`, `MUSTER_CHECK_NS`
/// (the liveness-check interval of sleepers, at least 1 ms) (read once). The
/// busy-machine observer has its own variables (see [`crate::load`]).
pub fn process_policy() -> &'static WaitPolicy {
    static POLICY: OnceLock<WaitPolicy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let mut p = WaitPolicy::default();
        let var = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(v) = var("MUSTER_SPIN_NS") {
            p.spin_ns = v;
        }
        if let Some(v) = var("MUSTER_OVERSUB_SPINS") {
            p.oversubscribed_spins = v.min(u64::from(u32::MAX)) as u32;
        }
        if let Some(v) = var("MUSTER_BUSY_SPIN_NS") {
            p.busy_spin_ns = v;
        }
        if let Some(v) = var("MUSTER_CHECK_NS") {
            p.check_ns = v.max(1_000_000);
        }
        if let Some(v) = var("MUSTER_YIELD_NS") {
            p.yield_ns = v;
        }
        p
    })
}

/// Parks on words in shared memory (no `FUTEX_PRIVATE_FLAG`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SharedParker;

/// Parks on words private to this process.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrivateParker;

macro_rules! parker {
    ($t:ty, $private:expr) => {
        impl Parker for $t {
            fn park(&self, word: &AtomicU32, expected: u32, deadline_ns: Option<u64>) {
                futex_wait(word, expected, deadline_ns, $private)
            }
            fn unpark_all(&self, word: &AtomicU32) {
                futex_wake_all(word, $private)
            }
            fn now_ns(&self) -> u64 {
                monotonic_ns()
            }
            fn yield_now(&self) {
                std::thread::yield_now()
            }
            fn cpus(&self) -> u32 {
                cpus()
            }
            fn contention(&self) -> Option<&Contention> {
                Some(process_contention())
            }
            fn sample_load(&self) -> Option<Load> {
                sample()
            }
        }
    };
}
parker!(SharedParker, false);
parker!(PrivateParker, true);
