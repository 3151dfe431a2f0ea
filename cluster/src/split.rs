//! Split phase on a cluster barrier: [`ClusterBarrier::arrive`] returns at once,
//! [`ClusterBarrier::await_arrival`] blocks until the generation's outcome.
//!
//! `arrive` is the local stage's split-phase arrival (Muster's `Barrier::arrive`); it never
//! touches etcd. `await_arrival` first awaits the local stage (every local member arrived), then
//! runs the host stage exactly as a blocking wait does: the local generation's arrival 0 commits
//! its host's arrival (when *it* awaits, so a host leader that delays its await delays its
//! host), and every member learns the outcome from its watch.
//!
//! A handle may not arrive again, wait or resign while its arrival is pending (not yet awaited
//! to its outcome). Muster's local rule alone would let a member arrive at the next local
//! generation as soon as the local stage completed, before its host's etcd stage ended; this
//! rule keeps the blocking protocol's invariant that a host's next leader is chosen only after
//! every member of the host came back from the generation (crate docs, step 2).
//!
//! A timeout changes nothing (as Muster's local await and Java's `Phaser.awaitAdvance`): the
//! arrival stands and the caller may await again. A death or an unreachable etcd ends the
//! arrival and breaks the handle until `reset`, as for a blocking wait.

use crate::barrier::{ClusterBarrier, ClusterWait};
use muster_shm::{Error, Result, WaitResult};
use std::time::{Duration, Instant};

/// A pending split-phase arrival at a cluster barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterArrival {
    /// Arrival index in the local stage (0: this process will lead its host when it awaits).
    pub index: u32,
    /// Names the arrival for [`ClusterBarrier::await_arrival`] (the local stage's ticket).
    pub ticket: u64,
}

impl ClusterArrival {
    /// Whether this arrival leads its host (it commits the host's arrival when it awaits).
    pub fn is_leader(&self) -> bool {
        self.index == 0
    }
}

impl ClusterBarrier {
    /// Split phase: arrives without waiting. Await the returned ticket with
    /// [`await_arrival`](Self::await_arrival) before arriving, waiting or resigning again.
    ///
    /// Errors: [`Error::Misuse`] (not a member, or an arrival already pending),
    /// [`Error::Cancelled`], [`Error::Broken`], [`Error::Unavailable`] (session lost),
    /// [`Error::PeerDied`] (a local member died: the handle is broken until `reset`).
    pub fn arrive(&self) -> Result<ClusterArrival> {
        let mut st = self.st();
        if st.pending.is_some() {
            return Err(Error::Misuse("this handle's previous arrival is still pending: await it first"));
        }
        match (&st.member_key, st.cancelled, st.broken) {
            (None, true, _) => return Err(Error::Cancelled),
            (None, false, _) => return Err(Error::Misuse("only members may arrive at a cluster barrier")),
            (Some(_), _, true) => return Err(Error::Broken),
            (Some(_), _, false) => {}
        }
        self.s.check_lost()?;
        match self.local.arrive() {
            Ok(a) => {
                let a = ClusterArrival { index: a.index, ticket: a.ticket };
                st.pending = Some(a);
                Ok(a)
            }
            Err(Error::PeerDied { pid }) => {
                st.broken = true;
                st.expected = None;
                drop(st);
                self.report_local_death(pid);
                Err(Error::PeerDied { pid })
            }
            Err(e) => Err(e),
        }
    }

    /// Split phase: waits (at most `timeout`, if given) until the generation of the pending
    /// arrival `ticket` completed on every host. [`Error::Timeout`] leaves the arrival standing
    /// (await again); other errors are those of [`wait_with`](Self::wait_with) and end it.
    /// [`Error::InvalidArgument`] if `ticket` is not this handle's pending arrival.
    pub fn await_arrival(&self, ticket: u64, timeout: Option<Duration>) -> Result<ClusterWait> {
        self.await_with(ticket, timeout, Vec::new)
    }

    /// [`await_arrival`](Self::await_arrival) carrying a value: if this arrival leads its host,
    /// `value` runs once the local stage completed (it sees every local member's writes made
    /// before arriving) and its bytes reach every member in [`ClusterWait::values`].
    pub fn await_with(
        &self,
        ticket: u64,
        timeout: Option<Duration>,
        value: impl FnOnce() -> Vec<u8>,
    ) -> Result<ClusterWait> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let a = {
            let st = self.st();
            match st.pending {
                Some(a) if a.ticket == ticket => a,
                Some(_) => return Err(Error::InvalidArgument("ticket is not this handle's pending arrival")),
                None => return Err(Error::InvalidArgument("no arrival of this handle is pending")),
            }
        };
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match self.local.await_ticket(ticket, left) {
            Ok(()) => {}
            Err(Error::Timeout) => return Err(Error::Timeout),
            Err(e) => {
                let mut st = self.st();
                st.pending = None;
                if let Error::PeerDied { pid } = e {
                    st.broken = true;
                    st.expected = None;
                    drop(st);
                    self.report_local_death(pid);
                }
                return Err(e);
            }
        }
        // The ticket's low 32 bits are the local generation (what a blocking wait reports).
        let local = WaitResult { index: a.index, generation: ticket & 0xffff_ffff };
        let mut expected = self.st().expected;
        let mut feed = std::mem::take(&mut *self.feed());
        let r = self.s.rt.block_on(self.meet(local, &mut expected, &mut feed, deadline, value));
        *self.feed() = feed;
        let mut st = self.st();
        st.expected = if matches!(r, Err(Error::Unavailable(_))) { None } else { expected };
        match &r {
            Err(Error::Timeout) => {}
            Err(Error::HostDied { .. } | Error::Unavailable(_)) => {
                st.broken = true;
                st.pending = None;
            }
            _ => st.pending = None,
        }
        r
    }
}
