//! The plain barrier: one 64-bit state word, a futex eventcount, and the rules that move them.
//!
//! ## State word
//! ```text
//! bits  0..=13  parties      (members of a membership barrier, or the fixed count)
//! bits 14..=27  arrived      (arrivals in the current generation)
//! bit  28       MOP_PARITY   (low bit of the sequence number of the last membership change;
//!                             see `membership.rs`)
//! bit  29       TRIPPING     (every party arrived; the last one runs its completion action)
//! bit  30       BROKEN       (current generation is broken: waiters leave with an error)
//! bit  31       PREV_BROKEN  (the previous generation ended by reset/break, not by release)
//! bits 32..=63  generation   (wrapping)
//! ```
//! Every transition is one CAS on this word, so an arrival, a release, a resign, a break and a
//! reset are totally ordered. The last arrival of generation `g` (the one that makes
//! `arrived == parties`) moves the word to `g + 1` with `arrived = 0`: that CAS *is* the release.
//! If the last arrival carries a completion action it instead sets TRIPPING (keeping
//! `arrived == parties`), runs the action, and then releases ([`BarrierCell::complete_trip`]) or
//! breaks the generation with [`BreakReason::ActionFailed`]. Arrivals that find TRIPPING belong
//! to the next generation and wait for the trip to end ([`StateError::Tripping`]).
//!
//! ## Invariants
//! * `arrived < parties` whenever the word is neither broken nor tripping (an arrival or a resign
//!   that would reach equality releases or trips instead); `arrived == parties` while tripping.
//! * A waiter of generation `g` learns its outcome from the word alone: generation still `g` and
//!   BROKEN → broken; generation `g + 1` → released unless PREV_BROKEN; further ahead (it was
//!   overtaken, possible when more threads than parties use a counted barrier) → the `history`
//!   ring, where every transition out of generation `h` first records the outcome of `h - 1`.
//! * Arrival indices in a generation are distinct and dense from 0 upwards for plain arrivals:
//!   the index is `arrived` before the arrival's CAS. An arrival that also leaves
//!   ([`Arrive::Drop`], `arrive_and_drop`) takes the highest index, `parties - 1`, and lowers
//!   `parties` in the same CAS, so its arrival counts for this generation and it is gone from the
//!   next; later plain arrivals get indices below the new `parties`. Index 0 is the leader.
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
//! after it returns from the wait (release sequence through the CAS chain), and before the
//! completion action, which runs after the tripping CAS.

mod membership;

pub use membership::{counter_count, MemberOp, MemberOutcome, MemberTable, MAX_PROCESS_PARTIES};

use crate::sync::{AtomicU32, AtomicU64, Ordering};
use crate::wait::{notify_sleepers as notify_all, wait_for, Adaptive, Parker, Peers, Poll, WaitPolicy};

/// Most parties a barrier can have (14 bits of the state word).
pub const MAX_PARTIES: u32 = (1 << 14) - 1;

const FIELD_MASK: u64 = 0x3fff;
const ARRIVED_SHIFT: u32 = 14;
const MOP_PARITY: u64 = 1 << 28;
const TRIPPING: u64 = 1 << 29;
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
    /// A party's process died; the pid is for diagnostics.
    PeerDied(u32),
    /// The completion action of the last arrival failed.
    ActionFailed,
}

impl BreakReason {
    fn encode(self) -> u64 {
        match self {
            BreakReason::Aborted => 1,
            BreakReason::TimedOut => 2,
            BreakReason::Reset => 3,
            BreakReason::PeerDied(pid) => 4 | (u64::from(pid) << 32),
            BreakReason::ActionFailed => 5,
        }
    }
    fn decode(v: u64) -> BreakReason {
        // The info word is region data: anything unexpected decodes as a plain abort.
        match v & 0xff {
            2 => BreakReason::TimedOut,
            3 => BreakReason::Reset,
            4 => BreakReason::PeerDied((v >> 32) as u32),
            5 => BreakReason::ActionFailed,
            _ => BreakReason::Aborted,
        }
    }
}

/// Decoded view of a state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    pub parties: u32,
    pub arrived: u32,
    pub mop_parity: bool,
    pub tripping: bool,
    pub broken: bool,
    pub prev_broken: bool,
    pub generation: u32,
}

impl State {
    pub fn decode(w: u64) -> State {
        State {
            parties: (w & FIELD_MASK) as u32,
            arrived: ((w >> ARRIVED_SHIFT) & FIELD_MASK) as u32,
            mop_parity: w & MOP_PARITY != 0,
            tripping: w & TRIPPING != 0,
            broken: w & BROKEN != 0,
            prev_broken: w & PREV_BROKEN != 0,
            generation: (w >> GEN_SHIFT) as u32,
        }
    }
    pub fn encode(&self) -> u64 {
        let flag = |on: bool, bit: u64| if on { bit } else { 0 };
        (u64::from(self.parties) & FIELD_MASK)
            | ((u64::from(self.arrived) & FIELD_MASK) << ARRIVED_SHIFT)
            | flag(self.mop_parity, MOP_PARITY)
            | flag(self.tripping, TRIPPING)
            | flag(self.broken, BROKEN)
            | flag(self.prev_broken, PREV_BROKEN)
            | (u64::from(self.generation) << GEN_SHIFT)
    }

    /// The first state of the generation after this one (a release).
    fn next_generation(&self, parties: u32) -> State {
        State {
            parties,
            arrived: 0,
            tripping: false,
            broken: false,
            prev_broken: false,
            generation: self.generation.wrapping_add(1),
            ..*self
        }
    }
}

/// A successful arrival: which generation, and the arrival index within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub generation: u32,
    pub index: u32,
    /// Whether this arrival released the generation (it was the last one).
    pub released: bool,
    /// Whether this arrival was the last and set TRIPPING: the caller runs its completion action
    /// and then calls [`BarrierCell::complete_trip`].
    pub tripping: bool,
    /// Parties of the generation when this arrival happened.
    pub parties: u32,
    /// MOP_PARITY as this arrival left it (for [`Ticket::next_hint`]).
    pub parity: bool,
}

impl Ticket {
    /// A ticket for waiting on `generation` without having arrived through this call (split-phase
    /// `await` with a ticket the caller kept).
    pub fn for_generation(generation: u32, parties: u32) -> Ticket {
        Ticket { generation, index: 0, released: false, tripping: false, parties, parity: false }
    }

    /// The state word the next generation most likely starts from (for
    /// [`BarrierCell::arrive_hinted`]).
    pub fn next_hint(&self) -> u64 {
        State {
            parties: self.parties,
            arrived: 0,
            mop_parity: self.parity,
            tripping: false,
            broken: false,
            prev_broken: false,
            generation: self.generation.wrapping_add(1),
        }
        .encode()
    }
}

/// How an arrival behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrive {
    /// A plain arrival; the last one releases.
    Plain,
    /// The last arrival sets TRIPPING instead of releasing (the caller has a completion action).
    WithAction,
    /// Arrive and leave: counts for this generation, `parties - 1` from the next one. With
    /// `action`, a drop that completes the generation trips like [`Arrive::WithAction`].
    Drop { action: bool },
}

/// How a wait ended without a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The generation was broken (abort, reset, a non-member timeout, a dead party).
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
    /// The previous generation is running its completion action: wait
    /// ([`BarrierCell::wait_trip`]) and arrive again.
    Tripping,
    /// The state word is inconsistent (another process wrote garbage).
    Corrupt,
}

/// The shared state of one plain barrier. `#[repr(C)]`, fixed width, 128 bytes, so it can live in
/// a shared-memory region as well as on the heap.
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
    /// Generations released since the cell was created (statistics for inspection tools; bumped
    /// with a relaxed RMW on the word's line, which the releaser owns anyway).
    episodes: AtomicU64,
    /// The membership-change lock and its operation descriptor (see `membership.rs`).
    mop: AtomicU64,
    _gap: [u64; 2],
    /// Copy of `word` published after every transition that ends a wait (release, break, reset),
    /// on the second 64-byte line. Spinning waiters read this copy, so their loads do not take
    /// the line that arrivals must own exclusively for their CAS away from them (see "Waiting" in
    /// the module docs).
    mirror: AtomicU64,
    /// Waiters of this barrier asleep in the kernel right now (a heuristic for the waiting policy:
    /// see [`Peers`]; maintained only by waits whose parker senses contention, never part of a
    /// correctness argument, and garbage here only misguides the yield-or-sleep choice).
    asleep: AtomicU32,
    _tail: [u32; 13],
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
    /// Every party arrived and the completion action is running: the generation is no longer
    /// the caller's to leave; wait for its end.
    Completing,
}

impl BarrierCell {
    /// A fresh cell with `parties` parties at generation `generation`.
    pub fn new(parties: u32, generation: u32) -> BarrierCell {
        let w = Self::fresh(parties, generation);
        BarrierCell {
            word: AtomicU64::new(w),
            info: AtomicU64::new(0),
            history: AtomicU64::new(0),
            seq: AtomicU32::new(0),
            _pad: 0,
            episodes: AtomicU64::new(0),
            mop: AtomicU64::new(0),
            _gap: [0; 2],
            mirror: AtomicU64::new(w),
            asleep: AtomicU32::new(0),
            _tail: [0; 13],
        }
    }

    fn fresh(parties: u32, generation: u32) -> u64 {
        State {
            parties: parties.min(MAX_PARTIES),
            arrived: 0,
            mop_parity: false,
            tripping: false,
            broken: false,
            prev_broken: false,
            generation,
        }
        .encode()
    }

    /// Re-initialises a cell in place (the cell lives in a region slot being (re)used).
    pub fn init(&self, parties: u32, generation: u32) {
        let w = Self::fresh(parties, generation);
        self.info.store(0, Ordering::Relaxed);
        self.history.store(0, Ordering::Relaxed);
        self.episodes.store(0, Ordering::Relaxed);
        self.mop.store(0, Ordering::Relaxed);
        self.mirror.store(w, Ordering::Relaxed);
        self.asleep.store(0, Ordering::Relaxed);
        self.word.store(w, Ordering::Release);
    }

    /// The current state.
    pub fn state(&self) -> State {
        State::decode(self.word.load(Ordering::Acquire))
    }

    /// Generations released since the cell was created (not counting resets and breaks).
    pub fn episodes(&self) -> u64 {
        self.episodes.load(Ordering::Relaxed)
    }

    /// The reason of the last break (meaningful while [`State::broken`] or after a reset).
    pub fn break_reason(&self) -> BreakReason {
        BreakReason::decode(self.info.load(Ordering::Acquire))
    }

    /// The waiting policy's view of this barrier's waiters (see [`Peers`]).
    fn peers(&self, parties: u32) -> Peers<'_> {
        Peers { parties, asleep: Some(&self.asleep) }
    }

    /// Waiters asleep in the kernel (a heuristic count, for inspection tools).
    pub fn asleep(&self) -> u32 {
        self.asleep.load(Ordering::Relaxed)
    }

    /// Forgets the count of sleeping waiters: a process that died asleep would stay counted
    /// forever. Live sleepers uncount themselves saturating at zero, so after the dead party's
    /// break (which wakes them all) the count is right again.
    pub fn forget_sleepers(&self) {
        self.asleep.store(0, Ordering::Relaxed);
    }

    /// The eventcount word sleepers park on.
    pub fn seq(&self) -> &AtomicU32 {
        &self.seq
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
        self.arrive_with(parker, hint, Arrive::Plain, None)
    }

    /// The general arrival: `mode` says whether the last arrival trips (completion action) and
    /// whether this arrival also leaves; `parity`, if given, is written into MOP_PARITY by the same
    /// CAS (a member's drop is a membership change, see `membership.rs`).
    pub fn arrive_with<P: Parker + ?Sized>(
        &self,
        parker: &P,
        hint: Option<u64>,
        mode: Arrive,
        parity: Option<bool>,
    ) -> Result<Ticket, StateError> {
        let mut w = match hint {
            Some(h) => h,
            None => self.word.load(Ordering::Acquire),
        };
        let mut guessed = hint.is_some();
        loop {
            let s = State::decode(w);
            if s.broken || s.tripping || s.parties == 0 || s.arrived >= s.parties {
                if guessed {
                    // A guess is only an expected value: look at the real word before judging.
                    guessed = false;
                    w = self.word.load(Ordering::Acquire);
                    continue;
                }
                if s.broken {
                    return Err(StateError::Broken(self.break_reason()));
                }
                if s.tripping {
                    return Err(StateError::Tripping);
                }
                if s.parties == 0 {
                    return Err(StateError::NoParties);
                }
                return Err(StateError::Corrupt);
            }
            let (index, parties, arrived, action) = match mode {
                Arrive::Plain => (s.arrived, s.parties, s.arrived + 1, false),
                Arrive::WithAction => (s.arrived, s.parties, s.arrived + 1, true),
                Arrive::Drop { action } => (s.parties - 1, s.parties - 1, s.arrived, action),
            };
            let complete = arrived >= parties;
            let mop_parity = parity.unwrap_or(s.mop_parity);
            let next = if complete && action {
                State { parties, arrived: parties, tripping: true, mop_parity, ..s }
            } else if complete {
                self.archive(&s);
                State { mop_parity, ..s.next_generation(parties) }
            } else {
                State { parties, arrived, mop_parity, ..s }
            };
            match self.cas(w, &next) {
                Ok(()) => {
                    let released = complete && !action;
                    if released {
                        self.publish(parker);
                        // After the publication: the waiters' spin loops see the release one
                        // locked instruction sooner.
                        self.episodes.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(Ticket {
                        generation: s.generation,
                        index,
                        released,
                        tripping: complete && action,
                        parties: s.parties,
                        parity: mop_parity,
                    });
                }
                Err(cur) => {
                    guessed = false;
                    w = cur;
                }
            }
        }
    }

    /// Ends the trip of generation `ticket.generation` after the completion action ran: releases
    /// it (`Ok`) or breaks it with `Err(reason)`. Does nothing if the trip was already ended by a
    /// break or reset. Returns whether the generation was released by this call.
    pub fn complete_trip<P: Parker + ?Sized>(
        &self,
        parker: &P,
        ticket: &Ticket,
        result: Result<(), BreakReason>,
    ) -> bool {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let s = State::decode(w);
            if !s.tripping || s.broken || s.generation != ticket.generation {
                return false;
            }
            let next = match result {
                Ok(()) => {
                    self.archive(&s);
                    s.next_generation(s.parties)
                }
                Err(r) => {
                    self.info.store(r.encode(), Ordering::Release);
                    State { broken: true, tripping: false, ..s }
                }
            };
            match self.cas(w, &next) {
                Ok(()) => {
                    if result.is_ok() {
                        self.episodes.fetch_add(1, Ordering::Relaxed);
                    }
                    self.publish(parker);
                    return result.is_ok();
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// Waits until the word is no longer tripping, so an arrival for the next
    /// generation can go ahead. `idle` is the liveness hook (a tripper that dies is cleaned up
    /// and the generation broken by whoever notices).
    /// Returns false if `deadline_ns` passed first.
    pub fn wait_trip<P: Parker + ?Sized>(
        &self,
        parker: &P,
        policy: &WaitPolicy,
        deadline_ns: Option<u64>,
        idle: impl FnMut(),
    ) -> bool {
        let check = |strong: bool| {
            let w = if strong { self.word.fetch_add(0, Ordering::AcqRel) } else { self.word.load(Ordering::Acquire) };
            if State::decode(w).tripping {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        };
        let parties = self.state().parties;
        wait_for(parker, policy, &self.seq, self.peers(parties), deadline_ns, None, check, idle).is_ok()
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

    /// Like [`BarrierCell::outcome`], but reads the word itself (never lags; for polls and
    /// split-phase `is_complete`).
    pub fn outcome_now(&self, ticket: &Ticket) -> Poll<Result<(), BreakReason>> {
        self.outcome_of(ticket, self.word.load(Ordering::Acquire))
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

    /// Waits for the generation of `ticket` to end (see [`wait_for`] for `idle`).
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
        match wait_for(parker, policy, &self.seq, self.peers(ticket.parties), deadline_ns, adapt, check, idle) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(r)) => Err(WaitError::Broken(r)),
            Err(()) => Err(WaitError::TimedOut),
        }
    }

    /// Withdraws a timed-out arrival of a non-member, which breaks the generation (Java/Python:
    /// everyone waiting gets a broken-barrier error). Members withdraw through
    /// [`BarrierCell::member_op`] with [`MemberOp::Cancel`] (Grinder: the instance is cancelled).
    pub fn cancel<P: Parker + ?Sized>(&self, parker: &P, ticket: &Ticket) -> CancelOutcome {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            if let Some(done) = self.settled(ticket, w) {
                return done;
            }
            let s = State::decode(w);
            self.info.store(BreakReason::TimedOut.encode(), Ordering::Release);
            match self.cas(w, &State { broken: true, ..s }) {
                Ok(()) => {
                    self.publish(parker);
                    return CancelOutcome::Withdrawn;
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// The outcome of `ticket`'s generation if it can no longer be withdrawn from (judged from
    /// the word itself: the mirror may lag).
    fn settled(&self, ticket: &Ticket, w: u64) -> Option<CancelOutcome> {
        match self.outcome_of(ticket, w) {
            Poll::Ready(Ok(())) => Some(CancelOutcome::Released),
            Poll::Ready(Err(reason)) => Some(CancelOutcome::Broken(reason)),
            Poll::Pending if State::decode(w).tripping => Some(CancelOutcome::Completing),
            Poll::Pending => None,
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
            match self.cas(w, &State { broken: true, tripping: false, ..s }) {
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
            if !s.broken && !s.tripping && s.arrived == 0 {
                return;
            }
            if !s.broken {
                self.info.store(BreakReason::Reset.encode(), Ordering::Release);
            }
            self.archive(&s);
            let next = State { prev_broken: true, ..s.next_generation(s.parties) };
            match self.cas(w, &next) {
                Ok(()) => {
                    self.publish(parker);
                    return;
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// Removes `n` parties in one CAS (with `parity`, a membership change). If everyone left is
    /// already waiting, this completes the generation. With `broken_by` set, the generation is
    /// broken instead (a party died). Returns the state before.
    fn remove_parties<P: Parker + ?Sized>(
        &self,
        parker: &P,
        n: u32,
        broken_by: Option<BreakReason>,
        parity: Option<bool>,
    ) -> State {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let s = State::decode(w);
            let parties = s.parties.saturating_sub(n);
            let mop_parity = parity.unwrap_or(s.mop_parity);
            let next = if let Some(r) = broken_by {
                self.info.store(r.encode(), Ordering::Release);
                State { parties, broken: true, tripping: false, mop_parity, ..s }
            } else if !s.broken && !s.tripping && s.arrived > 0 && s.arrived >= parties {
                self.archive(&s);
                State { mop_parity, ..s.next_generation(parties) }
            } else if s.tripping {
                // The generation is complete and its action running: the leaver counts from the
                // next generation on.
                State { parties, mop_parity, ..s }
            } else {
                State { parties, arrived: s.arrived.min(parties.saturating_sub(1)), mop_parity, ..s }
            };
            match self.cas(w, &next) {
                Ok(()) => {
                    if next.generation != s.generation {
                        self.episodes.fetch_add(1, Ordering::Relaxed);
                    }
                    if next.generation != s.generation || next.broken != s.broken {
                        self.publish(parker);
                    }
                    return s;
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// Removes one party of a counted barrier (an `arrive_and_drop` that was already counted,
    /// or a resign through the heap API). Membership barriers change parties through
    /// [`BarrierCell::member_op`].
    pub fn remove_party<P: Parker + ?Sized>(&self, parker: &P) {
        self.remove_parties(parker, 1, None, None);
    }
}

impl BarrierCell {
    /// Moves an idle, unbroken barrier to `generation` (a test hook for wrap-around). Returns
    /// false if someone is waiting or the barrier is broken.
    pub fn set_generation(&self, generation: u32) -> bool {
        let w = self.word.load(Ordering::Acquire);
        let s = State::decode(w);
        if s.arrived != 0 || s.broken || s.tripping {
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

// Loom's atomics are larger than the real ones; the layout only matters for real regions.
#[cfg(not(loom))]
const _: () = assert!(core::mem::size_of::<BarrierCell>() == 128);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn state_roundtrip() {
        let s = State {
            parties: 7,
            arrived: 3,
            mop_parity: true,
            tripping: false,
            broken: true,
            prev_broken: false,
            generation: u32::MAX,
        };
        assert_eq!(State::decode(s.encode()), s);
        let s = State {
            parties: MAX_PARTIES,
            arrived: MAX_PARTIES - 1,
            mop_parity: false,
            tripping: true,
            broken: false,
            prev_broken: true,
            generation: 5,
        };
        assert_eq!(State::decode(s.encode()), s);
    }
}
