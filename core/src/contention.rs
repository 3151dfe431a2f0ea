//! Is yielding worth it? A process-wide memory of what waiters observed about the machine.
//!
//! A waiter that stopped spinning either yields (`sched_yield`) or sleeps on its futex. Yielding
//! is the better choice while the tasks that want our CPU are the barrier's own parties (a VM's
//! futex sleep/wake pair costs tens of microseconds, a yield to a peer a few). It is the worst
//! choice when unrelated CPU-bound work is runnable: the scheduler hands it our CPU for a whole
//! slice (milliseconds; measured 1.8 ms per episode at N = 4 beside two busy loops, against 18 µs
//! for `pthread_barrier`, which sleeps and is woken, with a wake-up preemption, by the last
//! arrival). A sleeper, in contrast, gets the CPU back as soon as it is woken.
//!
//! [`Contention`] decides from two observations, both cheap and neither on the fast path (a wait
//! consults it only after its spin phase failed):
//! * **The machine's runnable-task count** ([`Load`]: Linux's `nr_running` from `/proc/loadavg`,
//!   and the CPUs it competes for), sampled by whichever waiter finds the cached sample older than
//!   [`Tuning::refresh_ns`] (so at most one read per few milliseconds per process). The reader
//!   and the barrier's other parties may be runnable themselves, so the sample only *proves*
//!   something at its extremes (see [`classify`]): fewer runnable tasks than CPUs is quiet (a CPU
//!   is idle; a yield returns at once or runs a peer); two or more runnable tasks beyond both the
//!   CPUs and the barrier's awake parties (those not asleep in the kernel, when the barrier counts
//!   them) means foreign work is runnable: busy. (One could be a kernel worker passing by.)
//!   The sample also decides how long a spin may last: with more runnable tasks than CPUs, a
//!   partner that has not arrived may be queued behind the spinner on its own CPU
//!   ([`crate::wait::WaitPolicy::busy_spin_ns`]).
//! * **Whether yields are followed by progress.** In between, the wait yields and times each
//!   yield. One that took [`Tuning::slow_yield_ns`] or more without bringing the awaited event
//!   ran somebody else's slice: the machine is busy. That verdict is held for a while
//!   ([`Tuning::hold_ns`], 200 ms, doubled on every further slow probe up to
//!   [`Tuning::max_hold_ns`], 6.4 s, so a persistently busy machine pays one slice per several
//!   seconds per process), after which one wait probes with a yield again. A quiet sample clears
//!   it at once, and so does a fast yield after the hold expired: the foreign work was a burst
//!   (a JVM's JIT compiler threads, a short job), and without this a few bursts spread over a
//!   run doubled the hold to seconds of sleeping where yields would have served (measured:
//!   `AltingBarrier.sync` with 4 JVMs on 2 CPUs, 1.45× slower than with the policy off). (Each
//!   process probes for itself, and a probe stalls the whole barrier for a slice; a verdict
//!   shared by a barrier's parties would need a word in the region.)
//!
//! Errors are asymmetric: a false "busy" costs a futex wake-up where a yield would have done
//! (microseconds), a false "quiet" costs a time slice (milliseconds). So busy evidence of either
//! kind marks the machine busy; only a quiet sample or the hold's expiry lifts it.
//!
//! The memory is a heuristic, never part of a correctness argument: it uses plain (not loom)
//! relaxed atomics, and races between waiters only lose or duplicate a sample.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A sample of the machine's load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    /// Tasks runnable right now, machine-wide, the reader included (Linux `nr_running`).
    pub running: u32,
    /// The CPUs the count competes for: the machine's online CPUs, or fewer where this process
    /// may only use fewer (then a low machine-wide count proves nothing about *our* CPUs).
    pub cpus: u32,
}

/// What a load sample proves about yielding, for a barrier of `parties` parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Fewer runnable tasks than CPUs (a CPU is idle) or only the reader: a yield cannot hand the
    /// CPU to a long foreign slice.
    Quiet,
    /// At least two runnable tasks more than CPUs and than the barrier's awake parties: foreign work
    /// is runnable.
    Busy,
    /// Neither (or nothing observed): the parties themselves could explain the count.
    Unsure,
}

/// Classifies a load sample (a pure function: the decision the policy's tests drive).
///
/// `running` counts the reader, and up to `awake - 1` further runnable tasks may be its peers
/// (spinning, yielding or computing), so `running - awake` is a lower bound on the foreign
/// runnable tasks. `awake` is the barrier's parties minus those asleep in the kernel (which are
/// not runnable) where the barrier keeps that count, else all its parties: with most of 8
/// parties asleep beside two busy loops, 4 runnable tasks prove foreign work, where "8 parties"
/// would have explained them.
///
/// One foreign runnable task is not enough for [`Verdict::Busy`]: a kernel worker or the
/// harness waking for a moment would otherwise hold the verdict (and sleeping instead of
/// yielding) for [`Tuning::hold_ns`]; a single persistent one is caught by its slow yields
/// instead. Two or more (busy loops on every CPU of a 2-CPU machine) are.
pub fn classify(load: Option<Load>, awake: u32) -> Verdict {
    match load {
        None => Verdict::Unsure,
        Some(l) if l.cpus == 0 => Verdict::Unsure,
        Some(l) if l.running < l.cpus || l.running <= 1 => Verdict::Quiet,
        Some(l) if l.running > l.cpus.max(awake) + 1 => Verdict::Busy,
        Some(_) => Verdict::Unsure,
    }
}

/// Tunables of [`Contention`] (process-wide, like the memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Use the observations at all; `false` keeps the quiet-machine policy (always yield first).
    pub enabled: bool,
    /// Let a busy load sample stop yields by itself (else only slow yields do, and samples only
    /// lift busy verdicts). Off by default: beside compiler jobs and the like (many runnable
    /// tasks that block often) the count reads busy while yields still hand the CPU over within
    /// microseconds, and sleeping instead cost up to 24× per 2-party episode (measured: 8.7 µs
    /// against 0.37 µs at a load of 8); beside pure busy loops the first slow yield marks the
    /// machine busy just the same, one time slice later (`MUSTER_LOAD_BUSY=1` turns it on).
    pub busy_samples: bool,
    /// Oldest load sample a waiter reuses.
    pub refresh_ns: u64,
    /// A yield at least this long that did not bring the awaited event ran foreign work. Longer
    /// than a yield through a few peers that compute a little (tens of µs), shorter than the
    /// scheduler's slice (0.75-3 ms on Linux).
    pub slow_yield_ns: u64,
    /// How long a first busy verdict holds.
    pub hold_ns: u64,
    /// Longest hold (reached by doubling on repeated slow probes).
    pub max_hold_ns: u64,
    /// A slow yield whose load sample the barrier's parties could explain counts only if
    /// another one came at most this long before (see [`Contention::yielded`]).
    pub strike_window_ns: u64,
}

impl Tuning {
    /// The defaults (see the fields).
    pub const DEFAULT: Tuning = Tuning {
        enabled: true,
        busy_samples: false,
        refresh_ns: 4_000_000,
        slow_yield_ns: 300_000,
        hold_ns: 200_000_000,
        max_hold_ns: 6_400_000_000,
        strike_window_ns: 10_000_000,
    };
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning::DEFAULT
    }
}

/// A yield this long ran a CPU-bound task's whole time slice (EEVDF's base slice is 0.75 ms × (1 +
/// log2 CPUs), up to 3 ms; CFS's minimum granularity likewise): see [`Contention::yielded`].
pub const SLICE_NS: u64 = 1_000_000;

/// Sentinel for "no sample yet" in [`Contention::sampled_at`].
const NEVER: u64 = u64::MAX;

/// The process-wide memory (see the module docs). One per process; `const`-constructible so it
/// can be a `static`.
#[derive(Debug)]
pub struct Contention {
    tuning: Tuning,
    /// When the cached sample was taken ([`NEVER`] before the first).
    sampled_at: AtomicU64,
    /// The cached sample: `running << 32 | cpus`, 0 = the read failed.
    load: AtomicU64,
    /// The awake parties of the barrier whose waiter took the cached sample, counted at the same
    /// moment (see [`Contention::may_yield`]).
    awake: AtomicU64,
    /// Yielding is known not to pay until this time (0 = no busy verdict).
    busy_until: AtomicU64,
    /// The current hold (0 = none yet; doubles on repeated slow probes).
    hold: AtomicU64,
    /// When the last slow yield that the parties could explain happened (0 = none pending; see
    /// [`Contention::yielded`]).
    strike: AtomicU64,
}

impl Contention {
    /// A memory with nothing observed yet.
    pub const fn new(tuning: Tuning) -> Contention {
        Contention {
            tuning,
            sampled_at: AtomicU64::new(NEVER),
            load: AtomicU64::new(0),
            awake: AtomicU64::new(0),
            busy_until: AtomicU64::new(0),
            hold: AtomicU64::new(0),
            strike: AtomicU64::new(0),
        }
    }

    /// The tunables.
    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// The load sample, refreshed through `sample` if the cached one is older than
    /// `refresh_ns`. Concurrent callers elect one refresher (a CAS on the timestamp); the others
    /// use the previous sample.
    pub fn load(&self, now: u64, sample: impl FnOnce() -> Option<Load>) -> Option<Load> {
        self.sample_with(now, || 0, sample).0
    }

    /// [`Contention::load`], plus the awake-party count taken with the cached sample (`awake` is
    /// called only when the sample is refreshed, right after it).
    fn sample_with(
        &self,
        now: u64,
        awake: impl FnOnce() -> u32,
        sample: impl FnOnce() -> Option<Load>,
    ) -> (Option<Load>, u32) {
        let at = self.sampled_at.load(Relaxed);
        let stale = at == NEVER || now.saturating_sub(at) >= self.tuning.refresh_ns || now < at;
        if stale && self.sampled_at.compare_exchange(at, now, Relaxed, Relaxed).is_ok() {
            let l = sample();
            self.cache(l, awake());
        }
        (self.cached_load(), self.awake.load(Relaxed) as u32)
    }

    /// Takes a sample now, whatever the cache's age, and caches it with `awake`.
    fn resample(&self, now: u64, awake: u32, sample: impl FnOnce() -> Option<Load>) -> Option<Load> {
        let l = sample();
        self.sampled_at.store(now, Relaxed);
        self.cache(l, awake);
        l
    }

    /// Stores a sample and the awake-party count taken with it (`None`: the read failed).
    fn cache(&self, l: Option<Load>, awake: u32) {
        self.awake.store(u64::from(awake), Relaxed);
        self.load.store(l.map_or(0, |l| (u64::from(l.running) << 32) | u64::from(l.cpus)), Relaxed);
    }

    /// The cached sample (`None`: none taken yet, or the read failed).
    fn cached_load(&self) -> Option<Load> {
        let v = self.load.load(Relaxed);
        (v != 0).then_some(Load { running: (v >> 32) as u32, cpus: v as u32 })
    }

    /// Whether a waiter that stopped spinning at `now` should yield (true) or go straight to
    /// sleep (false). `awake` counts the barrier's parties that are not asleep in the kernel
    /// (the caller included; see [`classify`]) and `sample` reads the machine's load (a
    /// syscall); both are called only when the cached sample is stale, so the two describe the
    /// same moment.
    pub fn may_yield(&self, now: u64, awake: impl FnOnce() -> u32, sample: impl FnOnce() -> Option<Load>) -> bool {
        if !self.tuning.enabled {
            return true;
        }
        let (load, awake) = self.sample_with(now, awake, sample);
        match classify(load, awake) {
            Verdict::Quiet => {
                if self.busy_until.load(Relaxed) != 0 {
                    self.busy_until.store(0, Relaxed);
                    self.hold.store(0, Relaxed);
                }
                true
            }
            Verdict::Busy if self.tuning.busy_samples => {
                // Extend (without doubling) so that the Unsure samples that follow stay busy.
                let hold = self.hold.load(Relaxed).max(self.tuning.hold_ns);
                self.busy_until.fetch_max(now.saturating_add(hold), Relaxed);
                false
            }
            Verdict::Busy | Verdict::Unsure => now >= self.busy_until.load(Relaxed),
        }
    }

    /// Whether the cached sample shows no task waiting for a CPU (at most as many runnable tasks
    /// as CPUs, the reader and its spinning peers included): then a spinning waiter keeps nobody
    /// off a CPU, and a partner that has not arrived yet is running somewhere. Same arguments as
    /// [`Contention::may_yield`]; `true` when disabled or nothing was observed.
    ///
    /// This is looser than [`Verdict::Quiet`] (which needs an *idle* CPU, because it also clears
    /// busy verdicts): two parties spinning on a 2-CPU machine read 2 runnable tasks, and calling
    /// that "no idle CPU" capped their spins at `busy_spin_ns`, so every wait the partner took
    /// longer than that to reach went on to yield and sleep (measured, quiet N = 2: 382-521 ns per
    /// episode and a p99.9 of 25-57 µs, against 273-300 ns and 0.9-3.9 µs with the sensing off).
    pub fn quiet(&self, now: u64, awake: impl FnOnce() -> u32, sample: impl FnOnce() -> Option<Load>) -> bool {
        if !self.tuning.enabled {
            return true;
        }
        match self.sample_with(now, awake, sample).0 {
            None => true,
            Some(l) => l.cpus > 0 && l.running <= l.cpus,
        }
    }

    /// Reports a yield that started at `start` and returned at `end`; `progress` says whether the
    /// awaited event came meanwhile. Returns true if it counts as slow (the machine is now marked
    /// busy: stop yielding).
    ///
    /// A slow yield that did not bring the event ran somebody else's slice: busy. One that did
    /// bring it is ambiguous. Beside busy loops the event usually comes, one slice late; but
    /// where the barrier's processes outnumber the CPUs by themselves (Goldsmith's three
    /// processes on two CPUs, each select waiting on two-party barriers), a yield also runs a
    /// peer that spins and computes for a while before the event comes, and calling that busy
    /// makes every later wait sleep for the whole hold (measured: Goldsmith 0.36-0.41M events/s
    /// against 0.53-0.63M). So a slow yield with progress counts only when the cached load
    /// sample proves foreign work ([`Verdict::Busy`] for the awake parties counted with it), or
    /// when it took [`SLICE_NS`] or more: a peer that spins (at most `spin_ns`, 50 µs) and then
    /// yields in turn does not hold a CPU that long, a CPU-bound task given the slice does.
    ///
    /// A slow yield is judged against a load sample taken right then (through `sample`; `awake`
    /// gives the barrier's parties not asleep at the same moment, and all its parties). The VM
    /// this was built on stops a vCPU now and then (host steal, 2-5 % in bursts): a yield across
    /// such a stall takes a millisecond or more with no foreign task anywhere, and calling that
    /// busy made quiet waits sleep for the hold (4 parties on 2 CPUs: 36,000-157,000 futex calls
    /// per 100,000 episodes, 3.2-7.6 µs per episode; without the detector 10-24 calls, 3.3-4.5
    /// µs). So: no more runnable tasks than the CPUs or the awake parties is no evidence (nobody
    /// foreign was there to run); no more than the CPUs or all parties, plus one, is evidence
    /// only as the second such yield within [`Tuning::strike_window_ns`] (parties just woken are
    /// runnable but still counted asleep until they run, so the awake count lags; beside busy
    /// loops the next yield of the same wait is slow again at once, after a stall it is not);
    /// more is evidence. `awake` returns `None` where the barrier does not count its sleepers:
    /// the yield's length alone decides.
    ///
    /// A fast yield after the hold expired forgets the hold (see the module docs), so the next
    /// busy verdict starts again from [`Tuning::hold_ns`].
    pub fn yielded(
        &self,
        start: u64,
        end: u64,
        progress: bool,
        awake: impl FnOnce() -> Option<(u32, u32)>,
        sample: impl FnOnce() -> Option<Load>,
    ) -> bool {
        if !self.tuning.enabled {
            return false;
        }
        let took = end.saturating_sub(start);
        if took < self.tuning.slow_yield_ns {
            if self.hold.load(Relaxed) != 0 && end >= self.busy_until.load(Relaxed) {
                self.hold.store(0, Relaxed);
            }
            return false;
        }
        if progress && took < SLICE_NS && self.cached_verdict() != Verdict::Busy {
            return false;
        }
        if let Some((awake, parties)) = awake() {
            if let Some(l) = self.resample(end, awake, sample) {
                if l.cpus > 0 && l.running <= l.cpus.max(awake) {
                    return false;
                }
                // The parties could explain the count (woken parties stay counted asleep until
                // they run): evidence only as the second such yield in a row.
                if l.cpus > 0 && l.running <= l.cpus.max(parties) + 1 {
                    let last = self.strike.swap(end, Relaxed);
                    if last == 0 || end.saturating_sub(last) > self.tuning.strike_window_ns {
                        return false;
                    }
                }
            }
        }
        self.strike.store(0, Relaxed);
        let old = self.hold.load(Relaxed);
        let hold = if old == 0 { self.tuning.hold_ns } else { old.saturating_mul(2).min(self.tuning.max_hold_ns) };
        self.hold.store(hold.max(1), Relaxed);
        self.busy_until.fetch_max(end.saturating_add(hold), Relaxed);
        true
    }

    /// What the cached load sample proves, judged against the awake parties counted with it.
    fn cached_verdict(&self) -> Verdict {
        classify(self.cached_load(), self.awake.load(Relaxed) as u32)
    }

    /// Whether yields are currently held off at `now` by a busy verdict (diagnostics, tests).
    pub fn busy_at(&self, now: u64) -> bool {
        now < self.busy_until.load(Relaxed)
    }

    /// The current hold in nanoseconds (0 = no busy verdict since the last quiet sample).
    pub fn hold_ns(&self) -> u64 {
        self.hold.load(Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::cell::Cell;

    const MS: u64 = 1_000_000;

    fn load(running: u32, cpus: u32) -> Option<Load> {
        Some(Load { running, cpus })
    }

    #[test]
    fn classify_proves_only_at_the_extremes() {
        // Quiet: nobody could take our CPU for a slice.
        assert_eq!(classify(load(1, 2), 2), Verdict::Quiet);
        assert_eq!(classify(load(1, 2), 16), Verdict::Quiet);
        assert_eq!(classify(load(1, 1), 2), Verdict::Quiet, "only the reader runs");
        // Every CPU taken, by the parties or not: proves nothing (one busy loop beside a
        // 2-party barrier whose partner sleeps reads 2 as well).
        assert_eq!(classify(load(2, 2), 2), Verdict::Unsure);
        // One foreign task beside a 2-party barrier: maybe a passing kernel worker; its slow
        // yields would tell.
        assert_eq!(classify(load(3, 2), 2), Verdict::Unsure);
        // Two busy loops beside a 2-party barrier on 2 CPUs: 4 runnable > max(2, 2) + 1.
        assert_eq!(classify(load(4, 2), 2), Verdict::Busy);
        // 16 parties on 2 CPUs, all runnable: the parties explain the count.
        assert_eq!(classify(load(16, 2), 16), Verdict::Unsure);
        // ...but 18 runnable tasks cannot all be ours.
        assert_eq!(classify(load(18, 2), 16), Verdict::Busy);
        // Nothing observed, or a nonsensical sample.
        assert_eq!(classify(None, 2), Verdict::Unsure);
        assert_eq!(classify(load(5, 0), 2), Verdict::Unsure);
    }

    #[test]
    fn samples_are_cached_for_refresh_ns() {
        let c = Contention::new(Tuning { refresh_ns: 4 * MS, ..Tuning::DEFAULT });
        let reads = Cell::new(0);
        let read = |v: u32| {
            reads.set(reads.get() + 1);
            load(v, 2)
        };
        assert_eq!(c.load(10 * MS, || read(3)), load(3, 2));
        assert_eq!(c.load(11 * MS, || read(7)), load(3, 2), "a fresh sample is reused");
        assert_eq!(c.load(13 * MS, || read(7)), load(3, 2));
        assert_eq!(reads.get(), 1);
        assert_eq!(c.load(14 * MS, || read(7)), load(7, 2), "refreshed once refresh_ns passed");
        assert_eq!(reads.get(), 2);
        // A failed read caches "nothing observed" (and is not retried before refresh_ns).
        assert_eq!(c.load(20 * MS, || None), None);
        assert_eq!(c.load(21 * MS, || read(1)), None);
        assert_eq!(reads.get(), 2);
        // A clock that went backwards (another thread's older timestamp) refreshes.
        assert_eq!(c.load(5 * MS, || read(1)), load(1, 2));
    }

    #[test]
    fn a_busy_sample_stops_yields_and_a_quiet_one_restores_them() {
        let c = Contention::new(Tuning { busy_samples: true, ..Tuning::DEFAULT });
        assert!(c.may_yield(0, || 2, || load(1, 2)), "quiet machine: yield");
        assert!(!c.may_yield(5 * MS, || 2, || load(4, 2)), "busy loops beside: sleep");
        assert!(c.busy_at(6 * MS));
        // An ambiguous sample during the hold keeps the busy verdict...
        assert!(!c.may_yield(10 * MS, || 4, || load(4, 2)));
        // ...a quiet one lifts it at once.
        assert!(c.may_yield(15 * MS, || 4, || load(1, 2)));
        assert!(!c.busy_at(15 * MS));
        assert_eq!(c.hold_ns(), 0);
    }

    #[test]
    fn slow_yields_mark_busy_with_a_doubling_hold() {
        let t = Tuning { hold_ns: 50 * MS, max_hold_ns: 150 * MS, ..Tuning::DEFAULT };
        let c = Contention::new(t);
        let unsure = || load(8, 2); // 8 parties on 2 CPUs: the count proves nothing
        assert!(c.may_yield(0, || 8, unsure));
        assert!(!c.yielded(0, 20_000, false, || None, || None), "a 20 µs yield ran a peer: not evidence");
        assert!(c.may_yield(1, || 8, unsure));
        assert!(c.yielded(MS, 3 * MS, false, || None, || None), "a 2 ms yield ran a foreign slice");
        assert_eq!(c.hold_ns(), 50 * MS);
        assert!(!c.may_yield(10 * MS, || 8, unsure));
        assert!(!c.may_yield(52 * MS, || 8, unsure));
        // A fast yield during the hold (another waiter's, racing the verdict) changes nothing.
        assert!(!c.yielded(20 * MS, 20 * MS + 5_000, false, || None, || None));
        assert_eq!(c.hold_ns(), 50 * MS);
        // The hold expired: one wait probes again; a slow probe doubles the hold.
        assert!(c.may_yield(53 * MS, || 8, unsure));
        assert!(c.yielded(53 * MS, 55 * MS, false, || None, || None));
        assert_eq!(c.hold_ns(), 100 * MS);
        assert!(!c.may_yield(154 * MS, || 8, unsure));
        assert!(c.may_yield(156 * MS, || 8, unsure));
        assert!(c.yielded(156 * MS, 158 * MS, false, || None, || None));
        assert_eq!(c.hold_ns(), 150 * MS, "capped at max_hold_ns");
        assert!(c.yielded(400 * MS, 402 * MS, false, || None, || None));
        assert_eq!(c.hold_ns(), 150 * MS);
    }

    #[test]
    fn a_slow_yield_the_parties_explain_is_no_evidence() {
        // 4 awake parties on 2 CPUs, 4 runnable tasks: nobody foreign ran (a stalled vCPU made
        // the yield slow).
        let c = Contention::new(Tuning::DEFAULT);
        assert!(!c.yielded(0, 2 * MS, false, || Some((4, 4)), || load(4, 2)));
        assert!(!c.yielded(3 * MS, 5 * MS, false, || Some((4, 4)), || load(4, 2)), "again: still none");
        assert!(!c.busy_at(6 * MS));
        assert_eq!(c.load(6 * MS, || load(9, 9)), load(4, 2), "the sample taken then is cached");
        // Two busy loops beside 4 awake parties: 6 runnable tasks, more than the parties explain.
        assert!(c.yielded(10 * MS, 12 * MS, false, || Some((4, 4)), || load(6, 2)));
        assert!(c.busy_at(13 * MS));
        // 1 of 4 parties counted awake, 3 runnable: maybe woken parties, maybe busy loops. One such
        // slow yield is no evidence, a second within the window is; one long after starts over.
        let c = Contention::new(Tuning::DEFAULT);
        assert!(!c.yielded(0, 2 * MS, false, || Some((1, 4)), || load(3, 2)));
        assert!(!c.yielded(20 * MS, 22 * MS, false, || Some((1, 4)), || load(3, 2)), "outside the window");
        assert!(c.yielded(23 * MS, 25 * MS, false, || Some((1, 4)), || load(3, 2)), "the second strike");
        assert!(c.busy_at(26 * MS));
        // No count of the sleepers, or no readable load: the yield's length decides.
        let c = Contention::new(Tuning::DEFAULT);
        assert!(c.yielded(0, 2 * MS, false, || None, || load(1, 2)));
        let c = Contention::new(Tuning::DEFAULT);
        assert!(c.yielded(0, 2 * MS, false, || Some((4, 4)), || None));
    }

    #[test]
    fn a_fast_probe_after_the_hold_forgets_it() {
        // Bursts of foreign work (JIT threads): each slow yield holds for hold_ns, not for a
        // hold doubled by bursts long past.
        let t = Tuning { hold_ns: 50 * MS, ..Tuning::DEFAULT };
        let c = Contention::new(t);
        let unsure = || load(4, 2);
        assert!(c.yielded(0, 2 * MS, false, || None, || None));
        assert!(!c.may_yield(10 * MS, || 4, unsure));
        assert!(c.may_yield(60 * MS, || 4, unsure), "the hold expired");
        assert!(!c.yielded(60 * MS, 60 * MS + 5_000, false, || None, || None), "the probe was fast");
        assert_eq!(c.hold_ns(), 0, "forgotten");
        assert!(c.yielded(500 * MS, 502 * MS, false, || None, || None), "a later burst");
        assert_eq!(c.hold_ns(), 50 * MS, "holds for hold_ns again, not 100 ms");
    }

    #[test]
    fn without_busy_samples_only_slow_yields_stop_yields() {
        let c = Contention::new(Tuning { busy_samples: false, ..Tuning::DEFAULT });
        assert!(c.may_yield(0, || 2, || load(9, 2)), "a busy count alone does not stop yields");
        assert!(c.yielded(MS, 3 * MS, false, || None, || None));
        assert!(!c.may_yield(4 * MS, || 2, || load(9, 2)));
        assert!(c.may_yield(10 * MS, || 2, || load(1, 2)), "a quiet sample still lifts the verdict");
    }

    #[test]
    fn disabled_always_yields_and_learns_nothing() {
        let c = Contention::new(Tuning { enabled: false, ..Tuning::DEFAULT });
        assert!(c.may_yield(0, || 2, || load(9, 2)));
        assert!(!c.yielded(0, 10 * MS, false, || None, || None));
        assert!(!c.busy_at(1));
    }
}
