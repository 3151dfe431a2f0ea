//! Alting barriers (JCSP `AltingBarrier` semantics) and the choice protocol of an Alternative,
//! lock-free and region-agnostic.
//!
//! ## Model
//! An *agent* is a thread that runs selects (one JCSP process); it has a slot ([`tables::AgentCell`])
//! with its offer word, its completion descriptor and a futex eventcount. An alting barrier is a
//! family of *front-ends*; each enrolled front-end is one party, owned by at most one agent.
//! Guards of a select: front-ends ([`Guard::Barrier`]), an absolute deadline ([`Guard::Timeout`]),
//! [`Guard::Skip`], and channel input ([`Guard::Input`], u64 values). A barrier guard fires iff all
//! enrolled front-ends of its barrier are offered by their owners in their current selects.
//!
//! ## Protocol: the offer word is the single commit point
//! Offer word (`word::OfferWord`) = `epoch:28 | tag | payload`, tags IDLE, OFFER, CLAIM(owner,seq),
//! DONE(guard,ticket), DEAD. A select:
//! 1. `e += 1`; `offer := OFFER(e)` (no guard is offered yet: a completer also needs the stamp).
//! 2. Enable sequence in priority order: a ready Skip/Timeout/Input guard ends it (commit, below);
//!    a barrier guard writes the front-end's stamp `(agent, guard, e)`, `fence(SeqCst)`, then runs
//!    `try_complete(B)` (the Dekker step: of two last arrivers, at least one sees the other).
//! 3. Wait on the own eventcount until the word is DONE, a channel is readable or the earliest
//!    deadline passes; a local guard then commits.
//!
//! `try_complete(B)` by any agent C (a party, a resigner, a contractor, a cleaner):
//! 1. Snapshot: read B's head (version); for every enrolled front-end, the owner's offer word (one
//!    load) and the stamp. OFFER/CLAIM with a stamp of the same epoch → party (agent, epoch, guard);
//!    anything else (unowned, IDLE, DONE, DEAD, not stamped) → give up: that party runs
//!    try_complete itself when it next offers B. A CLAIM by another attempt is *not* evidence of
//!    anything (pitfall 3), it is resolved in step 3.
//! 2. Open C's descriptor (seqlock: PREP → party list → UNDEC(seq, B)).
//! 3. Claim parties in agent-index order: `CAS(OFFER(e_p) → CLAIM(C,seq))`. Held by another attempt D
//!    → wait for D to be decided (help finish it if SUCC, help release if failed); after a budget,
//!    or at once if D's owner is dead, abort it (UNDEC → ABRT_S, retried by its owner). A new epoch
//!    in OFFER → release and retry; anything else → definitive failure.
//! 4. Validate: B's head word unchanged (no enroll/expand/resign/contract meanwhile).
//! 5. Decide: `CAS(desc, UNDEC(seq) → SUCC(seq))`: the linearisation point of the event.
//! 6. Finalize: bump B's completion counter `ticket-1 → ticket` (one CAS, idempotent), then every
//!    party `CAS(CLAIM(C,seq) → DONE(guard, ticket))` + eventcount wake. On failure, release:
//!    `CLAIM(C,seq) → OFFER(e_p)`. An ABRT_W (a party withdrew) is definitive, ABRT_S is retried.
//!
//! Anyone who sees a SUCC descriptor can finish it (steps 6, from the party list), so a party finishes
//! its own word, a blocked completer finishes the party it needs, and `cleanup_agent` finishes a
//! dead completer's attempt. Anyone can abort an UNDEC descriptor. Nothing is ever locked.
//!
//! Committing a local guard g (timeout, skip, channel) = `resolve`: OFFER(e) → DONE(g) by CAS;
//! CLAIM(D) → abort D (UNDEC → ABRT_W) and then CLAIM(D) → DONE(g) if D failed, or finish D (the
//! barrier won the race: the select returns the barrier, for everyone) if it succeeded.
//!
//! ## Invariants
//! * An offer word leaves OFFER/CLAIM only for DONE or DEAD, once per epoch, by CAS: an agent
//!   commits to at most one guard per select.
//! * Between decide and finalize every party's word is CLAIM(D); the only ways out are DONE (D is
//!   SUCC) or OFFER/DONE(local) (D failed), both decided by D's one status word: all parties see B
//!   fire, or none does; a timeout or channel racing a completion resolves the same way for all.
//! * Claims are taken in one global order (agent index), a completer waits only for words after
//!   those it holds, so the wait-for graph is acyclic (no deadlock); stall-breaking aborts make it
//!   obstruction-free even when a claimer stops or dies.
//! * Every event that can make B ready (an offer of B, a resign, a contract, a cleanup with the
//!   resign policy) runs try_complete(B), which gives up only on a definitive non-offering party,
//!   who then carries the obligation (no lost completion).
//! * Wake-ups: eventcount (`crate::wait`): the waker changes the offer word first, then bumps the
//!   agent's `wake`; the sleeper reads `wake` before re-checking its word (no lost wake-up).
//! * Descriptor ABA: a CLAIM names (owner, seq16); readers re-check the descriptor's seq, and a
//!   completer resolves all its claims before opening its next seq.
//!
//! ## Simplifications relative to the design brief (and why they are correct)
//! * No barrier-head lock for membership changes: enroll/resign/expand/contract are CASes on the
//!   front-end words followed by a version bump of the head; a completer re-reads the head after
//!   all its claims (step 4) and retries if it moved (a read-only compare of a k-CAS, valid because
//!   it happens while every claim is held). Nothing can be left locked by a dead process.
//! * Offer sets are per-front-end stamps, not a per-agent array: a completer checks a party with one
//!   offer-word load and one stamp load, and an agent enables barrier guards one by one in priority
//!   order exactly like JCSP's enable sequence.
//! * Withdrawal goes straight to DONE(local guard) instead of WDRAWN: DONE is terminal for the
//!   epoch, so "withdrawers never re-offer" (the livelock fix of `choice.pml`) holds.
//! * Channel input is a local guard resolved by the reader itself: writers wake a registered
//!   reader; the reader commits with the same offer-word CAS as a timeout. [`Alt::select`] returns the
//!   guard index; the (single) reader then calls [`Alt::channel_try_read`], which cannot find
//!   the channel empty. Priority among barriers is not honoured (JCSP: it cannot be).
//!
//! ## Crash handling
//! The region layer detects dead processes (a liveness test is supplied through [`AltEnv`]) and calls
//! [`Alt::cleanup_agent`] for each agent of the dead process (idempotent, any number of cleaners).
//! Front-ends of a dead agent are either left enrolled-unowned ([`DeathPolicy::LeaveEnrolled`], JCSP:
//! the barrier blocks until [`Alt::reset_frontend`] or [`Alt::attach`] by another agent) or resigned
//! ([`DeathPolicy::Resign`]: the survivors go on). `poll(0)`-only parties never synchronise (JCSP).
//!
//! A dead agent's offer stays on the table until its cleanup, so a peer may still complete the
//! one event the dead agent's last select committed to (the offer word's single commit point
//! makes it all-or-nothing for every party). That is indistinguishable from the agent dying just
//! after its select returned, happens at most once per dead agent, and is documented for users
//! in `include/muster.h` ("PROCESSES KILLED AT ANY INSTANT"); `tests/crash_alting.rs` checks it
//! under thousands of random-instant kills. Closing it would cost a liveness probe per party per
//! completion.

mod channel;
mod cleanup;
mod complete;
pub mod inspect;
mod membership;
mod select;
pub mod tables;
mod word;

pub use channel::ChannelConfig;
pub use select::Alternative;
pub use tables::{AltCapacities, AltLayout, AltTables, HeapAlting, MAX_AGENTS, MAX_FRONTENDS_PER_BARRIER, MAX_GUARDS};

use crate::wait::{Parker, WaitPolicy};

/// Misuse of the API (JCSP `AltingBarrierError`). State is left unchanged and usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misuse {
    /// The front-end is owned by another live agent.
    NotOwner,
    /// `enroll` while enrolled.
    AlreadyEnrolled,
    /// `resign` while resigned.
    AlreadyResigned,
    /// sync/select/expand/contract/attach on a resigned front-end.
    Resigned,
    /// `contract` with front-ends that are not exactly one `expand` of this barrier.
    NotFromExpand,
    /// A handle to a contracted/destroyed front-end, barrier, channel or agent (use after free).
    Stale,
    /// The same barrier offered twice in one select.
    DuplicateGuard,
}

/// Errors of the alting API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AltError {
    /// An argument is out of range (n == 0, too many guards, an index beyond the tables).
    InvalidArgument,
    /// No free slot (agents, barriers, front-ends of a barrier, channels).
    Capacity,
    /// A blocking call's deadline passed.
    TimedOut,
    /// The agent was cleaned up (its process was declared dead).
    AgentDead,
    /// A shared word holds a value no correct peer writes.
    Corrupt,
    /// API misuse.
    Misuse(Misuse),
}

impl From<Misuse> for AltError {
    fn from(m: Misuse) -> AltError {
        AltError::Misuse(m)
    }
}

/// An agent slot handle (index + generation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AgentId {
    pub index: u32,
    pub gen: u32,
}

/// An alting barrier handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BarrierId {
    pub index: u32,
    pub gen: u32,
}

/// A front-end handle: global front-end slot index (barrier = index / frontends_per_barrier) and
/// the slot generation (14 bits) it had when handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrontEnd {
    pub index: u32,
    pub gen: u32,
}

impl FrontEnd {
    /// Packs the handle into one u64 (for FFI).
    pub fn to_u64(self) -> u64 {
        (u64::from(self.gen) << 32) | u64::from(self.index)
    }
    /// Unpacks [`FrontEnd::to_u64`].
    pub fn from_u64(v: u64) -> FrontEnd {
        FrontEnd { index: v as u32, gen: (v >> 32) as u32 }
    }
}

/// A channel handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelId {
    pub index: u32,
    pub gen: u32,
}

/// One guard of a select.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// An alting barrier front-end owned by the selecting agent.
    Barrier(FrontEnd),
    /// Ready once `Parker::now_ns() >= deadline` (absolute); never earlier.
    Timeout(u64),
    /// Always ready.
    Skip,
    /// Ready when the channel holds a value (read it with [`Alt::channel_try_read`] afterwards).
    Input(ChannelId),
}

/// Selection order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectMode {
    /// Guard order (barrier guards mutually unordered).
    Pri,
    /// Guard order rotated to start at this index.
    From(usize),
    /// Pseudo-random start.
    Arbitrary,
}

/// What happens to a dead agent's front-ends in [`Alt::cleanup_agent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeathPolicy {
    /// JCSP: stay enrolled, become unowned; the barrier cannot fire until the front-end is reset
    /// and/or attached by a live agent.
    LeaveEnrolled,
    /// Resign them: the surviving parties go on (may complete barriers).
    Resign,
}

/// What `cleanup_agent` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// The agent was live with the expected token and is now free.
    pub cleaned: bool,
    /// The agent's undecided completion attempt was aborted.
    pub aborted_attempt: bool,
    /// The agent's decided attempt was finished (parties finalized and woken).
    pub finished_attempt: bool,
    /// Front-ends that were owned by the agent.
    pub frontends: u32,
    /// Channel slots abandoned mid-write that were turned into holes.
    pub holes: u32,
}

/// The environment of the region layer: liveness of owner tokens and a periodic hook.
pub trait AltEnv {
    /// Whether the process identified by `owner_token` (as given to `register_agent`) is alive.
    fn is_alive(&self, owner_token: u64) -> bool {
        let _ = owner_token;
        true
    }
    /// Called about every `WaitPolicy::check_ns` by a waiting agent (e.g. to run dead-peer cleanup).
    fn on_idle(&self, agent: u32) {
        let _ = agent;
    }
}

/// An [`AltEnv`] for a single process: everybody is alive, no idle work.
pub struct InProcess;
impl AltEnv for InProcess {}

/// Tuning of the choice protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltPolicy {
    /// How agents wait for their offer word (spin, yield, sleep).
    pub wait: WaitPolicy,
    /// A claim held this long by an undecided attempt is aborted (stall-breaking)...
    pub stall_ns: u64,
    /// ...but only after at least this many checks.
    pub stall_spins: u32,
}

impl Default for AltPolicy {
    fn default() -> AltPolicy {
        AltPolicy { wait: WaitPolicy::default(), stall_ns: 2_000_000, stall_spins: 64 }
    }
}

/// The protocol context: a view over the tables, the waiting side, the environment, the policy.
#[derive(Clone, Copy)]
pub struct Alt<'a> {
    pub(crate) t: AltTables<'a>,
    pub(crate) parker: &'a (dyn Parker + Sync),
    pub(crate) env: &'a (dyn AltEnv + Sync),
    pub(crate) policy: AltPolicy,
}

impl<'a> Alt<'a> {
    /// A context over `tables`.
    pub fn new(
        tables: AltTables<'a>,
        parker: &'a (dyn Parker + Sync),
        env: &'a (dyn AltEnv + Sync),
        policy: AltPolicy,
    ) -> Alt<'a> {
        Alt { t: tables, parker, env, policy }
    }

    /// The tables.
    pub fn tables(&self) -> &AltTables<'a> {
        &self.t
    }
}
