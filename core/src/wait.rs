//! The waiting engine: spin briefly, yield a little, then sleep on a futex word.
//!
//! Everything that blocks in Muster ends up here. The algorithm is independent of where the futex
//! word lives; a [`Parker`] supplies the operating-system side (shared futexes for a region, private
//! futexes for heap state, a model for loom) and the clock.
//!
//! ## Eventcount protocol (no lost wake-ups)
//! A futex word `seq` is used as an eventcount: bit 0 ([`SLEEPERS`]) says "somebody may be asleep",
//! the rest is a counter advanced by 2 on every state change that can end a wait.
//! * Sleeper: `s = seq.load()`, re-check the condition, set bit 0 with `CAS(s -> s|1)`, then
//!   `futex_wait(seq, s|1)`. The kernel sleeps only if `seq` still equals `s|1`.
//! * Waker: change the state first, then `old = seq.fetch_update(|v| (v + 2) & !1)`; issue
//!   `futex_wake(all)` only if `old & 1` was set.
//!
//! Invariant: a sleeper that re-checked the condition before the state change either sees the
//! counter move (its CAS or the kernel's value check fails) or had set bit 0 before the waker's
//! update, in which case the waker calls the kernel. Both RMWs are `SeqCst`, so one of the two
//! orders is observed. When nobody sleeps the waker pays one uncontended RMW and no syscall.
//!
//! ## Adaptive policy
//! Spinning only pays while the process we wait for is running on another CPU. When the barrier
//! has at most as many parties as online CPUs we spin (with `pause`) for up to `spin_ns`, then yield
//! for up to `yield_ns`, then sleep. When parties outnumber CPUs the partner we wait for usually
//! needs *our* CPU, so we spin only a few iterations and go straight to yielding (which hands the
//! CPU to a runnable peer without the ~25 µs cost of a futex sleep/wake pair on a VM) and sleep
//! once the yield budget is spent. A sleeper wakes every `check_ns` to run a liveness hook, so a
//! peer that died is noticed even if nobody else is running.

use crate::sync::{spin_hint, AtomicU32, Ordering};

/// Bit 0 of an eventcount word: a sleeper may be in the kernel.
pub const SLEEPERS: u32 = 1;

/// The operating-system side of waiting.
pub trait Parker {
    /// Sleeps while `*word == expected`, until woken, interrupted, or `deadline_ns` (absolute, on
    /// [`Parker::now_ns`]'s clock) passes. Spurious returns are allowed.
    fn park(&self, word: &AtomicU32, expected: u32, deadline_ns: Option<u64>);
    /// Wakes every sleeper parked on `word`.
    fn unpark_all(&self, word: &AtomicU32);
    /// A monotonic clock in nanoseconds.
    fn now_ns(&self) -> u64;
    /// Gives the CPU to another runnable thread or process.
    fn yield_now(&self);
    /// Number of CPUs this process may run on (at least 1).
    fn cpus(&self) -> u32;
}

/// Tunable waiting policy. The defaults suit a machine where a futex sleep/wake pair costs tens of
/// microseconds (a VM) and a cache-line transfer tens of nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    /// Busy-spin budget when the barrier's parties fit on the CPUs.
    pub spin_ns: u64,
    /// Busy-spin iterations when parties outnumber CPUs.
    pub oversubscribed_spins: u32,
    /// Budget for the `sched_yield` phase before sleeping.
    pub yield_ns: u64,
    /// Longest single sleep before the liveness hook runs again.
    pub check_ns: u64,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy { spin_ns: 50_000, oversubscribed_spins: 64, yield_ns: 200_000, check_ns: 20_000_000 }
    }
}

/// What a condition check says.
pub enum Poll<T> {
    /// Stop waiting with this value.
    Ready(T),
    /// Keep waiting.
    Pending,
}

/// Waits until `check` is ready or `deadline_ns` passes (`Err(())`), using the eventcount `seq`.
///
/// `parties` is the number of participants that may be waiting on each other (it decides between
/// the spinning and the oversubscribed policy). `idle` runs about every `policy.check_ns` while
/// yielding or sleeping (the liveness hook); it may change the state and bump `seq` itself.
#[allow(clippy::result_unit_err)] // `Err(())` = the deadline passed; callers map it to their own error
pub fn wait_until<T, P: Parker + ?Sized>(
    parker: &P,
    policy: &WaitPolicy,
    seq: &AtomicU32,
    parties: u32,
    deadline_ns: Option<u64>,
    mut check: impl FnMut() -> Poll<T>,
    mut idle: impl FnMut(),
) -> Result<T, ()> {
    if let Poll::Ready(v) = check() {
        return Ok(v);
    }
    let oversubscribed = parties > parker.cpus();
    let start = parker.now_ns();
    let past = |now: u64| deadline_ns.is_some_and(|d| now >= d);

    // Phase 1: busy spin. Read the clock only every 64 iterations.
    if oversubscribed {
        for _ in 0..policy.oversubscribed_spins {
            spin_hint();
            if let Poll::Ready(v) = check() {
                return Ok(v);
            }
        }
    } else {
        let mut i: u32 = 0;
        loop {
            spin_hint();
            if let Poll::Ready(v) = check() {
                return Ok(v);
            }
            i = i.wrapping_add(1);
            if i.is_multiple_of(64) {
                let now = parker.now_ns();
                if past(now) {
                    return Err(());
                }
                if now.saturating_sub(start) >= policy.spin_ns {
                    break;
                }
            }
        }
    }

    // Phase 2: yield to runnable peers.
    let yield_start = parker.now_ns();
    let mut last_idle = yield_start;
    loop {
        let now = parker.now_ns();
        if past(now) {
            return Err(());
        }
        if now.saturating_sub(yield_start) >= policy.yield_ns {
            break;
        }
        if now.saturating_sub(last_idle) >= policy.check_ns {
            idle();
            last_idle = now;
        }
        parker.yield_now();
        if let Poll::Ready(v) = check() {
            return Ok(v);
        }
    }

    // Phase 3: sleep on the eventcount, waking periodically for the liveness hook.
    loop {
        let s = seq.load(Ordering::SeqCst);
        if let Poll::Ready(v) = check() {
            return Ok(v);
        }
        let now = parker.now_ns();
        if past(now) {
            return Err(());
        }
        if s & SLEEPERS == 0 && seq.compare_exchange(s, s | SLEEPERS, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            continue;
        }
        let wake_at = match deadline_ns {
            Some(d) => d.min(now.saturating_add(policy.check_ns)),
            None => now.saturating_add(policy.check_ns),
        };
        parker.park(seq, s | SLEEPERS, Some(wake_at));
        if let Poll::Ready(v) = check() {
            return Ok(v);
        }
        if parker.now_ns() >= wake_at && !past(parker.now_ns()) {
            idle();
        }
    }
}

/// Advances the eventcount `seq` after a state change and wakes sleepers if any may be parked.
#[inline]
pub fn notify_all<P: Parker + ?Sized>(parker: &P, seq: &AtomicU32) {
    let old = match seq.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v.wrapping_add(2) & !SLEEPERS)) {
        Ok(v) | Err(v) => v,
    };
    if old & SLEEPERS != 0 {
        parker.unpark_all(seq);
    }
}
