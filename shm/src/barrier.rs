//! [`Barrier`]: a handle on a named plain barrier in a region.
//!
//! Two kinds share one state machine (`muster_core::barrier`):
//! * **counted** (`parties > 0`, like `pthread_barrier`, Python's and JCSP's `Barrier(n)`): any
//!   handle may `wait`; every `parties`-th arrival releases the generation.
//! * **membership** (`parties == 0`, like The Grinder): the parties are the enrolled member handles.
//!   Only members wait; a member that times out is cancelled (resigned) and later use of the handle
//!   gives [`Error::Cancelled`] until it enrolls again.
//!
//! Members are counted per process in the region, so a process that dies is noticed: waiters check
//! the liveness tokens of member processes about every 20 ms while they sleep, and the first to
//! notice resigns the dead process's members and breaks the generation with
//! [`Error::PeerDied`]. Anonymous arrivals on counted barriers carry no identity and are not
//! watched: if such a process dies, the others wait until their timeout.
//!
//! Thread-safety: a handle is `Send + Sync`. On a counted barrier any number of threads may wait on
//! one handle at once. A member handle stands for one party: one thread waits on it at a time
//! (a second concurrent wait is [`Error::Misuse`]), and it cannot resign while that wait runs.

use crate::error::{Error, Result};
use crate::futex::process_policy;
use crate::region::{Inner, Region};
use crate::registry::MEMBERSHIP;
use muster_core::barrier::{BarrierCell, BreakReason, CancelOutcome, StateError, Ticket, WaitError, MAX_PARTIES};
use muster_core::sync::{AtomicU32, Ordering};
use muster_core::wait::Adaptive;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8};
use std::sync::Arc;
use std::time::Duration;

const NOT_MEMBER: u8 = 0;
const MEMBER: u8 = 1;
const CANCELLED: u8 = 2;

/// A completed wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitResult {
    /// Arrival index in the generation, `0..parties`, distinct per waiter.
    pub index: u32,
    /// The generation this wait completed (wraps at 2^32).
    pub generation: u64,
}

impl WaitResult {
    /// Exactly one waiter per generation (the first to arrive) is the leader.
    pub fn is_leader(&self) -> bool {
        self.index == 0
    }
}

/// A handle on a named plain barrier. Dropping a member handle resigns it.
pub struct Barrier {
    region: Arc<Inner>,
    index: u32,
    name: String,
    membership: bool,
    state: AtomicU8,
    waiting: AtomicBool,
    /// Process-local: how long recent waits took (adapts the spin budget).
    adapt: Adaptive,
    /// Process-local: the state word the next arrival most likely finds (0: no guess).
    hint: AtomicU64,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier").field("name", &self.name).field("index", &self.index).finish()
    }
}

pub(crate) fn map_reason(r: BreakReason) -> Error {
    match r {
        BreakReason::PeerDied(pid) => Error::PeerDied { pid },
        _ => Error::Broken,
    }
}

fn map_state(e: StateError) -> Error {
    match e {
        StateError::Broken(r) => map_reason(r),
        StateError::TooManyParties => Error::Full("parties (at most 32767)"),
        StateError::NoParties => Error::Misuse("membership barrier has no enrolled members"),
        StateError::Corrupt => Error::Corrupt("barrier state word is inconsistent".into()),
    }
}

/// Takes one member off a process's counter (never below zero: the counter is region data).
fn count_down(count: &AtomicU32) {
    let _ = count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1));
}

impl Region {
    /// Finds or creates the barrier `name`: `parties > 0` a counted barrier with that many parties,
    /// `0` a membership barrier. Opening an existing barrier of another kind or count is
    /// [`Error::Mismatch`].
    pub fn barrier(&self, name: &str, parties: u32) -> Result<Barrier> {
        if parties > MAX_PARTIES {
            return Err(Error::InvalidArgument("parties must be at most 32767"));
        }
        if !self.inner.token_alive_here() {
            return Err(Error::Misuse("region handle used in a forked child; open the region again"));
        }
        let kind = if parties == 0 { MEMBERSHIP } else { parties };
        let found = self.inner.find_or_create(name, kind, parties)?;
        if found.kind & crate::registry::KIND_TAG == crate::registry::ALTING
            || found.kind & crate::registry::KIND_TAG == crate::registry::CHANNEL
        {
            return Err(Error::Mismatch { existing: 0, requested: parties });
        }
        if found.kind != kind {
            let existing = if found.kind == MEMBERSHIP { 0 } else { found.kind };
            return Err(Error::Mismatch { existing, requested: parties });
        }
        Ok(Barrier {
            region: self.inner.clone(),
            index: found.index,
            name: name.to_owned(),
            membership: parties == 0,
            state: AtomicU8::new(NOT_MEMBER),
            waiting: AtomicBool::new(false),
            adapt: Adaptive::new(),
            hint: AtomicU64::new(0),
        })
    }

    /// Opens the membership barrier `name` and enrolls the new handle (Grinder's
    /// `grinder.barrier(name)`).
    pub fn join(&self, name: &str) -> Result<Barrier> {
        let b = self.barrier(name, 0)?;
        b.enroll()?;
        Ok(b)
    }
}

impl Barrier {
    fn cell(&self) -> Result<&BarrierCell> {
        self.region.cell(self.index).ok_or_else(|| Error::Corrupt("barrier index out of bounds".into()))
    }

    /// This process's member counter on this barrier (in the region's member table).
    fn own_count(&self) -> Result<&AtomicU32> {
        self.region
            .member_count(self.index, self.region.slot)
            .ok_or_else(|| Error::Corrupt("member table out of bounds".into()))
    }

    fn check_process(&self) -> Result<()> {
        if !self.region.token_alive_here() {
            return Err(Error::Misuse("region handle used in a forked child; open the region again"));
        }
        Ok(())
    }

    /// The barrier's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this handle is an enrolled member.
    pub fn is_member(&self) -> bool {
        self.state.load(Ordering::Acquire) == MEMBER
    }

    /// Whether this is a membership (Grinder-style) barrier.
    pub fn is_membership(&self) -> bool {
        self.membership
    }

    /// Parties the current generation waits for.
    pub fn parties(&self) -> u32 {
        self.cell().map_or(0, |c| c.state().parties)
    }

    /// Arrivals in the current generation.
    pub fn waiting(&self) -> u32 {
        self.cell().map_or(0, |c| c.state().arrived)
    }

    /// Whether the barrier is broken (until `reset`).
    pub fn is_broken(&self) -> bool {
        self.cell().map_or(true, |c| c.state().broken)
    }

    /// The current generation (wraps at 2^32).
    pub fn generation(&self) -> u64 {
        self.cell().map_or(0, |c| u64::from(c.state().generation))
    }

    /// Makes this handle a member: the barrier gains a party, starting with the current generation.
    pub fn enroll(&self) -> Result<()> {
        self.check_process()?;
        if self.state.load(Ordering::Acquire) == MEMBER {
            return Err(Error::Misuse("handle is already enrolled"));
        }
        let count = self.own_count()?;
        // Word first, counter second: a crash in between leaves a phantom party, never a missing one.
        self.cell()?.add_parties(1).map_err(map_state)?;
        count.fetch_add(1, Ordering::AcqRel);
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
        self.leave(if self.membership { CANCELLED } else { NOT_MEMBER })
    }

    fn leave(&self, next: u8) -> Result<()> {
        let count = self.own_count()?;
        self.state.store(next, Ordering::Release);
        // Counter first, word second (see `enroll`).
        count_down(count);
        self.cell()?.remove_parties(&self.region.parker, 1, None);
        Ok(())
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
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let now = crate::futex::monotonic_ns();
        self.wait_deadline(Some(now.saturating_add(ns)))
    }

    fn wait_deadline(&self, deadline_ns: Option<u64>) -> Result<WaitResult> {
        self.check_process()?;
        let member = match self.state.load(Ordering::Acquire) {
            MEMBER => true,
            CANCELLED => return Err(Error::Cancelled),
            _ if self.membership => return Err(Error::Misuse("only members may wait on a membership barrier")),
            _ => false,
        };
        if member && self.waiting.swap(true, Ordering::AcqRel) {
            return Err(Error::Misuse("a member handle is already waiting in another thread"));
        }
        let r = self.wait_inner(member, deadline_ns);
        if member {
            self.waiting.store(false, Ordering::Release);
        }
        r
    }

    fn wait_inner(&self, member: bool, deadline_ns: Option<u64>) -> Result<WaitResult> {
        let cell = self.cell()?;
        let parker = &self.region.parker;
        let hint = self.hint.load(std::sync::atomic::Ordering::Relaxed);
        let ticket: Ticket = cell.arrive_hinted(parker, (hint != 0).then_some(hint)).map_err(map_state)?;
        self.hint.store(ticket.next_hint(), std::sync::atomic::Ordering::Relaxed);
        let done = WaitResult { index: ticket.index, generation: u64::from(ticket.generation) };
        let watch = || self.region.check_members(self.index);
        match cell.wait(parker, process_policy(), &ticket, deadline_ns, Some(&self.adapt), watch) {
            Ok(()) => Ok(done),
            Err(WaitError::Broken(r)) => Err(map_reason(r)),
            Err(WaitError::TimedOut) => {
                // A member leaves the party count on timeout: counter first, word second (a crash
                // in between leaves a phantom party, never a missing one); undone if the
                // generation completed meanwhile.
                let count = if member { self.own_count().ok() } else { None };
                if let Some(c) = count {
                    count_down(c);
                }
                let outcome = cell.cancel(parker, &ticket, member);
                if let (Some(c), false) = (count, outcome == CancelOutcome::Withdrawn) {
                    c.fetch_add(1, Ordering::AcqRel);
                }
                match outcome {
                    CancelOutcome::Released => Ok(done),
                    CancelOutcome::Broken(r) => Err(map_reason(r)),
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

    /// Breaks the barrier: everyone waiting, and every later arrival until `reset`, gets
    /// [`Error::Broken`].
    pub fn abort(&self) -> Result<()> {
        self.check_process()?;
        self.cell()?.abort(&self.region.parker);
        Ok(())
    }

    /// Starts a fresh generation: whoever is waiting now gets [`Error::Broken`]; later arrivals
    /// meet in the new generation. Clears a broken state.
    pub fn reset(&self) -> Result<()> {
        self.check_process()?;
        self.cell()?.reset(&self.region.parker);
        Ok(())
    }

    /// Test hook: moves an idle barrier (nobody waiting) to generation `generation`, to exercise
    /// wrap-around. Not for production use.
    #[doc(hidden)]
    pub fn set_generation_for_test(&self, generation: u32) -> Result<()> {
        if self.cell()?.set_generation(generation) {
            Ok(())
        } else {
            Err(Error::Misuse("set_generation_for_test needs an idle, unbroken barrier"))
        }
    }
}

impl Drop for Barrier {
    fn drop(&mut self) {
        if self.state.load(Ordering::Acquire) == MEMBER && self.region.token_alive_here() {
            let _ = self.leave(NOT_MEMBER);
        }
    }
}
