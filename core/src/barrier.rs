//! The plain barrier: one 64-bit state word, a futex eventcount, and the rules that move them.
//!
//! ## State word
//! ```text
//! bits  0..=14  parties      (members of a membership barrier, or the fixed count)
//! bits 15..=29  arrived      (arrivals in the current generation, 0..parties-1)
//! bit  30       BROKEN       (current generation is broken: waiters leave with an error)
//! bit  31       PREV_BROKEN  (the previous generation ended by reset/break, not by release)
//! bits 32..=63  generation   (wrapping)
//! ```
//! Every transition is one CAS on this word, so an arrival, a release, a resign, a break and a
//! reset are totally ordered. The last arrival of generation `g` (the one that makes
//! `arrived == parties`) moves the word to `g + 1` with `arrived = 0`: that CAS *is* the release.
//!
//! ## Invariants
//! * `arrived < parties` whenever the word is not broken (an arrival or a resign that would reach
//!   equality releases instead).
//! * A waiter of generation `g` learns its outcome from the word alone: generation still `g` and
//!   BROKEN → broken; generation `g + 1` → released unless PREV_BROKEN; further ahead (it was
//!   overtaken, possible when more threads than parties use a counted barrier) → the `history`
//!   ring, where every transition out of generation `h` first records the outcome of `h - 1`.
//! * Arrival indices in a generation are distinct and dense: the index is `arrived` before the
//!   arrival's CAS. Index 0 (the first arrival) is the generation's leader.
//!
//! ## Waiting
//! Spinning waiters read `mirror`, a copy of the word on the cell's second 64-byte line, which
//! every transition that ends waits (release, break, reset) brings up to date after its CAS. So
//! waiters' loads do not pull the word's line away from the arrivals that must own it for their
//! CAS (measured: ~25% off a 2-process episode). The mirror only ever lags: a copy older than the
//! generation a waiter arrived in reads as "pending", and before sleeping a waiter checks the word
//! itself with an RMW (see `wait.rs`), so a lagging or never-updated mirror (its publisher died)
//! costs time, never correctness. Timeouts (`cancel`) judge from the word.
//!
//! ## Memory ordering
//! Arrivals and releases are `AcqRel` RMWs on one word and waiters load it with `Acquire`, so
//! everything a participant did before arriving happens-before everything any participant does
//! after it returns from the wait (release sequence through the CAS chain).

use crate::sync::{AtomicU32, AtomicU64, Ordering};
use crate::wait::{notify_sleepers as notify_all, wait_for, Adaptive, Parker, Poll, WaitPolicy};

/// Most parties a barrier can have (15 bits of the state word).
pub const MAX_PARTIES: u32 = (1 << 15) - 1;

const PARTIES_MASK: u64 = 0x7fff;
const ARRIVED_SHIFT: u32 = 15;
const BROKEN: u64 = 1 << 30;
const PREV_BROKEN: u64 = 1 << 31;
const GEN_SHIFT: u32 = 32;

/// Why a barrier is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakReason {
    /// `abort()` was called.
    Aborted,
    /// A non-member arrival timed out.
    TimedOut,
    /// The generation was cut short by `reset()`.
    Reset,
    /// A member process died; the pid is for diagnostics.
    PeerDied(u32),
}

impl BreakReason {
    fn encode(self) -> u64 {
        match self {
            BreakReason::Aborted => 1,
            BreakReason::TimedOut => 2,
            BreakReason::Reset => 3,
            BreakReason::PeerDied(pid) => 4 | (u64::from(pid) << 32),
        }
    }
    fn decode(v: u64) -> BreakReason {
        // The info word is region data: anything unexpected decodes as a plain abort.
        match v & 0xff {
            2 => BreakReason::TimedOut,
            3 => BreakReason::Reset,
            4 => BreakReason::PeerDied((v >> 32) as u32),
            _ => BreakReason::Aborted,
        }
    }
}

/// Decoded view of a state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    pub parties: u32,
    pub arrived: u32,
    pub broken: bool,
    pub prev_broken: bool,
    pub generation: u32,
}

impl State {
    pub fn decode(w: u64) -> State {
        State {
            parties: (w & PARTIES_MASK) as u32,
            arrived: ((w >> ARRIVED_SHIFT) & PARTIES_MASK) as u32,
            broken: w & BROKEN != 0,
            prev_broken: w & PREV_BROKEN != 0,
            generation: (w >> GEN_SHIFT) as u32,
        }
    }
    pub fn encode(&self) -> u64 {
        (u64::from(self.parties) & PARTIES_MASK)
            | ((u64::from(self.arrived) & PARTIES_MASK) << ARRIVED_SHIFT)
            | if self.broken { BROKEN } else { 0 }
            | if self.prev_broken { PREV_BROKEN } else { 0 }
            | (u64::from(self.generation) << GEN_SHIFT)
    }
}

/// A successful arrival: which generation, and the arrival index within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub generation: u32,
    pub index: u32,
    /// Whether this arrival released the generation (it was the last one).
    pub released: bool,
    /// Parties of the generation when this arrival happened.
    pub parties: u32,
}

impl Ticket {
    /// The state word the next generation most likely starts from (for
    /// [`BarrierCell::arrive_hinted`]).
    pub fn next_hint(&self) -> u64 {
        State {
            parties: self.parties,
            arrived: 0,
            broken: false,
            prev_broken: false,
            generation: self.generation.wrapping_add(1),
        }
        .encode()
    }
}

/// How a wait ended without a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The generation was broken (abort, reset, a non-member timeout, a dead member).
    Broken(BreakReason),
    /// The caller's deadline passed; the arrival is still counted (see [`BarrierCell::cancel`]).
    TimedOut,
}

/// Errors of state changes that need a precondition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateError {
    /// The barrier is broken.
    Broken(BreakReason),
    /// Parties would exceed [`MAX_PARTIES`].
    TooManyParties,
    /// There are no parties (a membership barrier nobody enrolled in).
    NoParties,
    /// The state word is inconsistent (another process wrote garbage).
    Corrupt,
}

/// The shared state of one plain barrier. `#[repr(C)]`, fixed width, one 128-byte line, so it can
/// live in a shared-memory region as well as on the heap.
#[repr(C, align(128))]
pub struct BarrierCell {
    word: AtomicU64,
    /// Last break reason (see [`BreakReason::encode`]); written before BROKEN is set.
    info: AtomicU64,
    /// Outcome ring: bit `g % 64` set iff generation `g` ended broken (see module docs).
    history: AtomicU64,
    /// Futex eventcount (bit 0 = sleepers).
    seq: AtomicU32,
    _pad: u32,
    _gap: [u64; 4],
    /// Copy of `word` published after every transition that ends a wait (release, break, reset),
    /// on the second 64-byte line. Spinning waiters read this copy, so their loads do not take
    /// the line that arrivals must own exclusively for their CAS away from them (see "Waiting" in
    /// the module docs).
    mirror: AtomicU64,
}

/// Outcome of a timed-out arrival that was withdrawn (or had already completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The arrival was withdrawn before the generation ended.
    Withdrawn,
    /// The generation was released before the withdrawal could happen: the wait succeeded.
    Released,
    /// The generation had been broken.
    Broken(BreakReason),
}

impl BarrierCell {
    /// A fresh cell with `parties` parties at generation `generation`.
    pub fn new(parties: u32, generation: u32) -> BarrierCell {
        let s = State { parties: parties.min(MAX_PARTIES), arrived: 0, broken: false, prev_broken: false, generation };
        BarrierCell {
            word: AtomicU64::new(s.encode()),
            info: AtomicU64::new(0),
            history: AtomicU64::new(0),
            seq: AtomicU32::new(0),
            _pad: 0,
            _gap: [0; 4],
            mirror: AtomicU64::new(s.encode()),
        }
    }

    /// Re-initialises a cell in place (the cell lives in a region slot being (re)used).
    pub fn init(&self, parties: u32, generation: u32) {
        let s = State { parties: parties.min(MAX_PARTIES), arrived: 0, broken: false, prev_broken: false, generation };
        self.info.store(0, Ordering::Relaxed);
        self.history.store(0, Ordering::Relaxed);
        self.mirror.store(s.encode(), Ordering::Relaxed);
        self.word.store(s.encode(), Ordering::Release);
    }

    /// The current state.
    pub fn state(&self) -> State {
        State::decode(self.word.load(Ordering::Acquire))
    }

    /// The eventcount word sleepers park on.
    pub fn seq(&self) -> &AtomicU32 {
        &self.seq
    }

    fn break_reason(&self) -> BreakReason {
        BreakReason::decode(self.info.load(Ordering::Acquire))
    }

    /// Records the outcome of generation `s.generation - 1` in the ring before `s` is replaced.
    fn archive(&self, s: &State) {
        let bit = 1u64 << (s.generation.wrapping_sub(1) % 64);
        let h = self.history.load(Ordering::Relaxed);
        if (h & bit != 0) != s.prev_broken {
            if s.prev_broken {
                self.history.fetch_or(bit, Ordering::Release);
            } else {
                self.history.fetch_and(!bit, Ordering::Release);
            }
        }
    }

    fn cas(&self, old: u64, new: &State) -> Result<(), u64> {
        self.word.compare_exchange_weak(old, new.encode(), Ordering::AcqRel, Ordering::Acquire).map(|_| ())
    }

    /// Arrives at the barrier. The last arrival releases the generation and wakes the others.
    pub fn arrive<P: Parker + ?Sized>(&self, parker: &P) -> Result<Ticket, StateError> {
        self.arrive_hinted(parker, None)
    }

    /// [`BarrierCell::arrive`] whose first CAS expects `hint` (usually [`Ticket::next_hint`] of
    /// the caller's previous wait) instead of loading the word first: the load would fetch the
    /// line shared and the CAS then upgrade it, two transfers; a CAS alone takes it exclusive once,
    /// and a failed guess returns the current value with the line already local.
    pub fn arrive_hinted<P: Parker + ?Sized>(&self, parker: &P, hint: Option<u64>) -> Result<Ticket, StateError> {
        let mut w = match hint {
            Some(h) => h,
            None => self.word.load(Ordering::Acquire),
        };
        let mut guessed = hint.is_some();
        loop {
            let s = State::decode(w);
            if s.broken || s.parties == 0 || s.arrived >= s.parties {
                if guessed {
                    // A guess is only an expected value: look at the real word before judging.
                    guessed = false;
                    w = self.word.load(Ordering::Acquire);
                    continue;
                }
                if s.broken {
                    return Err(StateError::Broken(self.break_reason()));
                }
                if s.parties == 0 {
                    return Err(StateError::NoParties);
                }
                return Err(StateError::Corrupt);
            }
            let released = s.arrived + 1 == s.parties;
            let next = if released {
                self.archive(&s);
                State { arrived: 0, broken: false, prev_broken: false, generation: s.generation.wrapping_add(1), ..s }
            } else {
                State { arrived: s.arrived + 1, ..s }
            };
            match self.cas(w, &next) {
                Ok(()) => {
                    if released {
                        self.publish(parker);
                    }
                    return Ok(Ticket { generation: s.generation, index: s.arrived, released, parties: s.parties });
                }
                Err(cur) => {
                    guessed = false;
                    w = cur;
                }
            }
        }
    }

    /// Publishes the state after a transition that ends waits: copies the latest word into the
    /// mirror (unless the mirror already shows a later generation) and wakes sleepers. Two
    /// publishers racing can still leave an older copy for a moment; waiters read that as
    /// "pending" and the next transition or their strong check corrects it.
    fn publish<P: Parker + ?Sized>(&self, parker: &P) {
        let w = self.word.load(Ordering::Acquire);
        let m = self.mirror.load(Ordering::Relaxed);
        if (State::decode(w).generation.wrapping_sub(State::decode(m).generation) as i32) >= 0 {
            self.mirror.store(w, Ordering::Release);
        }
        notify_all(parker, &self.seq);
    }

    /// Where the generation of `ticket` stands now, from the mirror (cheap, may lag a transition
    /// by a few nanoseconds; the sleeper's strong check reads the word itself).
    pub fn outcome(&self, ticket: &Ticket) -> Poll<Result<(), BreakReason>> {
        self.outcome_of(ticket, self.mirror.load(Ordering::Acquire))
    }

    /// Like [`BarrierCell::outcome`], but reads the word with an RMW, which always observes the
    /// latest state (the sleeper's side of the eventcount; see `wait.rs`).
    fn outcome_strong(&self, ticket: &Ticket) -> Poll<Result<(), BreakReason>> {
        self.outcome_of(ticket, self.word.fetch_add(0, Ordering::AcqRel))
    }

    fn outcome_of(&self, ticket: &Ticket, w: u64) -> Poll<Result<(), BreakReason>> {
        let s = State::decode(w);
        let ahead = s.generation.wrapping_sub(ticket.generation);
        if (ahead as i32) < 0 {
            // A mirror not yet brought up to the generation we arrived in: nothing to learn.
            return Poll::Pending;
        }
        match ahead {
            0 if s.broken => Poll::Ready(Err(self.break_reason())),
            0 => Poll::Pending,
            1 if s.prev_broken => Poll::Ready(Err(self.break_reason())),
            1 => Poll::Ready(Ok(())),
            a if a < 64 => {
                if self.history.load(Ordering::Acquire) & (1u64 << (ticket.generation % 64)) != 0 {
                    Poll::Ready(Err(BreakReason::Reset))
                } else {
                    Poll::Ready(Ok(()))
                }
            }
            // Overtaken by more than the ring remembers (up to 2^31 generations): the generation
            // did end; assume release.
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Waits for the generation of `ticket` to end (see [`wait_until`] for `idle`).
    pub fn wait<P: Parker + ?Sized>(
        &self,
        parker: &P,
        policy: &WaitPolicy,
        ticket: &Ticket,
        deadline_ns: Option<u64>,
        adapt: Option<&Adaptive>,
        idle: impl FnMut(),
    ) -> Result<(), WaitError> {
        if ticket.released {
            return Ok(());
        }
        let check = |strong: bool| if strong { self.outcome_strong(ticket) } else { self.outcome(ticket) };
        match wait_for(parker, policy, &self.seq, ticket.parties, deadline_ns, adapt, check, idle) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(r)) => Err(WaitError::Broken(r)),
            Err(()) => Err(WaitError::TimedOut),
        }
    }

    /// Withdraws a timed-out arrival. A member (`resign == true`) also leaves the party count
    /// (Grinder: the instance is cancelled); a non-member withdrawal breaks the generation
    /// (Java/Python: everyone waiting gets a broken-barrier error).
    pub fn cancel<P: Parker + ?Sized>(&self, parker: &P, ticket: &Ticket, resign: bool) -> CancelOutcome {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            // Judged from the word itself (the mirror may lag): once the generation moved on, the
            // outcome is final.
            if let Poll::Ready(r) = self.outcome_of(ticket, w) {
                return match r {
                    Ok(()) => CancelOutcome::Released,
                    Err(reason) => CancelOutcome::Broken(reason),
                };
            }
            let s = State::decode(w);
            let next = if resign {
                State { parties: s.parties.saturating_sub(1), arrived: s.arrived.saturating_sub(1), ..s }
            } else {
                self.info.store(BreakReason::TimedOut.encode(), Ordering::Release);
                State { broken: true, ..s }
            };
            match self.cas(w, &next) {
                Ok(()) => {
                    if !resign {
                        self.publish(parker);
                    }
                    return CancelOutcome::Withdrawn;
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// Adds `n` parties (a member enrolls). The current generation then waits for them too.
    pub fn add_parties(&self, n: u32) -> Result<(), StateError> {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let s = State::decode(w);
            let parties = s.parties.checked_add(n).filter(|p| *p <= MAX_PARTIES).ok_or(StateError::TooManyParties)?;
            match self.cas(w, &State { parties, ..s }) {
                Ok(()) => return Ok(()),
                Err(cur) => w = cur,
            }
        }
    }

    /// Removes `n` parties (members resign, or a dead process's members are cleaned up). If
    /// everyone left is already waiting, this completes the generation. With `broken_by` set, the
    /// generation is broken instead (a member died).
    pub fn remove_parties<P: Parker + ?Sized>(&self, parker: &P, n: u32, broken_by: Option<BreakReason>) {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let s = State::decode(w);
            let parties = s.parties.saturating_sub(n);
            let next = if let Some(r) = broken_by {
                self.info.store(r.encode(), Ordering::Release);
                State { parties, broken: true, ..s }
            } else if !s.broken && s.arrived > 0 && s.arrived >= parties {
                self.archive(&s);
                State {
                    parties,
                    arrived: 0,
                    broken: false,
                    prev_broken: false,
                    generation: s.generation.wrapping_add(1),
                }
            } else {
                State { parties, arrived: s.arrived.min(parties.saturating_sub(1)), ..s }
            };
            match self.cas(w, &next) {
                Ok(()) => {
                    if next.generation != s.generation || next.broken != s.broken {
                        self.publish(parker);
                    }
                    return;
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// Breaks the current generation: everyone waiting, and every later arrival until
    /// [`BarrierCell::reset`], gets [`BreakReason::Aborted`].
    pub fn abort<P: Parker + ?Sized>(&self, parker: &P) {
        self.break_with(parker, BreakReason::Aborted)
    }

    /// Breaks the current generation with `reason`.
    pub fn break_with<P: Parker + ?Sized>(&self, parker: &P, reason: BreakReason) {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let s = State::decode(w);
            if s.broken {
                return;
            }
            self.info.store(reason.encode(), Ordering::Release);
            match self.cas(w, &State { broken: true, ..s }) {
                Ok(()) => {
                    self.publish(parker);
                    return;
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// Returns the barrier to a fresh generation. Whoever is waiting at this moment gets a broken
    /// error; later arrivals start the new generation (Python `threading.Barrier.reset`).
    pub fn reset<P: Parker + ?Sized>(&self, parker: &P) {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let s = State::decode(w);
            if !s.broken && s.arrived == 0 {
                return;
            }
            if !s.broken {
                self.info.store(BreakReason::Reset.encode(), Ordering::Release);
            }
            self.archive(&s);
            let next =
                State { arrived: 0, broken: false, prev_broken: true, generation: s.generation.wrapping_add(1), ..s };
            match self.cas(w, &next) {
                Ok(()) => {
                    self.publish(parker);
                    return;
                }
                Err(cur) => w = cur,
            }
        }
    }
}

impl BarrierCell {
    /// Moves an idle, unbroken barrier to `generation` (a test hook for wrap-around). Returns
    /// false if someone is waiting or the barrier is broken.
    pub fn set_generation(&self, generation: u32) -> bool {
        let w = self.word.load(Ordering::Acquire);
        let s = State::decode(w);
        if s.arrived != 0 || s.broken {
            return false;
        }
        let next = State { generation, ..s }.encode();
        let ok = self.word.compare_exchange(w, next, Ordering::AcqRel, Ordering::Acquire).is_ok();
        if ok {
            self.mirror.store(next, Ordering::Release);
        }
        ok
    }
}

const _: () = assert!(core::mem::size_of::<BarrierCell>() == 128);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn state_roundtrip() {
        let s = State { parties: 7, arrived: 3, broken: true, prev_broken: false, generation: u32::MAX };
        assert_eq!(State::decode(s.encode()), s);
        let s =
            State { parties: MAX_PARTIES, arrived: MAX_PARTIES - 1, broken: false, prev_broken: true, generation: 5 };
        assert_eq!(State::decode(s.encode()), s);
    }
}
