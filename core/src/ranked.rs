//! The ranked barrier: a fixed number of parties, each with a rank `0..parties`, that arrive by
//! writing only their own line (issue 9, item 1: the per-party layout). Not yet wired into
//! regions or the C ABI; this module is the protocol, its unit tests and its loom model
//! (`core/tests/loom_ranked.rs`).
//!
//! ## Why
//! A counted barrier's arrivals are anonymous, so they need a total order: one RMW per arrival on
//! the shared state word, and the waiter then reads the release from a line the releaser wrote
//! (about 1.2–1.3 cache-line round trips per two-party episode on this project's VM). When every
//! party has an identity (an MPI rank, an OpenMP thread number, a worker index), an arrival is
//! one plain store to the party's own line and completion is "every line shows this generation":
//! each waiter sees the last arrival's store directly, one one-way transfer, as in a
//! dissemination barrier. Nothing is written per episode on a shared line.
//!
//! ## Layout
//! * [`RankLine`] per rank, 128 bytes, written only by the rank's owner: `arrived` = `g + 1`
//!   after arriving at generation `g` (wrapping u32; sequence numbers, not sense bits).
//! * [`RankedControl`], read-mostly: the control word, the break reason, the outcome ring, the
//!   futex eventcount. Written on break, reset and sleep only, so spinners keep it cached.
//!
//! Control word: `gen:32 | state:2 << 32`, with states
//! * `OK(b)`: generations `>= b` are live (`b` is the first generation after the last reset);
//! * `BREAKING(g)`: a break of generation `g` is being decided;
//! * `BROKEN(g)`: generation `g` ended broken; arrivals fail until `reset` (`OK(g + 1)`).
//!
//! ## Protocol and invariants
//! * Arrival of rank `r`: read the control word (broken: fail; breaking: help decide), take
//!   `g = max(arrived_r, b)`, store `arrived_r = g + 1`. A rank is never more than one generation
//!   ahead of a waiter of `g`: it cannot complete `g + 1` without that waiter.
//! * *S(g)*, the completion of `g`: every line shows `arrived >= g + 1`. S is monotonic.
//! * Waiters decide by "read every line, SC fence, read the control word", and return success
//!   only if S(g) held and the word was `OK(b <= g)`. A breaker decides by "CAS the word to
//!   `BREAKING(g)`, SC fence, read every line": if S(g) holds it restores `OK(g)` (the break lost:
//!   the generation completed), else it sets `BROKEN(g)`. With the fences on both sides this is
//!   the store-buffer pattern: either the breaker sees every store a successful waiter saw, or
//!   that waiter sees `BREAKING`. So no generation both completes for one party and breaks for
//!   another. The decision is idempotent: anyone who finds `BREAKING` may run it (a breaker that
//!   died is helped by the next party that looks).
//! * Outcome ring `history`: bit `g % 64` says generation `g` ended broken, for a waiter that
//!   finds the control word already past its generation. `BROKEN(g)` sets it first; a
//!   `BREAKING(g)` with `b < g` first clears bit `g - 1` (that generation completed). The control
//!   word moves past a waiter's generation `g` only through a break of `g` or of `g + 1`, so the
//!   bit is right unless 63 more break-and-reset cycles pass before the waiter looks.
//! * Sleepers use the eventcount `seq` (`wait/mod.rs`); an arrival wakes them after its store
//!   and an SC fence, and a sleeper's strong check fences after setting the sleeper bit: again
//!   the store-buffer pattern, so no wake-up is lost.
//! * Everything read from the cell is data: a bad rank or party count is an error (`BadRank`,
//!   `Corrupt`), never an out-of-bounds index; garbage in the words gives wrong outcomes at
//!   worst, never undefined behaviour.
//!
//! ## Semantics that differ from counted barriers
//! The arrival index of a party is its rank (distinct, `0..parties`), and rank 0 is the leader;
//! there is no "last arrival", so there is no completion action.

use crate::barrier::BreakReason;
use crate::sync::{fence, AtomicU32, AtomicU64, Ordering};
use crate::wait::{notify_all, notify_sleepers, wait_for, Adaptive, Parker, Peers, Poll, Sleepers, WaitPolicy};

/// Most ranks of one ranked barrier.
pub const MAX_RANKS: u32 = 16;

const OK: u64 = 0;
const BREAKING: u64 = 1;
const BROKEN: u64 = 2;

fn encode(state: u64, gen: u32) -> u64 {
    (state << 32) | u64::from(gen)
}

fn decode(w: u64) -> (u64, u32) {
    ((w >> 32) & 3, w as u32)
}

/// `a` is at or after `b` in wrapping generation order.
fn at_or_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// One rank's arrival line, written only by the rank's owner.
#[repr(C, align(128))]
pub struct RankLine {
    arrived: AtomicU32,
    _pad: u32,
    /// Who holds this rank (an opaque token of the region layer; 0 = nobody). Written at claim
    /// and release only.
    pub owner: AtomicU64,
    _tail: [u64; 14],
}

/// The read-mostly control line of a ranked barrier.
#[repr(C, align(128))]
pub struct RankedControl {
    word: AtomicU64,
    info: AtomicU64,
    history: AtomicU64,
    seq: AtomicU32,
    asleep: AtomicU32,
    parties: AtomicU32,
    _tail: [u32; 23],
}

/// A ranked barrier: its control line and one line per rank. `#[repr(C)]`, fixed size, so it can
/// live in a region as well as on the heap.
#[repr(C)]
pub struct RankedCell {
    control: RankedControl,
    lines: [RankLine; MAX_RANKS as usize],
}

/// Errors of ranked-barrier operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankedError {
    /// The barrier is broken (until `reset`).
    Broken(BreakReason),
    /// The rank is not below the barrier's parties.
    BadRank,
    /// The cell holds values no correct party writes.
    Corrupt,
}

/// An arrival: the generation it belongs to and the arriving rank (its arrival index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankedTicket {
    pub generation: u32,
    pub rank: u32,
}

impl RankedTicket {
    /// Rank 0 leads every generation.
    pub fn is_leader(&self) -> bool {
        self.rank == 0
    }
}

/// What a break attempt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakOutcome {
    /// The generation is broken now (by this call or an earlier one).
    Broken(BreakReason),
    /// The generation had completed: nothing was broken.
    Completed,
}

fn new_line() -> RankLine {
    RankLine { arrived: AtomicU32::new(0), _pad: 0, owner: AtomicU64::new(0), _tail: [0; 14] }
}

impl RankedCell {
    /// A fresh barrier of `parties` ranks (clamped to `1..=MAX_RANKS`) at generation 0.
    pub fn new(parties: u32) -> RankedCell {
        RankedCell {
            control: RankedControl {
                word: AtomicU64::new(encode(OK, 0)),
                info: AtomicU64::new(0),
                history: AtomicU64::new(0),
                seq: AtomicU32::new(0),
                asleep: AtomicU32::new(0),
                parties: AtomicU32::new(parties.clamp(1, MAX_RANKS)),
                _tail: [0; 23],
            },
            lines: core::array::from_fn(|_| new_line()),
        }
    }

    /// The number of ranks, validated (a corrupt value is an error, not an index).
    pub fn parties(&self) -> Result<u32, RankedError> {
        match self.control.parties.load(Ordering::Relaxed) {
            p @ 1..=MAX_RANKS => Ok(p),
            _ => Err(RankedError::Corrupt),
        }
    }

    /// The lines of the barrier's ranks (a validated prefix of the table).
    fn ranks(&self) -> Result<&[RankLine], RankedError> {
        self.lines.get(..self.parties()? as usize).ok_or(RankedError::Corrupt)
    }

    /// The line of `rank`, bounds-checked against the barrier's parties.
    pub fn line(&self, rank: u32) -> Result<&RankLine, RankedError> {
        self.ranks()?.get(rank as usize).ok_or(RankedError::BadRank)
    }

    /// Whether the barrier is broken (until `reset`).
    pub fn is_broken(&self) -> bool {
        decode(self.control.word.load(Ordering::Acquire)).0 == BROKEN
    }

    /// The reason of the last break.
    pub fn break_reason(&self) -> BreakReason {
        BreakReason::decode(self.control.info.load(Ordering::Acquire))
    }

    /// Arrives as `rank`: one store to the rank's own line.
    pub fn arrive<P: Parker + ?Sized>(&self, parker: &P, rank: u32) -> Result<RankedTicket, RankedError> {
        let line = self.line(rank)?;
        let base = loop {
            let (state, gen) = decode(self.control.word.load(Ordering::Acquire));
            match state {
                OK => break gen,
                BREAKING => {
                    self.decide(parker, gen);
                }
                _ => return Err(RankedError::Broken(self.break_reason())),
            }
        };
        let own = line.arrived.load(Ordering::Relaxed);
        let generation = if at_or_after(own, base) { own } else { base };
        line.arrived.store(generation.wrapping_add(1), Ordering::Release);
        // Store-buffer pattern with the sleepers' strong check (see the module docs).
        fence(Ordering::SeqCst);
        notify_sleepers(parker, &self.control.seq);
        Ok(RankedTicket { generation, rank })
    }

    /// S(g): every rank arrived at `g` (or later).
    fn complete(&self, g: u32) -> Result<bool, RankedError> {
        let want = g.wrapping_add(1);
        let mut all = true;
        for line in self.ranks()? {
            // A line ahead of `want` counts as arrived (after resets it may be several
            // generations ahead of a slow waiter, whose outcome the control word then decides).
            if !at_or_after(line.arrived.load(Ordering::Acquire), want) {
                all = false;
            }
        }
        Ok(all)
    }

    fn ended_broken(&self, g: u32) -> bool {
        self.control.history.load(Ordering::Acquire) & (1u64 << (g % 64)) != 0
    }

    /// Where generation `g` stands (see "Protocol" in the module docs).
    pub fn outcome(&self, g: u32) -> Poll<Result<(), RankedError>> {
        let complete = match self.complete(g) {
            Ok(c) => c,
            Err(e) => return Poll::Ready(Err(e)),
        };
        fence(Ordering::SeqCst);
        let (state, gen) = decode(self.control.word.load(Ordering::Acquire));
        let past = |gen: u32| !at_or_after(g, gen);
        let ended =
            |broken: bool| Poll::Ready(if broken { Err(RankedError::Broken(self.break_reason())) } else { Ok(()) });
        match state {
            // `OK(b)` with `b > g`: a reset moved past `g`.
            OK if past(gen) => ended(self.ended_broken(g)),
            OK if complete => Poll::Ready(Ok(())),
            OK => Poll::Pending,
            BREAKING | BROKEN if gen != g && at_or_after(gen, g) => ended(self.ended_broken(g)),
            // `BREAKING(h)` with `h < g` is a slow breaker of a generation that completed (its
            // decision will undo it): pending, like a break of `g` itself.
            BREAKING => Poll::Pending,
            BROKEN if gen == g => ended(true),
            // `BROKEN(h)` with `h < g` cannot happen: a rank is at `g` only after `h` completed
            // (its break was undone) or after a reset moved past it. Only garbage shows this.
            _ => Poll::Ready(Err(RankedError::Corrupt)),
        }
    }

    /// Waits for generation `ticket.generation` to end (`idle`: the liveness hook, see
    /// [`wait_for`]). `Err(TimedOut)` leaves the arrival in place (split-phase semantics); the
    /// caller breaks the generation if its timeout should (`break_generation`).
    pub fn wait<P: Parker + ?Sized>(
        &self,
        parker: &P,
        policy: &WaitPolicy,
        ticket: &RankedTicket,
        deadline_ns: Option<u64>,
        adapt: Option<&Adaptive>,
        idle: impl FnMut(),
    ) -> Result<(), RankedWaitError> {
        let parties = self.parties().map_err(RankedWaitError::Failed)?;
        let peers = Peers { parties, asleep: Sleepers::Counter(&self.control.asleep) };
        let check = |strong: bool| {
            if strong {
                // Pairs with the fence after an arrival's store (the sleeper bit is set by now).
                fence(Ordering::SeqCst);
            }
            match self.outcome(ticket.generation) {
                // A break being decided: help, so a breaker that died does not hold us.
                Poll::Pending if strong => {
                    let (state, gen) = decode(self.control.word.load(Ordering::Acquire));
                    if state == BREAKING {
                        self.decide(parker, gen);
                        return self.outcome(ticket.generation);
                    }
                    Poll::Pending
                }
                p => p,
            }
        };
        match wait_for(parker, policy, &self.control.seq, peers, deadline_ns, adapt, check, idle) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(RankedWaitError::Failed(e)),
            Err(()) => Err(RankedWaitError::TimedOut),
        }
    }

    /// Breaks generation `g` with `reason`, unless it completed first.
    pub fn break_generation<P: Parker + ?Sized>(&self, parker: &P, g: u32, reason: BreakReason) -> BreakOutcome {
        loop {
            let w = self.control.word.load(Ordering::Acquire);
            let (state, gen) = decode(w);
            match state {
                OK if !at_or_after(g, gen) => return self.settled(g),
                OK => {
                    if gen != g {
                        // `g - 1` completed (it was not the first generation after a reset).
                        self.control.history.fetch_and(!(1u64 << (g.wrapping_sub(1) % 64)), Ordering::Release);
                    }
                    self.control.info.store(reason.encode(), Ordering::Release);
                    if self
                        .control
                        .word
                        .compare_exchange(w, encode(BREAKING, g), Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        self.decide(parker, g);
                        return self.settled(g);
                    }
                }
                BREAKING => self.decide(parker, gen),
                _ if gen == g => return BreakOutcome::Broken(self.break_reason()),
                _ => return self.settled(g),
            }
        }
    }

    fn settled(&self, g: u32) -> BreakOutcome {
        match self.outcome(g) {
            Poll::Ready(Err(RankedError::Broken(r))) => BreakOutcome::Broken(r),
            _ => BreakOutcome::Completed,
        }
    }

    /// Decides a pending break of `g`: undone if S(g) holds, else `BROKEN(g)`. Idempotent. (A
    /// decider that loses the CAS may have set bit `g` of the ring for a generation that
    /// completed; the ring is read only once the word has moved past `g`, which takes a break of
    /// `g + 1`, and that clears bit `g` first.)
    fn decide<P: Parker + ?Sized>(&self, parker: &P, g: u32) {
        let breaking = encode(BREAKING, g);
        fence(Ordering::SeqCst);
        // A corrupt line cannot complete anything: break.
        let complete = self.complete(g).unwrap_or(false);
        let next = if complete {
            encode(OK, g)
        } else {
            self.control.history.fetch_or(1u64 << (g % 64), Ordering::Release);
            encode(BROKEN, g)
        };
        if self.control.word.compare_exchange(breaking, next, Ordering::AcqRel, Ordering::Acquire).is_ok() && !complete
        {
            notify_all(parker, &self.control.seq);
        }
    }

    /// The generation in progress: the lowest any rank has yet to arrive at (the control word's
    /// base when that is later).
    pub fn current_generation(&self) -> Result<u32, RankedError> {
        let (state, gen) = decode(self.control.word.load(Ordering::Acquire));
        if state != OK {
            return Ok(gen);
        }
        let mut low: Option<u32> = None;
        for line in self.ranks()? {
            let a = line.arrived.load(Ordering::Acquire);
            low = Some(match low {
                Some(l) if at_or_after(a, l) => l,
                _ => a,
            });
        }
        let low = low.unwrap_or(gen);
        Ok(if at_or_after(low, gen) { low } else { gen })
    }

    /// Breaks the generation in progress (`abort`, a dead party).
    pub fn abort<P: Parker + ?Sized>(&self, parker: &P, reason: BreakReason) -> Result<BreakOutcome, RankedError> {
        let g = self.current_generation()?;
        Ok(self.break_generation(parker, g, reason))
    }

    /// Ends a break: `BROKEN(g)` → `OK(g + 1)`; every rank's next arrival is at `g + 1`. A barrier
    /// that is not broken is left alone (returns false).
    pub fn reset<P: Parker + ?Sized>(&self, parker: &P) -> bool {
        loop {
            let w = self.control.word.load(Ordering::Acquire);
            let (state, gen) = decode(w);
            match state {
                BROKEN => {
                    let next = encode(OK, gen.wrapping_add(1));
                    if self.control.word.compare_exchange(w, next, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                        notify_all(parker, &self.control.seq);
                        return true;
                    }
                }
                BREAKING => self.decide(parker, gen),
                _ => return false,
            }
        }
    }
}

impl RankedCell {
    /// Moves an idle, unbroken barrier (every rank arrived at the same generation, nobody
    /// waiting) to `generation`: a test hook for wrap-around. Returns false otherwise.
    pub fn set_generation(&self, generation: u32) -> bool {
        let w = self.control.word.load(Ordering::Acquire);
        let Ok(lines) = self.ranks() else { return false };
        let first = lines[0].arrived.load(Ordering::Acquire);
        if decode(w).0 != OK || lines.iter().any(|l| l.arrived.load(Ordering::Acquire) != first) {
            return false;
        }
        for l in lines {
            l.arrived.store(generation, Ordering::Release);
        }
        self.control.word.store(encode(OK, generation), Ordering::Release);
        true
    }
}

/// Why a ranked wait ended without success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankedWaitError {
    /// The generation broke, or the cell is corrupt.
    Failed(RankedError),
    /// The deadline passed; the arrival stands.
    TimedOut,
}

#[cfg(not(loom))]
const _: () = assert!(core::mem::size_of::<RankedCell>() == 128 * (MAX_RANKS as usize + 1));
