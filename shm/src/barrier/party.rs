//! Who is a party: membership (enroll, resign), the party registration of counted barriers, and
//! the admission of an arrival (see "Who is a party" in the module docs of `barrier`).

use super::{count_down, Barrier, WaitGuard, CANCELLED, DROPPED, MEMBER};
use crate::error::{Error, Result};
use muster_core::barrier::{counter_count, MemberOp, Ticket, MAX_PROCESS_PARTIES};
use muster_core::sync::{AtomicU32, Ordering};
use muster_core::wait::Poll;

impl Barrier {
    /// Makes this handle a member: the barrier gains a party, starting with the current generation.
    pub fn enroll(&self) -> Result<()> {
        self.check_process()?;
        if !self.membership {
            return Err(Error::Misuse("enroll needs a membership barrier (parties = 0)"));
        }
        if self.state.load(Ordering::Acquire) == MEMBER {
            return Err(Error::Misuse("handle is already enrolled"));
        }
        self.member_op(MemberOp::Enroll)?;
        self.pending.store(0, Ordering::Relaxed);
        self.state.store(MEMBER, Ordering::Release);
        Ok(())
    }

    /// Withdraws this member (Grinder `cancel`, JCSP `resign`). If everyone else is waiting, this
    /// completes their generation.
    pub fn resign(&self) -> Result<()> {
        self.check_process()?;
        if self.state.load(Ordering::Acquire) != MEMBER {
            return Err(Error::Misuse("handle is not enrolled"));
        }
        if self.waiting.load(Ordering::Acquire) {
            return Err(Error::Misuse("a member cannot resign while its wait is in progress"));
        }
        if self.pending_incomplete()? {
            return Err(Error::Misuse("a member cannot resign while its arrival is pending; await it first"));
        }
        self.member_op(MemberOp::Resign)?;
        self.state.store(CANCELLED, Ordering::Release);
        Ok(())
    }

    /// Whether a member's last arrival is in a generation that has not ended yet.
    pub(super) fn pending_incomplete(&self) -> Result<bool> {
        match self.pending.load(Ordering::Acquire) {
            0 => Ok(false),
            t => Ok(matches!(self.cell()?.outcome_now(&self.ticket_of(t)), Poll::Pending)),
        }
    }

    fn ticket_of(&self, ticket: u64) -> Ticket {
        Ticket::for_generation(ticket as u32, self.parties())
    }

    /// This process's counter in the barrier's member table.
    fn own_count(&self) -> Option<&AtomicU32> {
        self.region.member_count(self.index, self.region.slot)
    }

    /// Counted barriers: records this handle's process as a party before its first arrival.
    fn register(&self) -> Result<()> {
        if self.membership || self.registered.load(Ordering::Acquire) {
            return Ok(());
        }
        let count = self.own_count().ok_or_else(|| Error::Corrupt("member table out of bounds".into()))?;
        // Count first, flag second: there is no instant at which this process has arrived
        // without being known. A thread that loses the race gives its count back.
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                (counter_count(c) < MAX_PROCESS_PARTIES).then_some(c + 1)
            })
            .map_err(|_| Error::Full("handles of one process on one barrier (65535)"))?;
        if self.registered.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_err() {
            count_down(count);
        }
        Ok(())
    }

    pub(super) fn unregister(&self) {
        if self.registered.swap(false, Ordering::AcqRel) {
            if let Some(count) = self.own_count() {
                count_down(count);
            }
        }
    }

    /// Checks the handle may arrive; for a member, marks its wait in progress (released by the
    /// returned guard).
    pub(super) fn admit(&self) -> Result<Option<WaitGuard<'_>>> {
        self.check_process()?;
        match self.state.load(Ordering::Acquire) {
            MEMBER => {}
            CANCELLED => return Err(Error::Cancelled),
            DROPPED if !self.membership => {
                return Err(Error::Misuse("this handle dropped out (arrive_and_drop); open a new one"))
            }
            _ if self.membership => return Err(Error::Misuse("only members may arrive at a membership barrier")),
            _ => {
                self.register()?;
                return Ok(None);
            }
        }
        if self.waiting.swap(true, Ordering::AcqRel) {
            return Err(Error::Misuse("a member handle is already waiting in another thread"));
        }
        let guard = WaitGuard(&self.waiting);
        if self.pending_incomplete()? {
            return Err(Error::Misuse("this member already arrived in the current generation; await it first"));
        }
        Ok(Some(guard))
    }
}
