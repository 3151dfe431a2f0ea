//! Split phase (see "Split phase" in the module docs of `barrier`): [`Barrier::arrive`],
//! [`Barrier::try_arrive`], [`Barrier::arrive_and_drop`], and the tickets they return:
//! [`Barrier::await_ticket`], [`Barrier::is_complete`], [`Barrier::poll_ticket`].

use super::{deadline_after, map_reason, Arrival, Barrier, WaitGuard, DROPPED, MEMBER};
use crate::error::{Error, Result};
use muster_core::barrier::{BarrierCell, Ticket, WaitError};
use muster_core::sync::Ordering;
use muster_core::wait::{oversubscribed, Poll};
use std::time::Duration;

impl Barrier {
    /// Split phase: arrives and returns at once with the arrival index and a ticket for
    /// [`Barrier::await_ticket`]. If this arrival completes the generation, this handle's
    /// completion action runs first. A member may not arrive again before the generation of its
    /// previous arrival ended ([`Error::Misuse`]).
    pub fn arrive(&self) -> Result<Arrival> {
        self.arrive_split(None)
    }

    /// Split phase without blocking: [`Barrier::arrive`], except that where the previous
    /// generation's completion action is still running (the only thing an arrival waits for) it
    /// returns `Ok(None)` at once and nothing is done. Never yields or sleeps (a completion
    /// action that this arrival runs runs in this call, as with `arrive`). For callers that must
    /// not block where they are, e.g. holding an interpreter lock the running action may need.
    pub fn try_arrive(&self) -> Result<Option<Arrival>> {
        match self.arrive_split(Some(0)) {
            Ok(a) => Ok(Some(a)),
            Err(Error::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn arrive_split(&self, deadline_ns: Option<u64>) -> Result<Arrival> {
        let _guard = self.admit()?;
        let t = self.arrive_raw(false, deadline_ns)?;
        let ticket = self.make_ticket(t.generation);
        if self.membership {
            self.pending.store(ticket, Ordering::Release);
        }
        Ok(Arrival { index: t.index, ticket })
    }

    /// Split phase: arrives and leaves. The arrival counts for the current generation; from the
    /// next one on the barrier has one party less (a member is resigned; on a counted barrier
    /// `parties` drops by one). The handle can no longer arrive (a member may enroll again).
    pub fn arrive_and_drop(&self) -> Result<Arrival> {
        let _guard = self.admit()?;
        let t = self.arrive_raw(true, None)?;
        self.state.store(DROPPED, Ordering::Release);
        self.pending.store(0, Ordering::Release);
        self.unregister();
        Ok(Arrival { index: t.index, ticket: self.make_ticket(t.generation) })
    }

    fn make_ticket(&self, generation: u32) -> u64 {
        (u64::from(self.tag) << 32) | u64::from(generation)
    }

    /// Checks a ticket of this barrier and returns the generation it names. `cheap`: judge from
    /// the published state first (a generation it shows as started has started: it never leads
    /// the word), so a poll right after an arrival does not pull the word's line from the
    /// parties still arriving; the word decides otherwise.
    fn check_ticket(&self, cell: &BarrierCell, ticket: u64, cheap: bool) -> Result<Ticket> {
        if (ticket >> 32) as u32 != self.tag {
            return Err(Error::InvalidArgument("ticket belongs to another barrier"));
        }
        let generation = ticket as u32;
        let started = |s: &muster_core::barrier::State| (generation.wrapping_sub(s.generation) as i32) <= 0;
        if cheap {
            let s = cell.published_state();
            if started(&s) {
                return Ok(Ticket::for_generation(generation, s.parties));
            }
        }
        let s = cell.state();
        if !started(&s) {
            return Err(Error::InvalidArgument("ticket from a generation that has not started"));
        }
        Ok(Ticket::for_generation(generation, s.parties))
    }

    /// Split phase: waits until the generation of `ticket` completes (`Ok`), is broken
    /// ([`Error::Broken`], [`Error::PeerDied`], [`Error::ActionFailed`]), or `timeout` passes
    /// ([`Error::Timeout`]: nothing changes, the arrival stands; await again). A ticket of a
    /// generation that already completed returns at once. `None` waits without limit.
    pub fn await_ticket(&self, ticket: u64, timeout: Option<Duration>) -> Result<()> {
        self.check_process()?;
        let cell = self.cell()?;
        let t = self.check_ticket(cell, ticket, false)?;
        let member_guard = if self.membership {
            if self.state.load(Ordering::Acquire) != MEMBER {
                return Err(Error::Misuse("await on a handle that is not an enrolled member"));
            }
            if self.waiting.swap(true, Ordering::AcqRel) {
                return Err(Error::Misuse("a member handle is already waiting in another thread"));
            }
            Some(WaitGuard(&self.waiting))
        } else {
            if self.state.load(Ordering::Acquire) == DROPPED {
                return Err(Error::Misuse("await on a handle that dropped out (arrive_and_drop)"));
            }
            None
        };
        let r = match self.block(cell, &t, timeout.map(deadline_after)) {
            Ok(()) => Ok(()),
            Err(WaitError::Broken(r)) => Err(map_reason(r)),
            Err(WaitError::TimedOut) => return Err(Error::Timeout),
        };
        if member_guard.is_some() {
            let _ = self.pending.compare_exchange(ticket, 0, Ordering::AcqRel, Ordering::Acquire);
        }
        r
    }

    /// Split phase: whether the generation of `ticket` has completed (`Ok(false)`: not yet; a
    /// broken generation gives its error).
    pub fn is_complete(&self, ticket: u64) -> Result<bool> {
        self.poll_ticket(ticket, Duration::ZERO)
    }

    /// Split phase: [`Barrier::is_complete`] that busy-polls for up to `spin` before answering
    /// `Ok(false)`. It only spins (no yield, no sleep, no liveness checks: a dead peer is noticed
    /// by the blocking [`Barrier::await_ticket`]), so keep `spin` to microseconds; it is for
    /// callers that want the fast hand-off of a spinning wait without leaving where they are
    /// (Python's `wait()` spins here holding the GIL before it releases it to block). As in the
    /// library's waiting policy, a barrier with more parties than CPUs is not spun on at all:
    /// the parties it waits for need the CPU it would spin on (measured from Python at N = 4 on
    /// 2 CPUs: a 3 µs spin made the wait 9-11 µs instead of about 4).
    pub fn poll_ticket(&self, ticket: u64, spin: Duration) -> Result<bool> {
        self.check_process()?;
        let cell = self.cell()?;
        let t = self.check_ticket(cell, ticket, true)?;
        let spin = if oversubscribed(&self.region.parker, t.parties) { Duration::ZERO } else { spin };
        // Looks read the mirror, which arrivals do not need exclusively (see the cell's "Waiting"
        // docs) and which never shows an outcome early; "pending" is confirmed from the word at
        // the end, which never lags.
        let mut outcome = cell.outcome(&t);
        if outcome.is_pending() && !spin.is_zero() {
            let end = deadline_after(spin);
            'spin: loop {
                for _ in 0..32 {
                    std::hint::spin_loop();
                    outcome = cell.outcome(&t);
                    if !outcome.is_pending() {
                        break 'spin;
                    }
                }
                if crate::futex::monotonic_ns() >= end {
                    break;
                }
            }
        }
        if outcome.is_pending() {
            outcome = cell.outcome_now(&t);
        }
        match outcome {
            Poll::Pending => Ok(false),
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(r)) => Err(map_reason(r)),
        }
    }
}
