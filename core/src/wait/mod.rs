//! The waiting engine: spin briefly, yield a little, then sleep on a futex word.
//!
//! Everything that blocks in Muster ends up here. The algorithm is independent of where the futex
//! word lives; a [`Parker`] supplies the operating-system side (shared futexes for a region, private
//! futexes for heap state, a model for loom) and the clock.
//!
//! ## Eventcount protocol (no lost wake-ups)
//! A futex word `seq` is used as an eventcount: bit 0 ([`SLEEPERS`]) says "somebody may be asleep",
//! the rest is a counter advanced by 2 by wakers.
//! * Sleeper ([`wait_for`]): `s = seq.load()`; set bit 0 (`CAS(s -> s|1)` unless already set);
//!   re-check the condition with a *strong* read; `futex_wait(seq, s|1)`. The kernel sleeps only
//!   if `seq` still equals `s|1`.
//! * Waker, general form ([`notify_all`]): change the state, then always
//!   `old = seq.fetch_update(|v| (v + 2) & !1)`, and `futex_wake(all)` only if `old & 1`. Pairs
//!   with any condition check: a sleeper that read the old state sees its CAS or the kernel's
//!   value check fail.
//! * Waker, fast form ([`notify_sleepers`]): change the state with an RMW on the state word, then
//!   merely *load* `seq`; bump and wake only if bit 0 is set. This keeps the release path free of
//!   a second write when nobody sleeps. It is correct only when the sleeper's strong re-check is
//!   itself an RMW on the same state word (e.g. `fetch_add(0)`): either that RMW comes after the
//!   waker's in the word's modification order (so it reads the new state), or before it, in which
//!   case the waker's RMW reads from the sleeper's release sequence, the sleeper's bit-setting CAS
//!   happens-before the waker's load, and the waker sees the bit. No fence needed; the model test
//!   `core/tests/loom_barrier.rs` checks it with a futex model in which a lost wake-up deadlocks.
//!
//! ## Adaptive policy
//! Spinning only pays while the process we wait for is running on another CPU. When the barrier
//! has at most as many parties as online CPUs we spin (with `pause`) for up to `spin_ns`, then yield
//! for up to `yield_ns`, then sleep. When parties outnumber CPUs the partner we wait for usually
//! needs *our* CPU, so we spin only a few iterations and go straight to yielding (which hands the
//! CPU to a runnable peer without the ~25 µs cost of a futex sleep/wake pair on a VM) and sleep
//! once the yield budget is spent. A sleeper wakes every `check_ns` to run a liveness hook, so a
//! peer that died is noticed even if nobody else is running.
//!
//! ## Busy machines: sleep instead of yielding
//! Yielding is only good while the tasks that want our CPU are the barrier's own parties. With
//! foreign CPU-bound work runnable, a yield hands it our CPU for a whole slice (milliseconds),
//! while a futex sleeper is woken (with a wake-up preemption) by the last arrival. So before its
//! yield phase a wait asks the parker's process-wide [`Contention`] memory whether yielding pays
//! (a cached sample of the machine's runnable tasks, and whether recent yields were followed by
//! progress; see `contention.rs`), skips straight to sleeping if not, and reports every yield that
//! took a slice without bringing the awaited event, which ends its own yield phase too. The
//! spin phase and the eventcount protocol are untouched: the memory only chooses between two
//! correct ways of waiting, and a parker without one ([`Parker::contention`] = `None`, e.g. the
//! loom models) keeps the quiet-machine policy.
//!
//! How long to spin is learnt per handle ([`Adaptive`]: the length of recent waits, sleeps
//! included, so a partner's wake-up latency is learnt and then spun through instead of slept
//! through), and capped at [`WaitPolicy::busy_spin_ns`] while the load sample shows more
//! runnable tasks than CPUs (the partner may be queued behind the spinner). Barrier cells count
//! their sleeping waiters ([`Sleepers::Counter`]) and alting selects look at their parties'
//! eventcount words ([`Sleepers::Probe`]), so a load sample is judged against the parties
//! that can be runnable.

mod adaptive;

pub use adaptive::Adaptive;

use crate::contention::{Contention, Load};
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
    /// The process-wide memory that decides whether yielding pays (see [`Contention`]). `None`
    /// (the default) always yields before sleeping: the quiet-machine policy.
    fn contention(&self) -> Option<&Contention> {
        None
    }
    /// Reads the machine's load now (a system call; [`Contention`] caches it and calls this at
    /// most every `refresh_ns`). `None`: not observable here.
    fn sample_load(&self) -> Option<Load> {
        None
    }
}

/// Tunable waiting policy. The defaults suit a machine where a futex sleep/wake pair costs tens of
/// microseconds (a VM) and a cache-line transfer tens of nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    /// Busy-spin budget when the barrier's parties fit on the CPUs.
    pub spin_ns: u64,
    /// The spin budget instead while tasks wait for a CPU (more runnable tasks than CPUs; see
    /// [`Contention::quiet`]): long enough to catch a partner that is being woken on another CPU
    /// (a few µs on a VM), short enough that a partner queued behind us on *our* CPU is not kept
    /// off it for long.
    pub busy_spin_ns: u64,
    /// Busy-spin iterations when parties outnumber CPUs.
    pub oversubscribed_spins: u32,
    /// Budget for the `sched_yield` phase before sleeping.
    pub yield_ns: u64,
    /// Longest single sleep before the liveness hook runs again.
    pub check_ns: u64,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            spin_ns: 50_000,
            busy_spin_ns: 3_000,
            oversubscribed_spins: 16,
            yield_ns: 200_000,
            check_ns: 20_000_000,
        }
    }
}

/// What a condition check says.
pub enum Poll<T> {
    /// Stop waiting with this value.
    Ready(T),
    /// Keep waiting.
    Pending,
}

impl<T> Poll<T> {
    /// Whether this is [`Poll::Pending`].
    pub fn is_pending(&self) -> bool {
        matches!(self, Poll::Pending)
    }
}

/// Who a wait waits with.
#[derive(Clone, Copy, Debug)]
pub struct Peers<'a> {
    /// The participants that may be waiting on each other (decides between the spinning and the
    /// oversubscribed policy).
    pub parties: u32,
    /// How many of them are asleep in the kernel right now, where that can be known (sleeping
    /// waiters are not runnable, so the runnable tasks beyond the *awake* parties are foreign
    /// work; see [`Contention::may_yield`] and [`Contention::yielded`]).
    pub asleep: Sleepers<'a>,
}

/// Where a wait learns how many of its parties sleep in the kernel (see [`Peers`]).
#[derive(Clone, Copy)]
pub enum Sleepers<'a> {
    /// Not observable: every party counts as awake, and a slow yield is judged by its length
    /// alone.
    Unknown,
    /// A counter the barrier keeps (a heuristic word, maybe garbage or stale). [`wait_for`]
    /// keeps it up to date around its sleeps when the parker has a [`Contention`] memory.
    Counter(&'a AtomicU32),
    /// Counted by looking, e.g. at the parties' own eventcount words (an alting select waits on
    /// several barriers, and its parties sleep each on its own word). Called only when a load
    /// sample is taken or a slow yield is judged, never on the fast path.
    Probe(&'a dyn Fn() -> u32),
}

impl core::fmt::Debug for Sleepers<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Sleepers::Unknown => f.write_str("Unknown"),
            Sleepers::Counter(c) => f.debug_tuple("Counter").field(c).finish(),
            Sleepers::Probe(_) => f.write_str("Probe"),
        }
    }
}

impl Peers<'_> {
    /// Parties that are not asleep (at least 1: the caller), judged from a count that may be
    /// garbage or stale.
    pub fn awake(&self) -> u32 {
        let asleep = match self.asleep {
            Sleepers::Unknown => 0,
            Sleepers::Counter(a) => a.load(Ordering::Relaxed),
            Sleepers::Probe(count) => count(),
        };
        self.parties.saturating_sub(asleep).max(1)
    }

    /// Whether the sleeping parties can be known at all.
    pub fn observable(&self) -> bool {
        !matches!(self.asleep, Sleepers::Unknown)
    }
}

impl From<u32> for Peers<'_> {
    fn from(parties: u32) -> Self {
        Peers { parties, asleep: Sleepers::Unknown }
    }
}

/// Whether a wait for `parties` participants is oversubscribed: more of them than CPUs, so the
/// partner it waits for usually needs the caller's CPU and spinning only delays it (see the
/// module docs). The one rule for every spinning path, the split-phase polls included.
pub fn oversubscribed<P: Parker + ?Sized>(parker: &P, parties: u32) -> bool {
    parties > parker.cpus()
}

/// Waits until `check` is ready or `deadline_ns` passes (`Err(())`), using the eventcount `seq`;
/// pairs with [`notify_all`]. See [`wait_for`] for the arguments.
#[allow(clippy::result_unit_err)] // `Err(())` = the deadline passed; callers map it to their own error
pub fn wait_until<T, P: Parker + ?Sized>(
    parker: &P,
    policy: &WaitPolicy,
    seq: &AtomicU32,
    parties: u32,
    deadline_ns: Option<u64>,
    mut check: impl FnMut() -> Poll<T>,
    idle: impl FnMut(),
) -> Result<T, ()> {
    wait_for(parker, policy, seq, parties.into(), deadline_ns, None, |_| check(), idle)
}

/// Waits until `check` is ready or `deadline_ns` passes (`Err(())`), using the eventcount `seq`.
/// `check(strong)` is called with `strong == true` right before sleeping; to pair with
/// [`notify_sleepers`] that check must read the state with an RMW (see module docs).
///
/// `peers` says how many participants may be waiting on each other (see [`Peers`]). `idle` runs
/// about every `policy.check_ns` while yielding or sleeping (the liveness hook); it may change
/// the state and bump `seq` itself.
///
/// `adapt`, if given, bounds the spin phase by what recent waits needed (see [`Adaptive`]) and
/// learns from this wait.
#[allow(clippy::result_unit_err)] // `Err(())` = the deadline passed; callers map it to their own error
#[allow(clippy::too_many_arguments)]
pub fn wait_for<T, P: Parker + ?Sized>(
    parker: &P,
    policy: &WaitPolicy,
    seq: &AtomicU32,
    peers: Peers<'_>,
    deadline_ns: Option<u64>,
    adapt: Option<&Adaptive>,
    mut check: impl FnMut(bool) -> Poll<T>,
    mut idle: impl FnMut(),
) -> Result<T, ()> {
    if let Poll::Ready(v) = check(false) {
        if let Some(a) = adapt {
            a.record(0);
        }
        return Ok(v);
    }
    wait_slow(parker, policy, seq, peers, deadline_ns, adapt, &mut check, &mut idle)
}

/// The spin, yield and sleep phases of [`wait_for`].
#[allow(clippy::too_many_arguments)]
fn wait_slow<T, P: Parker + ?Sized>(
    parker: &P,
    policy: &WaitPolicy,
    seq: &AtomicU32,
    peers: Peers<'_>,
    deadline_ns: Option<u64>,
    adapt: Option<&Adaptive>,
    check: &mut impl FnMut(bool) -> Poll<T>,
    idle: &mut impl FnMut(),
) -> Result<T, ()> {
    let parties = peers.parties;
    let oversubscribed = oversubscribed(parker, parties);
    // One defined u64 from here on (u64::MAX: no deadline). Comparing the payload of a `None`
    // (uninitialised) inside a branchless `min` is harmless but makes memcheck report every wait.
    let deadline = deadline_ns.unwrap_or(u64::MAX);
    let past = |now: u64| now >= deadline;
    let sense = parker.contention();
    let may_yield = |now: u64| {
        policy.yield_ns > 0 && sense.is_none_or(|c| c.may_yield(now, || peers.awake(), || parker.sample_load()))
    };
    // Whether to yield, when already decided (oversubscribed waits decide before spinning).
    let mut yielding: Option<bool> = None;
    // The first clock reading of this wait and the spin iterations before it, so a wait that
    // yields or sleeps can record how long it took (see `Adaptive`).
    let mut first: Option<(u64, u32)> = None;
    // `end = None`: record "long". A wait that ended while yielding learnt nothing about spinning
    // longer: either its partner needed our CPU (then spinning keeps it off) or the yield was a
    // slow spin on an otherwise idle CPU; either way the next wait should reach its yields soon.
    // Sleeps record their length (the convoy described at `Adaptive`).
    let finish = |first: Option<(u64, u32)>, end: Option<u64>| {
        if let Some(a) = adapt {
            match (first, end) {
                (Some((t0, spins)), Some(end)) => {
                    let before = u64::from(spins) * Adaptive::DEFAULT_NS_PER_SPIN;
                    a.record_ns(end.saturating_sub(t0).saturating_add(before));
                }
                _ => a.record(Adaptive::CAP),
            }
        }
    };

    // Phase 1: busy spin. Read the clock only every 64 iterations.
    if oversubscribed {
        // The partner we wait for needs a CPU; on a busy machine it is not ours to give (a yield
        // runs foreign work), and spinning only delays the sleep that lets the scheduler run it.
        let now = parker.now_ns();
        first = Some((now, 0));
        let y = sense.is_none() || may_yield(now);
        yielding = Some(y);
        let spins = if y { policy.oversubscribed_spins } else { 0 };
        for _ in 0..spins {
            spin_hint();
            if let Poll::Ready(v) = check(false) {
                finish(first, None);
                return Ok(v);
            }
        }
    } else {
        let mut budget = adapt.map_or(u32::MAX, Adaptive::budget);
        // Recent waits outlasted the spin phase: on a busy machine, spinning on burns CPU the
        // scheduler then charges to us (a spinner loses its wake-up preemption over CPU-bound
        // work), so sleep at once instead.
        if budget <= Adaptive::MIN_SPINS && sense.is_some() {
            let now = parker.now_ns();
            first = Some((now, 0));
            let y = may_yield(now);
            yielding = Some(y);
            if !y {
                budget = 0;
            }
        }
        // Recent waits outlasted even the busy spin budget and tasks wait for a CPU: a spin could
        // not catch the partner, so do not start one (the clock read this needs is paid only by
        // handles whose waits are long anyway, never on the quiet fast path).
        if let (Some(c), Some(a)) = (sense, adapt) {
            if budget > 0 && a.average_ns() > policy.busy_spin_ns {
                let now = parker.now_ns();
                first.get_or_insert((now, 0));
                if !c.quiet(now, || peers.awake(), || parker.sample_load()) {
                    budget = 0;
                }
            }
        }
        let mut spin_start: Option<u64> = None;
        let mut spin_ns = policy.spin_ns;
        let mut i: u32 = 0;
        while i < budget {
            spin_hint();
            if let Poll::Ready(v) = check(false) {
                if let Some(a) = adapt {
                    a.record(i);
                }
                return Ok(v);
            }
            i = i.wrapping_add(1);
            if i >= budget {
                break;
            }
            if i.is_multiple_of(64) {
                // The clock is first read after 64 iterations, keeping it off the fast path; the
                // time budget counts from there.
                let now = parker.now_ns();
                // A wait without a memory of its own cannot learn that spinning pays on a busy
                // machine: it stops at its first clock read. A wait with one spins its learnt
                // budget (the parties it waits for may well be running on the other CPUs: only
                // what the waits take says whether spinning catches them), but while no CPU is
                // idle at most `busy_spin_ns`: a partner that waits for *our* CPU arrives only
                // once we stop, so each spin would add its whole length to the episode.
                if spin_start.is_none() && sense.is_some() {
                    if adapt.is_none() {
                        if yielding.is_none() {
                            let y = may_yield(now);
                            yielding = Some(y);
                            if !y {
                                break;
                            }
                        }
                    } else if let Some(c) = sense {
                        // (A handle whose waits outlast even this cap did not start spinning:
                        // see the check before the loop.)
                        if !c.quiet(now, || peers.awake(), || parker.sample_load()) {
                            spin_ns = spin_ns.min(policy.busy_spin_ns);
                        }
                    }
                }
                match spin_start {
                    None => {
                        spin_start = Some(now);
                        first.get_or_insert((now, i));
                    }
                    Some(start) if i == 128 => {
                        if let Some(a) = adapt {
                            a.calibrate(64, now.saturating_sub(start));
                        }
                    }
                    Some(_) => {}
                }
                if past(now) {
                    finish(first, Some(now));
                    return Err(());
                }
                if now.saturating_sub(spin_start.unwrap_or(now)) >= spin_ns {
                    break;
                }
            }
        }
    }

    // Phase 2: yield to runnable peers, unless the machine is known to be busy with other work
    // (then a yield would run a foreign slice: sleep instead, see the module docs).
    let yield_start = parker.now_ns();
    let first = Some(first.unwrap_or((yield_start, 0)));
    if yielding.unwrap_or_else(|| may_yield(yield_start)) {
        let mut last_idle = yield_start;
        let mut now = yield_start;
        loop {
            if past(now) {
                finish(first, Some(now));
                return Err(());
            }
            if now.saturating_sub(yield_start) >= policy.yield_ns {
                break;
            }
            if now.saturating_sub(last_idle) >= policy.check_ns {
                (*idle)();
                last_idle = now;
            }
            parker.yield_now();
            let before = now;
            now = parker.now_ns();
            // A yield that took a time slice without bringing the event ran foreign work (or
            // peers computing for that long, where sleeping costs nothing extra); one that
            // brought it counts only where the load proves foreign work (see
            // `Contention::yielded`): beside busy loops the event usually comes, a slice late.
            let ready = check(false);
            let progress = matches!(ready, Poll::Ready(_));
            let awake = || peers.observable().then(|| (peers.awake(), peers.parties));
            let slow = sense.is_some_and(|c| c.yielded(before, now, progress, awake, || parker.sample_load()));
            if let Poll::Ready(v) = ready {
                finish(first, None);
                return Ok(v);
            }
            if slow {
                break;
            }
        }
    }

    // Phase 3: sleep on the eventcount, waking periodically for the liveness hook. With a
    // contention memory, the barrier's count of sleepers says we are asleep meanwhile.
    let asleep = match peers.asleep {
        Sleepers::Counter(a) if sense.is_some() => Some(a),
        _ => None,
    };
    loop {
        let s = seq.load(Ordering::SeqCst);
        if let Poll::Ready(v) = check(false) {
            finish(first, Some(parker.now_ns()));
            return Ok(v);
        }
        let now = parker.now_ns();
        if past(now) {
            finish(first, Some(now));
            return Err(());
        }
        if s & SLEEPERS == 0 && seq.compare_exchange(s, s | SLEEPERS, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            continue;
        }
        // Strong re-check after announcing ourselves (see the module docs).
        if let Poll::Ready(v) = check(true) {
            finish(first, Some(parker.now_ns()));
            return Ok(v);
        }
        let wake_at = deadline.min(now.saturating_add(policy.check_ns));
        if let Some(a) = asleep {
            a.fetch_add(1, Ordering::Relaxed);
        }
        parker.park(seq, s | SLEEPERS, if wake_at == u64::MAX { None } else { Some(wake_at) });
        if let Some(a) = asleep {
            // Never below zero, whatever another process wrote there.
            let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
        }
        if let Poll::Ready(v) = check(false) {
            finish(first, Some(parker.now_ns()));
            return Ok(v);
        }
        if parker.now_ns() >= wake_at && !past(parker.now_ns()) {
            (*idle)();
        }
    }
}

/// How long [`backoff`] naps on a busy machine.
pub const NAP_NS: u64 = 50_000;

/// One step of a lock-free helping wait that already spun (e.g. for a claim held by another
/// agent's completion attempt, which ends without a wake-up): a yield while yielding pays; while
/// the process's [`Contention`] memory holds a busy verdict, a timed nap of [`NAP_NS`] on a private
/// word instead, since a yield would run a foreign slice and keep spinning us off our wake-up
/// preemption. Never consults the load itself (no system call beyond the nap).
pub fn backoff<P: Parker + ?Sized>(parker: &P) {
    match parker.contention() {
        Some(c) if c.tuning().enabled => {
            let now = parker.now_ns();
            if c.busy_at(now) {
                let word = AtomicU32::new(0);
                parker.park(&word, 0, Some(now.saturating_add(NAP_NS)));
            } else {
                parker.yield_now();
            }
        }
        _ => parker.yield_now(),
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

/// Fast wake for state changed by an RMW whose sleepers re-check with an RMW ([`wait_for`] with a
/// strong check): one load when nobody sleeps (see module docs for why this is enough).
#[inline]
pub fn notify_sleepers<P: Parker + ?Sized>(parker: &P, seq: &AtomicU32) {
    if seq.load(Ordering::Acquire) & SLEEPERS != 0 {
        notify_all(parker, seq);
    }
}
