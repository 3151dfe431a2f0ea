//! [`BarrierCell`]: the shared state of one plain barrier, arrival, the end of a trip, and
//! waiting (the other transitions are in `cell_break.rs`, membership changes in `membership.rs`).
//! "The module docs" below are those of `barrier` (`mod.rs`): the protocol and its invariants.

use super::{Arrive, BreakReason, State, StateError, Ticket, WaitError, MAX_PARTIES};
use crate::sync::{AtomicU32, AtomicU64, Ordering};
use crate::wait::{notify_sleepers as notify_all, wait_for, Adaptive, Parker, Peers, Poll, Sleepers, WaitPolicy};

/// The shared state of one plain barrier. `#[repr(C)]`, fixed width, 128 bytes, so it can live in
/// a shared-memory region as well as on the heap.
#[repr(C, align(128))]
pub struct BarrierCell {
    pub(super) word: AtomicU64,
    /// Last break reason (see [`BreakReason::encode`]); written before BROKEN is set.
    pub(super) info: AtomicU64,
    /// Outcome ring: bit `g % 64` set iff generation `g` ended broken (see module docs).
    history: AtomicU64,
    /// Futex eventcount (bit 0 = sleepers).
    seq: AtomicU32,
    _pad: u32,
    /// Generations released since the cell was created (statistics for inspection tools; bumped
    /// with a relaxed RMW on the word's line, which the releaser owns anyway).
    pub(super) episodes: AtomicU64,
    /// The membership-change lock and its operation descriptor (see `membership.rs`).
    pub(super) mop: AtomicU64,
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

    /// The state as last published to the mirror (see "Waiting" in the module docs): it may lag
    /// the word by transitions but never leads it, and reading it does not take the word's line
    /// from the arrivals. For cheap checks that fall back to [`BarrierCell::state`].
    pub fn published_state(&self) -> State {
        State::decode(self.mirror.load(Ordering::Acquire))
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
        Peers { parties, asleep: Sleepers::Counter(&self.asleep) }
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
    pub(super) fn archive(&self, s: &State) {
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

    pub(super) fn cas(&self, old: u64, new: &State) -> Result<(), u64> {
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
    pub(super) fn publish<P: Parker + ?Sized>(&self, parker: &P) {
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
    /// latest state (the sleeper's side of the eventcount; see `wait/mod.rs`).
    fn outcome_strong(&self, ticket: &Ticket) -> Poll<Result<(), BreakReason>> {
        self.outcome_of(ticket, self.word.fetch_add(0, Ordering::AcqRel))
    }

    pub(super) fn outcome_of(&self, ticket: &Ticket, w: u64) -> Poll<Result<(), BreakReason>> {
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
