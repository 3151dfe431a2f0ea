//! The plain barrier: one 64-bit state word, a futex eventcount, and the rules that move them.
//!
//! ## State word
//! ```text
//! bits  0..=13  parties      (members of a membership barrier, or the fixed count)
//! bits 14..=27  arrived      (arrivals in the current generation)
//! bit  28       MOP_PARITY   (low bit of the sequence number of the last membership change;
//!                             see `membership.rs`)
//! bit  29       TRIPPING     (every party arrived; the last one runs its completion action)
//! bit  30       BROKEN       (current generation is broken: waiters leave with an error)
//! bit  31       PREV_BROKEN  (the previous generation ended by reset/break, not by release)
//! bits 32..=63  generation   (wrapping)
//! ```
//! Every transition is one CAS on this word, so an arrival, a release, a resign, a break and a
//! reset are totally ordered. The last arrival of generation `g` (the one that makes
//! `arrived == parties`) moves the word to `g + 1` with `arrived = 0`: that CAS *is* the release.
//! If the last arrival carries a completion action it instead sets TRIPPING (keeping
//! `arrived == parties`), runs the action, and then releases ([`BarrierCell::complete_trip`]) or
//! breaks the generation with [`BreakReason::ActionFailed`]. Arrivals that find TRIPPING belong
//! to the next generation and wait for the trip to end ([`StateError::Tripping`]).
//!
//! ## Invariants
//! * `arrived < parties` whenever the word is neither broken nor tripping (an arrival or a resign
//!   that would reach equality releases or trips instead); `arrived == parties` while tripping.
//! * A waiter of generation `g` learns its outcome from the word alone: generation still `g` and
//!   BROKEN → broken; generation `g + 1` → released unless PREV_BROKEN; further ahead (it was
//!   overtaken, possible when more threads than parties use a counted barrier) → the `history`
//!   ring, where every transition out of generation `h` first records the outcome of `h - 1`.
//! * Arrival indices in a generation are distinct and dense from 0 upwards for plain arrivals:
//!   the index is `arrived` before the arrival's CAS. An arrival that also leaves
//!   ([`Arrive::Drop`], `arrive_and_drop`) takes the highest index, `parties - 1`, and lowers
//!   `parties` in the same CAS, so its arrival counts for this generation and it is gone from the
//!   next; later plain arrivals get indices below the new `parties`. Index 0 is the leader.
//!
//! ## Waiting
//! Spinning waiters read `mirror`, a copy of the word on the cell's second 64-byte line, which
//! every transition that ends waits (release, break, reset) brings up to date after its CAS. So
//! waiters' loads do not pull the word's line away from the arrivals that must own it for their
//! CAS (measured: ~25% off a 2-process episode). The mirror only ever lags: a copy older than the
//! generation a waiter arrived in reads as "pending", and before sleeping a waiter checks the word
//! itself with an RMW (see `wait/mod.rs`), so a lagging or never-updated mirror (its publisher died)
//! costs time, never correctness. Timeouts (`cancel`) judge from the word.
//!
//! ## Memory ordering
//! Arrivals and releases are `AcqRel` RMWs on one word and waiters load it with `Acquire`, so
//! everything a participant did before arriving happens-before everything any participant does
//! after it returns from the wait (release sequence through the CAS chain), and before the
//! completion action, which runs after the tripping CAS.

mod cell;
mod cell_break;
mod membership;
mod state;

pub use cell::BarrierCell;
pub use membership::{counter_count, MemberOp, MemberOutcome, MemberTable, MAX_PROCESS_PARTIES};
pub use state::{Arrive, BreakReason, CancelOutcome, State, StateError, Ticket, WaitError, MAX_PARTIES};
