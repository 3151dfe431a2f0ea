//! [`Barrier`]: a handle on a named plain barrier in a region.
//!
//! Two kinds share one state machine (`muster_core::barrier`):
//! * **counted** (`parties > 0`, like `pthread_barrier`, Python's and JCSP's `Barrier(n)`): any
//!   handle may `wait`; every `parties`-th arrival releases the generation.
//! * **membership** (`parties == 0`, like The Grinder): the parties are the enrolled member handles.
//!   Only members wait; a member that times out is cancelled (resigned) and later use of the handle
//!   gives [`Error::Cancelled`] until it enrolls again.
//!
//! ## Who is a party (and what happens when one dies)
//! * A process becomes a **party of a counted barrier** when one of its handles first arrives
//!   (`wait`, `wait_timeout`, `arrive`, `arrive_and_drop`, from any thread), and stays one until
//!   every such handle is closed (dropped). A handle that was only opened — an observer, a
//!   monitoring tool — never makes its process a party.
//! * A process is a **party of a membership barrier** while it holds enrolled member handles.
//! * Parties are recorded per process in the region's member table *before* their first arrival,
//!   so there is no instant at which a process has arrived but is not known. A process that dies
//!   while it is a party — while waiting, mid-arrival, between its arrival and the release, or
//!   between two waits — breaks the current generation with [`Error::PeerDied`] for everyone:
//!   waiters check the liveness tokens of parties about every 20 ms while they sleep, and the
//!   first to notice cleans up after the dead process. On a membership barrier its members are
//!   also resigned, so the survivors `reset()` and go on; a counted barrier keeps its count (a
//!   replacement process takes the dead one's place).
//! * Closing handles cleanly (drop, `muster_barrier_close`) and then exiting breaks nothing. A
//!   process that exits with a party handle still open counts as dead.
//! * Membership changes (enroll, resign, drop, a timed-out member's withdrawal, the cleanup of a
//!   dead process) survive a crash at any instant: see `muster_core::barrier::membership`.
//!
//! ## Split phase
//! [`Barrier::arrive`] returns at once with the arrival index and a ticket naming the
//! generation; [`Barrier::await_ticket`] waits for that generation, and its timeout changes
//! nothing (Phaser's `awaitAdvance`), unlike [`Barrier::wait_timeout`], which cancels a member or
//! breaks the barrier (Grinder's and `CyclicBarrier`'s semantics). [`Barrier::arrive_and_drop`]
//! arrives and leaves for later generations.
//!
//! ## Completion action
//! [`Barrier::set_action`] gives a handle an action. When a generation completes, the last party
//! to arrive runs its own handle's action (if it has one) before anyone is released; everyone's
//! writes before arriving are visible to it. An action that fails breaks the generation for all
//! with [`Error::ActionFailed`].
//!
//! Thread-safety: a handle is `Send + Sync`. On a counted barrier any number of threads may wait on
//! one handle at once. A member handle stands for one party: one thread waits on it at a time
//! (a second concurrent wait is [`Error::Misuse`]), and it cannot resign while that wait runs.

mod party;
mod split_phase;
mod wait;

use crate::error::{Error, Result};
use crate::region::{Inner, Region};
use crate::registry::MEMBERSHIP;
use muster_core::barrier::{
    counter_count, BarrierCell, BreakReason, CancelOutcome, MemberOp, MemberOutcome, MemberTable, StateError,
    MAX_PARTIES,
};
use muster_core::sync::{AtomicU32, Ordering};
use muster_core::wait::Adaptive;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NOT_MEMBER: u8 = 0;
const MEMBER: u8 = 1;
const CANCELLED: u8 = 2;
const DROPPED: u8 = 3;

/// A completion action: runs in the last arriving party before the generation is released.
pub type Action = dyn Fn() -> std::result::Result<(), String> + Send + Sync;

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

/// A split-phase arrival ([`Barrier::arrive`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Arrival index in the generation (as [`WaitResult::index`]).
    pub index: u32,
    /// Names the generation for [`Barrier::await_ticket`] and [`Barrier::is_complete`]; only
    /// valid on this barrier.
    pub ticket: u64,
}

impl Arrival {
    /// Whether this arrival is the generation's leader (index 0).
    pub fn is_leader(&self) -> bool {
        self.index == 0
    }
    /// The generation the ticket names (wraps at 2^32).
    pub fn generation(&self) -> u64 {
        self.ticket & 0xffff_ffff
    }
}

/// A handle on a named plain barrier. Dropping a member handle resigns it; dropping any handle
/// ends its part in the party identity of its process (see the module docs).
pub struct Barrier {
    region: Arc<Inner>,
    index: u32,
    name: String,
    /// High half of every ticket of this barrier (a hash of region and barrier name, never 0).
    tag: u32,
    membership: bool,
    state: AtomicU8,
    waiting: AtomicBool,
    /// Member handles: the ticket of the last arrival (0: none), to refuse arriving twice in one
    /// generation and leaving while an arrival is pending.
    pending: AtomicU64,
    /// Counted barriers: whether this handle holds one of its process's party registrations.
    registered: AtomicBool,
    has_action: AtomicBool,
    action: Mutex<Option<Arc<Action>>>,
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
        BreakReason::ActionFailed => Error::ActionFailed("the completion action of the last party failed".into()),
        _ => Error::Broken,
    }
}

fn map_state(e: StateError) -> Error {
    match e {
        StateError::Broken(r) => map_reason(r),
        StateError::TooManyParties => Error::Full("parties (at most 16383, and 65535 handles per process)"),
        StateError::NoParties => Error::Misuse("membership barrier has no enrolled members"),
        StateError::Tripping => Error::Corrupt("barrier stuck completing".into()),
        StateError::Corrupt => Error::Corrupt("barrier state or member table is inconsistent".into()),
    }
}

/// The member table of one barrier, as `muster_core` sees it.
pub(crate) struct Members<'a> {
    pub(crate) region: &'a Inner,
    pub(crate) barrier: u32,
}

impl MemberTable for Members<'_> {
    fn me(&self) -> u32 {
        self.region.slot
    }
    fn counter(&self, slot: u32) -> Option<&AtomicU32> {
        self.region.member_count(self.barrier, slot)
    }
    fn is_dead(&self, slot: u32) -> bool {
        !self.region.token_held(slot)
    }
}

impl Region {
    /// Finds or creates the barrier `name`: `parties > 0` a counted barrier with that many parties,
    /// `0` a membership barrier. Opening an existing barrier of another kind or count is
    /// [`Error::Mismatch`].
    ///
    /// On a region whose cluster configuration (with `MUSTER_CLUSTER` & co. applied) spans hosts,
    /// this refuses rather than quietly giving a barrier of this host only: a membership barrier
    /// is [`Error::Unavailable`] (open it with `muster_cluster::Cluster::from_region`), a counted
    /// one [`Error::InvalidArgument`] (counted barriers do not span hosts), as in the C ABI.
    /// [`Region::host_barrier`] opens this host's barrier regardless.
    pub fn barrier(&self, name: &str, parties: u32) -> Result<Barrier> {
        if crate::cluster_config::ClusterConfig::effective(self.cluster_config())?.is_cluster() {
            return Err(if parties == 0 {
                Error::Unavailable(
                    "this region spans hosts: open its barriers with muster_cluster::Cluster::from_region".into(),
                )
            } else {
                Error::InvalidArgument("counted barriers do not span hosts")
            });
        }
        self.host_barrier(name, parties)
    }

    /// [`Region::barrier`] on this host only, whatever the region's cluster configuration: the
    /// host stage of a barrier that spans hosts (`muster-cluster` uses it).
    pub fn host_barrier(&self, name: &str, parties: u32) -> Result<Barrier> {
        if parties > MAX_PARTIES {
            return Err(Error::InvalidArgument("parties must be at most 16383"));
        }
        self.refuse_forked()?;
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
        let id = format!("{}/{}", self.inner.name, name);
        let tag = (crate::name::hash(id.as_bytes()) as u32) | 1;
        Ok(Barrier {
            region: self.inner.clone(),
            index: found.index,
            name: name.to_owned(),
            tag,
            membership: parties == 0,
            state: AtomicU8::new(NOT_MEMBER),
            waiting: AtomicBool::new(false),
            pending: AtomicU64::new(0),
            registered: AtomicBool::new(false),
            has_action: AtomicBool::new(false),
            action: Mutex::new(None),
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

    fn members(&self) -> Members<'_> {
        Members { region: &self.region, barrier: self.index }
    }

    fn member_op(&self, op: MemberOp) -> Result<MemberOutcome> {
        self.member_op_raw(op)?.map_err(map_state)
    }

    fn member_op_raw(&self, op: MemberOp) -> Result<std::result::Result<MemberOutcome, StateError>> {
        Ok(self.cell()?.member_op(&self.region.parker, &self.members(), op, self.region.slot))
    }

    fn check_process(&self) -> Result<()> {
        self.region.refuse_forked()
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

    /// Generations released since the barrier was created.
    pub fn episodes(&self) -> u64 {
        self.cell().map_or(0, |c| c.episodes())
    }

    /// Gives this handle a completion action (replacing any previous one; `None` removes it).
    /// When a generation completes, the last party to arrive runs its own handle's action before
    /// anyone is released. An `Err` or a panic breaks the generation for every party with
    /// [`Error::ActionFailed`].
    pub fn set_action(&self, action: Option<Box<Action>>) {
        let action: Option<Arc<Action>> = action.map(Arc::from);
        self.has_action.store(action.is_some(), Ordering::Release);
        *self.action.lock().unwrap_or_else(|e| e.into_inner()) = action;
    }

    /// Builder form of [`Barrier::set_action`].
    pub fn with_action(self, action: impl Fn() -> std::result::Result<(), String> + Send + Sync + 'static) -> Barrier {
        self.set_action(Some(Box::new(action)));
        self
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

/// Clears a member handle's "wait in progress" flag when the wait ends, however it ends.
struct WaitGuard<'a>(&'a AtomicBool);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Takes one registration off a process's counter (never below zero: the counter is region data).
fn count_down(count: &AtomicU32) {
    let _ = count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| (counter_count(c) > 0).then(|| c - 1));
}

fn deadline_after(timeout: Duration) -> u64 {
    let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    crate::futex::monotonic_ns().saturating_add(ns)
}

impl Drop for Barrier {
    fn drop(&mut self) {
        if !self.region.token_alive_here() {
            return;
        }
        if self.state.load(Ordering::Acquire) == MEMBER {
            // A pending arrival is withdrawn with the party (leaving it counted would release
            // the others one party short).
            let pending = self.pending.load(Ordering::Acquire);
            let withdrawn = pending != 0
                && matches!(self.pending_incomplete(), Ok(true))
                && matches!(
                    self.member_op(MemberOp::Cancel { generation: pending as u32 }),
                    Ok(MemberOutcome::Cancelled(CancelOutcome::Withdrawn))
                );
            if !withdrawn {
                let _ = self.member_op(MemberOp::Resign);
            }
        }
        self.unregister();
    }
}
