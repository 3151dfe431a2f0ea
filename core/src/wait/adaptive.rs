//! [`Adaptive`]: the per-handle memory of how long waits take, which bounds the spin phase of
//! [`super::wait_for`].

use crate::sync::{AtomicU32, Ordering};

/// Per-handle memory of how long waits take, so the spin budget adapts (process-local state, not
/// shared memory). The memory is an average wait length in spin iterations: a wait that ends
/// while spinning records how many iterations it needed; a wait that slept records how long it
/// took, converted to iterations with the spin speed measured by the spin loop itself; a wait
/// that ended while yielding records [`Adaptive::CAP`] (its partner may have needed our CPU:
/// the next wait should yield soon, not spin longer).
///
/// While recent waits are short, the budget is a few times their average (so a release is caught
/// without a syscall); once waits are long (the partner is descheduled, the machine busy),
/// spinning is cut to [`Adaptive::MIN_SPINS`] iterations and the waiter yields its CPU or sleeps
/// instead of burning it. Fast waits pull the average back down, so the budget recovers by itself.
///
/// Recording a short sleep as what it took (and not as "long") is what keeps sleeps from feeding
/// themselves: a woken party arrives at the next barrier one wake-up latency (5-30 µs on a VM)
/// after its waker, so a waker that sleeps after a short spin is woken the same way in turn, and
/// both sleep every episode (measured: 3-4 µs per 2-party episode instead of 0.2-0.4 µs, beside one
/// compiler job). A few such waits raise the budget above the wake-up latency and the next wait
/// catches the woken party while spinning.
#[derive(Debug)]
pub struct Adaptive {
    avg: AtomicU32,
    /// Measured nanoseconds per spin iteration × 16 (0: not measured yet).
    spin_speed: AtomicU32,
}

impl Default for Adaptive {
    fn default() -> Adaptive {
        Adaptive::new()
    }
}

impl Adaptive {
    /// Spin iterations always granted.
    pub const MIN_SPINS: u32 = 64;
    /// Average above which spinning is considered useless.
    pub const LONG: u32 = 2048;
    /// Most a single wait records.
    pub const CAP: u32 = 1 << 16;
    /// Nanoseconds per spin iteration assumed before the spin loop measured it.
    pub const DEFAULT_NS_PER_SPIN: u64 = 30;

    /// A fresh memory (optimistic: the first wait may spin its full time budget).
    pub fn new() -> Adaptive {
        Adaptive { avg: AtomicU32::new(0), spin_speed: AtomicU32::new(0) }
    }

    /// Spin iterations to grant the next wait (the time budget still applies).
    pub fn budget(&self) -> u32 {
        let avg = self.avg.load(Ordering::Relaxed);
        if avg >= Self::LONG {
            Self::MIN_SPINS
        } else {
            match avg {
                0 => u32::MAX, // nothing learnt yet: the time budget alone decides
                _ => avg.saturating_mul(4).saturating_add(Self::MIN_SPINS),
            }
        }
    }

    /// The average wait, in spin iterations (0: nothing recorded yet).
    pub fn average(&self) -> u32 {
        self.avg.load(Ordering::Relaxed)
    }

    /// The average wait in nanoseconds (by the measured spin speed).
    pub fn average_ns(&self) -> u64 {
        u64::from(self.average()) * self.ns_per_spin16() / 16
    }

    fn ns_per_spin16(&self) -> u64 {
        match u64::from(self.spin_speed.load(Ordering::Relaxed)) {
            0 => Self::DEFAULT_NS_PER_SPIN * 16,
            v => v,
        }
    }

    /// Records a finished wait of `spins` iterations (capped at [`Adaptive::CAP`]).
    pub fn record(&self, spins: u32) {
        let old = self.avg.load(Ordering::Relaxed) as i64;
        let new = old + (i64::from(spins.min(Self::CAP)) - old) / 8;
        self.avg.store(new.max(1) as u32, Ordering::Relaxed);
    }

    /// Records a finished wait that took `ns` nanoseconds (it yielded or slept).
    pub fn record_ns(&self, ns: u64) {
        let spins = ns.saturating_mul(16) / self.ns_per_spin16().max(1);
        self.record(spins.min(u64::from(Self::CAP)) as u32);
    }

    /// The spin loop measured `spins` iterations taking `ns` nanoseconds.
    pub fn calibrate(&self, spins: u32, ns: u64) {
        if spins > 0 && ns > 0 {
            let per16 = (ns.saturating_mul(16) / u64::from(spins)).clamp(1, 16 * 10_000);
            self.spin_speed.store(per16 as u32, Ordering::Relaxed);
        }
    }
}
