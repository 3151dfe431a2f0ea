//! One arrival (running the completion action when it completes the generation) and the blocking
//! wait: [`Barrier::wait`] and [`Barrier::wait_timeout`].

use super::{deadline_after, map_reason, map_state, Barrier, WaitResult, CANCELLED};
use crate::error::{Error, Result};
use crate::futex::process_policy;
use muster_core::barrier::{
    Arrive, BarrierCell, BreakReason, CancelOutcome, MemberOp, MemberOutcome, StateError, Ticket, WaitError,
};
use muster_core::sync::Ordering;
use muster_core::wait::Poll;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

impl Barrier {
    /// One arrival (plain or dropping), waiting out a completion action of the previous
    /// generation, and running this handle's action if the arrival completes the generation.
    /// `deadline_ns` bounds only the wait for a previous generation's action (then
    /// [`Error::Timeout`], nothing done; a deadline already past does not wait at all).
    pub(super) fn arrive_raw(&self, drop: bool, deadline_ns: Option<u64>) -> Result<Ticket> {
        let cell = self.cell()?;
        let parker = &self.region.parker;
        let action = self.has_action.load(Ordering::Acquire);
        loop {
            let r = if drop && self.membership {
                match self.member_op_raw(MemberOp::Drop { action })? {
                    Ok(MemberOutcome::Dropped(t)) => Ok(t),
                    Ok(_) => Err(StateError::Corrupt),
                    Err(e) => Err(e),
                }
            } else {
                let mode = match (drop, action) {
                    (true, _) => Arrive::Drop { action },
                    (false, true) => Arrive::WithAction,
                    (false, false) => Arrive::Plain,
                };
                let hint = self.hint.load(std::sync::atomic::Ordering::Relaxed);
                cell.arrive_with(parker, (hint != 0 && !drop).then_some(hint), mode, None)
            };
            match r {
                Ok(t) => {
                    self.hint.store(t.next_hint(), std::sync::atomic::Ordering::Relaxed);
                    if t.tripping {
                        self.run_action(cell, &t)?;
                    }
                    return Ok(t);
                }
                Err(StateError::Tripping) => {
                    if deadline_ns.is_some_and(|d| crate::futex::monotonic_ns() >= d) {
                        return Err(Error::Timeout);
                    }
                    let watch = || self.region.check_members(self.index);
                    if !cell.wait_trip(parker, process_policy(), deadline_ns, watch) {
                        return Err(Error::Timeout);
                    }
                }
                Err(e) => return Err(map_state(e)),
            }
        }
    }

    /// Runs the completion action of a tripping arrival and ends the trip.
    fn run_action(&self, cell: &BarrierCell, t: &Ticket) -> Result<()> {
        let action = self.action.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let outcome = match action {
            None => Ok(()),
            Some(f) => match catch_unwind(AssertUnwindSafe(|| f())) {
                Ok(r) => r,
                Err(_) => Err("the completion action panicked".to_owned()),
            },
        };
        let parker = &self.region.parker;
        match outcome {
            Ok(()) => {
                if cell.complete_trip(parker, t, Ok(())) {
                    return Ok(());
                }
                // A reset, break or dead-party cleanup ended the trip first.
                match cell.outcome_now(t) {
                    Poll::Ready(Err(r)) => Err(map_reason(r)),
                    _ => Ok(()),
                }
            }
            Err(msg) => {
                cell.complete_trip(parker, t, Err(BreakReason::ActionFailed));
                Err(Error::ActionFailed(msg))
            }
        }
    }

    /// Waits for the generation to complete; returns the arrival index and generation.
    pub fn wait(&self) -> Result<WaitResult> {
        self.wait_deadline(None)
    }

    /// Waits at most `timeout`. On timeout a member is cancelled (resigned; later use gives
    /// [`Error::Cancelled`] until it enrolls again) and a non-member breaks the barrier for
    /// everyone waiting; both return [`Error::Timeout`]. If the generation completes while the
    /// timeout is being processed, the wait succeeds.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<WaitResult> {
        self.wait_deadline(Some(deadline_after(timeout)))
    }

    fn wait_deadline(&self, deadline_ns: Option<u64>) -> Result<WaitResult> {
        let guard = self.admit()?;
        let member = guard.is_some();
        let ticket = self.arrive_raw(false, deadline_ns)?;
        let done = WaitResult { index: ticket.index, generation: u64::from(ticket.generation) };
        if ticket.released || ticket.tripping {
            return Ok(done);
        }
        let cell = self.cell()?;
        match self.block(cell, &ticket, deadline_ns) {
            Ok(()) => Ok(done),
            Err(WaitError::Broken(r)) => Err(map_reason(r)),
            Err(WaitError::TimedOut) => {
                let outcome = if member {
                    match self.member_op(MemberOp::Cancel { generation: ticket.generation })? {
                        MemberOutcome::Cancelled(o) => o,
                        _ => return Err(Error::Corrupt("unexpected membership outcome".into())),
                    }
                } else {
                    cell.cancel(&self.region.parker, &ticket)
                };
                match outcome {
                    CancelOutcome::Released => Ok(done),
                    CancelOutcome::Broken(r) => Err(map_reason(r)),
                    CancelOutcome::Completing => match self.block(cell, &ticket, None) {
                        Ok(()) => Ok(done),
                        Err(WaitError::Broken(r)) => Err(map_reason(r)),
                        Err(WaitError::TimedOut) => Err(Error::Timeout),
                    },
                    CancelOutcome::Withdrawn => {
                        if member {
                            self.state.store(CANCELLED, Ordering::Release);
                        }
                        Err(Error::Timeout)
                    }
                }
            }
        }
    }

    pub(super) fn block(
        &self,
        cell: &BarrierCell,
        ticket: &Ticket,
        deadline_ns: Option<u64>,
    ) -> std::result::Result<(), WaitError> {
        let watch = || self.region.check_members(self.index);
        cell.wait(&self.region.parker, process_policy(), ticket, deadline_ns, Some(&self.adapt), watch)
    }
}
