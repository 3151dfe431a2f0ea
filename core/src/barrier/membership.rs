//! Membership changes that survive a crash at any instant.
//!
//! A membership barrier's parties live in two places: the state word (`parties`, what arrivals
//! count against) and a per-process counter in a member table (how many parties each process
//! holds, so that a dead process's parties can be taken away). No single atomic covers both, so
//! a process killed between the two writes used to leave a phantom party (waiters hang) or a
//! missing one (early release). This module closes that window.
//!
//! ## Protocol
//! Every membership change (enroll, resign, drop, a member's timed-out withdrawal, the cleanup
//! of a dead process) runs under the cell's `mop` word, a lock that carries its own operation
//! descriptor:
//! ```text
//! mop: owner+1:13 (0 = free) | kind:3 | seq:16 | target slot:13 (bits 32..=44)
//! member counter (per barrier and process): count:16 | seq:16
//! ```
//! 1. **Lock**: CAS `mop` from free(`seq`) to (me, kind, `seq + 1`, target).
//! 2. **Word step**: one CAS on the state word that applies the change *and* sets MOP_PARITY to
//!    `(seq + 1) & 1`.
//! 3. **Counter step**: store the target's counter with its new count and `seq + 1`.
//! 4. **Unlock**: store free(`seq + 1`). A change that turns out to have no effect (a full
//!    barrier, a withdrawal that came too late) skips steps 2-3 and unlocks with free(`seq`).
//!
//! Invariant: while `mop` is free with sequence `s`, MOP_PARITY equals `s & 1`. So for a locked
//! `mop` with sequence `t`, the word step has happened iff MOP_PARITY == `t & 1`, and the counter
//! step iff the counter's seq == `t`.
//!
//! **Recovery.** An owner that dies holding the lock (its liveness token is free) is taken over
//! by whoever finds it so: CAS `mop` to the same descriptor with itself as owner, then finish
//! what is missing: word step done but counter step not → do the counter step; word step not
//! done → abandon the change (its owner is gone); then unlock. Recovery is idempotent, so a
//! recoverer that dies is recovered in turn. Waiters look for dead lock owners in their liveness
//! hook (a dead owner may be holding a phantom party that nobody else would notice), and the
//! cleanup of a dead process recovers every lock it held before removing its parties.
//!
//! Arrivals never touch `mop`: the hot path is unchanged. Membership changes are rare, so a
//! lock that is waited on by spinning and yielding (and never held across a wait) costs nothing
//! measurable; what matters is that nothing a dead process leaves behind can block or corrupt it.

use super::{Arrive, BarrierCell, BreakReason, CancelOutcome, State, StateError, Ticket};
use crate::sync::{spin_hint, AtomicU32, Ordering};
use crate::wait::Parker;

/// Where membership lives outside the cell: the member table and process liveness.
pub trait MemberTable {
    /// This process's slot.
    fn me(&self) -> u32;
    /// The member counter of process slot `slot` for this barrier (None: out of bounds).
    fn counter(&self, slot: u32) -> Option<&AtomicU32>;
    /// Whether the process in `slot` is dead (its liveness token is free). Called rarely.
    fn is_dead(&self, slot: u32) -> bool;
}

/// A membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOp {
    /// One more party for this process.
    Enroll,
    /// One party less (if everyone else is waiting, this completes their generation).
    Resign,
    /// Arrive and leave ([`Arrive::Drop`]); `action` as there.
    Drop { action: bool },
    /// Withdraw a timed-out arrival of generation `generation` and resign.
    Cancel { generation: u32 },
    /// Remove every party of the (dead) target process, breaking the generation with
    /// `PeerDied(pid)`.
    Clean { pid: u32 },
}

/// What a membership change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOutcome {
    /// Applied.
    Done,
    /// A drop was applied: its arrival.
    Dropped(Ticket),
    /// A cancel: how the timed-out arrival ended.
    Cancelled(CancelOutcome),
    /// Nothing to do (a clean of a process that holds no parties).
    Nothing,
}

const KIND_ENROLL: u64 = 1;
const KIND_RESIGN: u64 = 2;
const KIND_DROP: u64 = 3;
const KIND_CANCEL: u64 = 4;
const KIND_CLEAN: u64 = 5;

const OWNER_MASK: u64 = 0x1fff;
const KIND_SHIFT: u32 = 13;
const SEQ_SHIFT: u32 = 16;
const TARGET_SHIFT: u32 = 32;
/// Largest count of one process's parties on one barrier (16 bits of its counter).
pub const MAX_PROCESS_PARTIES: u32 = 0xffff;

fn owner(m: u64) -> Option<u32> {
    match m & OWNER_MASK {
        0 => None,
        o => Some(o as u32 - 1),
    }
}
fn kind(m: u64) -> u64 {
    (m >> KIND_SHIFT) & 0x7
}
fn seq(m: u64) -> u16 {
    (m >> SEQ_SHIFT) as u16
}
fn target(m: u64) -> u32 {
    ((m >> TARGET_SHIFT) & OWNER_MASK) as u32
}
fn free(seq: u16) -> u64 {
    u64::from(seq) << SEQ_SHIFT
}
fn locked(owner: u32, kind: u64, seq: u16, target: u32) -> u64 {
    (u64::from(owner + 1) & OWNER_MASK)
        | (kind << KIND_SHIFT)
        | (u64::from(seq) << SEQ_SHIFT)
        | ((u64::from(target) & OWNER_MASK) << TARGET_SHIFT)
}

/// The count part of a member counter.
pub fn counter_count(c: u32) -> u32 {
    c & 0xffff
}
fn counter_seq(c: u32) -> u16 {
    (c >> 16) as u16
}
fn counter(count: u32, seq: u16) -> u32 {
    (count & 0xffff) | (u32::from(seq) << 16)
}

/// Iterations between liveness checks of a lock owner while waiting for the lock.
const CHECK_EVERY: u32 = 256;
/// How long one unchanged lock descriptor held by a live owner may block a change before the
/// word is judged corrupt (a scribbled region must give an error, never a hang).
const STUCK_NS: u64 = 2_000_000_000;

impl BarrierCell {
    /// The process slot holding the membership lock, if any (for liveness checks).
    pub fn member_lock_owner(&self) -> Option<u32> {
        owner(self.mop.load(Ordering::Acquire))
    }

    /// Runs membership change `op` for process slot `target` (the caller's own slot except for
    /// [`MemberOp::Clean`]); see the module docs.
    pub fn member_op<P: Parker + ?Sized, T: MemberTable + ?Sized>(
        &self,
        parker: &P,
        table: &T,
        op: MemberOp,
        target: u32,
    ) -> Result<MemberOutcome, StateError> {
        let me = table.me();
        let k = match op {
            MemberOp::Enroll => KIND_ENROLL,
            MemberOp::Resign => KIND_RESIGN,
            MemberOp::Drop { .. } => KIND_DROP,
            MemberOp::Cancel { .. } => KIND_CANCEL,
            MemberOp::Clean { .. } => KIND_CLEAN,
        };
        let s = self.lock(parker, table, k, target)?;
        let m = locked(me, k, s, target);
        let Some(count) = table.counter(target) else {
            self.unlock(m, s.wrapping_sub(1));
            return Err(StateError::Corrupt);
        };
        let c = count.load(Ordering::Acquire);
        let n = counter_count(c);
        let parity = Some(s & 1 == 1);
        let result = match op {
            MemberOp::Enroll => {
                let st = self.state();
                if st.parties >= super::MAX_PARTIES || n >= MAX_PROCESS_PARTIES {
                    Err(StateError::TooManyParties)
                } else if let Err(e) = self.add_party(parity) {
                    Err(e)
                } else {
                    count.store(counter(n + 1, s), Ordering::Release);
                    Ok(MemberOutcome::Done)
                }
            }
            MemberOp::Resign if n == 0 => Err(StateError::Corrupt),
            MemberOp::Resign => {
                self.remove_parties(parker, 1, None, parity);
                count.store(counter(n - 1, s), Ordering::Release);
                Ok(MemberOutcome::Done)
            }
            MemberOp::Drop { .. } if n == 0 => Err(StateError::Corrupt),
            MemberOp::Drop { action } => match self.arrive_with(parker, None, Arrive::Drop { action }, parity) {
                Ok(t) => {
                    count.store(counter(n - 1, s), Ordering::Release);
                    Ok(MemberOutcome::Dropped(t))
                }
                Err(e) => Err(e),
            },
            MemberOp::Cancel { generation } => {
                let t = Ticket::for_generation(generation, 0);
                match self.withdraw(&t, parity) {
                    CancelOutcome::Withdrawn => {
                        count.store(counter(n.saturating_sub(1), s), Ordering::Release);
                        Ok(MemberOutcome::Cancelled(CancelOutcome::Withdrawn))
                    }
                    other => {
                        self.unlock(m, s.wrapping_sub(1));
                        return Ok(MemberOutcome::Cancelled(other));
                    }
                }
            }
            MemberOp::Clean { .. } if n == 0 => Ok(MemberOutcome::Nothing),
            MemberOp::Clean { pid } => {
                self.remove_parties(parker, n, Some(BreakReason::PeerDied(pid)), parity);
                count.store(counter(0, s), Ordering::Release);
                Ok(MemberOutcome::Done)
            }
        };
        match result {
            Ok(MemberOutcome::Nothing) | Err(_) => self.unlock(m, s.wrapping_sub(1)),
            Ok(_) => self.unlock(m, s),
        }
        result
    }

    /// If the membership lock is held by the dead process `dead` (or by anyone dead, with
    /// `None`), recovers it. Returns whether it recovered something.
    pub fn recover_member_lock<T: MemberTable + ?Sized>(&self, table: &T, dead: Option<u32>) -> bool {
        let m = self.mop.load(Ordering::Acquire);
        let Some(o) = owner(m) else { return false };
        if dead.is_some_and(|d| d != o) || o == table.me() || !table.is_dead(o) {
            return false;
        }
        self.recover(table, m)
    }

    /// Test hook for crash models: starts an enroll of `table.me()` and stops as if the process
    /// died right after taking the lock (`after_word == false`) or right after the word step,
    /// leaving the lock held. Not for production use.
    #[doc(hidden)]
    pub fn enroll_then_die_for_test<P: Parker + ?Sized, T: MemberTable + ?Sized>(
        &self,
        parker: &P,
        table: &T,
        after_word: bool,
    ) {
        if let Ok(s) = self.lock(parker, table, KIND_ENROLL, table.me()) {
            if after_word {
                let _ = self.add_party(Some(s & 1 == 1));
            }
        }
    }

    /// Takes the lock: `kind`/`target` describe the change. Returns the new sequence number.
    fn lock<P: Parker + ?Sized, T: MemberTable + ?Sized>(
        &self,
        parker: &P,
        table: &T,
        kind: u64,
        target: u32,
    ) -> Result<u16, StateError> {
        let me = table.me();
        let mut tries: u32 = 0;
        let mut held: Option<(u64, u64)> = None;
        loop {
            let m = self.mop.load(Ordering::Acquire);
            match owner(m) {
                None => {
                    let s = seq(m).wrapping_add(1);
                    if self
                        .mop
                        .compare_exchange(m, locked(me, kind, s, target), Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return Ok(s);
                    }
                }
                // Held: by another thread of this process (same slot), or by another process,
                // which may have died (a dead process's slot is reused only after its cleanup
                // recovered its locks, so a lock under our own slot is a live thread's).
                Some(o) => {
                    tries = tries.wrapping_add(1);
                    if tries.is_multiple_of(CHECK_EVERY) {
                        // A live holder keeps the lock for microseconds (no waiting inside). The
                        // same descriptor for seconds is a scribbled word, not a slow peer.
                        let now = parker.now_ns();
                        match held {
                            Some((hm, since)) if hm == m => {
                                if now.saturating_sub(since) > STUCK_NS {
                                    return Err(StateError::Corrupt);
                                }
                            }
                            _ => held = Some((m, now)),
                        }
                    }
                    if o != me && tries.is_multiple_of(CHECK_EVERY) && table.is_dead(o) {
                        self.recover(table, m);
                    } else if tries < 64 {
                        spin_hint();
                    } else {
                        parker.yield_now();
                    }
                }
            }
        }
    }

    fn unlock(&self, m: u64, seq: u16) {
        let _ = self.mop.compare_exchange(m, free(seq), Ordering::AcqRel, Ordering::Acquire);
    }

    /// Takes over the lock `m` of a dead owner and finishes or abandons its change.
    fn recover<T: MemberTable + ?Sized>(&self, table: &T, m: u64) -> bool {
        let mine = locked(table.me(), kind(m), seq(m), target(m));
        if self.mop.compare_exchange(m, mine, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return false;
        }
        let s = seq(m);
        let word_done = self.state().mop_parity == (s & 1 == 1);
        if !word_done {
            // The owner died before its word step: abandon the change.
            self.unlock(mine, s.wrapping_sub(1));
            return true;
        }
        if let Some(count) = table.counter(target(m)) {
            let c = count.load(Ordering::Acquire);
            if counter_seq(c) != s {
                let n = counter_count(c);
                let new = match kind(m) {
                    KIND_ENROLL => n.saturating_add(1).min(MAX_PROCESS_PARTIES),
                    KIND_CLEAN => 0,
                    _ => n.saturating_sub(1),
                };
                count.store(counter(new, s), Ordering::Release);
            }
        }
        self.unlock(mine, s);
        true
    }

    /// Adds one party (a member enrolls) with MOP_PARITY `parity`.
    fn add_party(&self, parity: Option<bool>) -> Result<(), StateError> {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let s = State::decode(w);
            if s.parties >= super::MAX_PARTIES {
                return Err(StateError::TooManyParties);
            }
            let next = State { parties: s.parties + 1, mop_parity: parity.unwrap_or(s.mop_parity), ..s };
            match self.cas(w, &next) {
                Ok(()) => return Ok(()),
                Err(cur) => w = cur,
            }
        }
    }

    /// Withdraws a member's timed-out arrival and its party in one CAS, unless the generation
    /// ended (or is completing) meanwhile.
    fn withdraw(&self, ticket: &Ticket, parity: Option<bool>) -> CancelOutcome {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            if let Some(done) = self.settled(ticket, w) {
                return done;
            }
            let s = State::decode(w);
            let next = State {
                parties: s.parties.saturating_sub(1),
                arrived: s.arrived.saturating_sub(1),
                mop_parity: parity.unwrap_or(s.mop_parity),
                ..s
            };
            match self.cas(w, &next) {
                Ok(()) => return CancelOutcome::Withdrawn,
                Err(cur) => w = cur,
            }
        }
    }
}
