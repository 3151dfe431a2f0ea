//! [`BarrierCell`]'s transitions besides arriving and waiting: withdrawing a timed-out arrival,
//! abort, break, reset, and removing parties.

#[cfg(doc)]
use super::MemberOp; // for doc links
use super::{BarrierCell, BreakReason, CancelOutcome, State, Ticket};
use crate::sync::Ordering;
use crate::wait::{Parker, Poll};

impl BarrierCell {
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
    pub(super) fn settled(&self, ticket: &Ticket, w: u64) -> Option<CancelOutcome> {
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
    pub(super) fn remove_parties<P: Parker + ?Sized>(
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
