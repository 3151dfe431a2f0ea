//! The process table: who is attached, who died, and cleaning up after the dead.
//!
//! Slot state word: `generation:32 | cleaner:16 | tag:8` with tags FREE, ALIVE, CLEANING.
//!
//! * **Attach.** A process takes the liveness token (OFD lock) of byte `i` of the sidecar file
//!   *first*; holding it proves no live process owns slot `i`. Then: FREE → CAS to ALIVE(gen+1);
//!   ALIVE (its owner must be dead) or CLEANING by a dead cleaner → CAS to CLEANING(me), clean,
//!   then ALIVE(gen+1); CLEANING by a live cleaner → give the byte back and try the next slot.
//! * **Death.** A slot is dead when it is ALIVE but its token is free. Whoever notices (a waiter's
//!   periodic liveness check, an attach sweep) elects itself cleaner with one CAS
//!   ALIVE(gen) → CLEANING(gen, me), so exactly one process cleans a given death. A cleaner that
//!   dies is superseded the same way (its own token is free, or its slot was reused by a process
//!   that is not cleaning: each slot's `cleaning` field names the slot its process is cleaning).
//! * **Cleaning** finishes any membership change the dead process was making, resigns its member
//!   handles from membership barriers and breaks the current generation of every barrier it was
//!   a party of (counted or membership) with `PeerDied(pid)`, then frees the slot.
//!
//! No crash window is left: membership changes are made under a recoverable lock that records
//! which of their two writes happened (`muster_core::barrier::membership`), and a counted
//! barrier's party registration is written before the first arrival. A cleaner killed while
//! cleaning is superseded by the next process that notices; its work is idempotent.

use crate::barrier::Members;
use crate::liveness;
use crate::region::Inner;
use muster_core::barrier::{counter_count, BreakReason, MemberOp};
use muster_core::sync::Ordering;

pub const FREE: u64 = 0;
pub const ALIVE: u64 = 1;
pub const CLEANING: u64 = 2;

pub fn tag(s: u64) -> u64 {
    s & 0xff
}
pub fn cleaner(s: u64) -> u32 {
    ((s >> 8) & 0xffff) as u32
}
pub fn gen(s: u64) -> u32 {
    (s >> 32) as u32
}
pub fn make(gen: u32, cleaner: u32, tag: u64) -> u64 {
    (u64::from(gen) << 32) | ((u64::from(cleaner) & 0xffff) << 8) | tag
}

impl Inner {
    /// Whether the token of process slot `p` is held by a live process.
    pub(crate) fn token_held(&self, p: u32) -> bool {
        // If the probe fails (it should not), assume alive: never clean up a live process.
        liveness::is_held(&self.probe, p).unwrap_or(true)
    }

    /// Whether the process in slot `c` is alive and cleaning slot `p` (a live process that merely
    /// reused the slot of a cleaner that died is not).
    pub(crate) fn cleaner_active(&self, c: u32, p: u32) -> bool {
        self.token_held(c) && self.proc_slot(c).is_some_and(|s| s.cleaning.load(Ordering::Acquire) == p + 1)
    }

    /// If process slot `p` belongs to a dead process (or to a dead cleaner), cleans it up.
    /// Returns true if this call cleaned it.
    pub(crate) fn reap(&self, p: u32) -> bool {
        let Some(slot) = self.proc_slot(p) else { return false };
        let s = slot.state.load(Ordering::Acquire);
        let dead = match tag(s) {
            ALIVE => !self.token_held(p),
            CLEANING => cleaner(s) != self.slot && !self.cleaner_active(cleaner(s), p) && !self.token_held(p),
            _ => false,
        };
        if !dead {
            return false;
        }
        // Announce before claiming, so nobody sees our claim without it (see `cleaner_active`).
        let me = self.proc_slot(self.slot);
        if let Some(m) = me {
            m.cleaning.store(p + 1, Ordering::Release);
        }
        let claimed = make(gen(s), self.slot, CLEANING);
        if slot.state.compare_exchange(s, claimed, Ordering::AcqRel, Ordering::Acquire).is_err() {
            if let Some(m) = me {
                m.cleaning.store(0, Ordering::Release);
            }
            return false;
        }
        self.clean_slot(p);
        let _ = slot.state.compare_exchange(claimed, make(gen(s), 0, FREE), Ordering::AcqRel, Ordering::Acquire);
        if let Some(m) = me {
            m.cleaning.store(0, Ordering::Release);
        }
        // Its alting agents now carry a dead token: withdraw their offers, free their front-ends.
        self.reap_alting();
        true
    }

    /// Removes process slot `p` from every barrier it is a party of (the caller is its elected
    /// cleaner): finishes any membership change it was making, resigns its members from
    /// membership barriers and breaks the current generation of every barrier it was a party of
    /// with `PeerDied(pid)`.
    pub(crate) fn clean_slot(&self, p: u32) {
        let pid = self.proc_slot(p).map_or(0, |s| s.pid.load(Ordering::Relaxed));
        for b in 0..self.layout.caps.max_barriers {
            let (Some(count), Some(cell)) = (self.member_count(b, p), self.cell(b)) else { continue };
            let table = Members { region: self, barrier: b };
            cell.recover_member_lock(&table, Some(p));
            if counter_count(count.load(Ordering::Acquire)) == 0 {
                continue;
            }
            if self.is_membership(b) {
                // Recovers a lock held by another dead process on the way, if need be.
                let _ = cell.member_op(&self.parker, &table, MemberOp::Clean { pid }, p);
            } else {
                // Break first, forget second: a cleaner killed in between is superseded by the
                // next one, which breaks again (never a hang, never an early release).
                cell.break_with(&self.parker, BreakReason::PeerDied(pid));
                count.store(0, Ordering::Release);
            }
            // Its sleepers, if it died asleep, are counted still (a waiting-policy heuristic).
            cell.forget_sleepers();
        }
    }

    /// Whether barrier `b` is a membership barrier (by its name-table entry).
    fn is_membership(&self, b: u32) -> bool {
        self.name_entry(b).is_some_and(|e| e.kind.load(Ordering::Relaxed) == crate::registry::MEMBERSHIP)
    }

    /// Checks every process that is a party of barrier `b` (or holds its membership lock) and
    /// cleans up the dead.
    pub(crate) fn check_members(&self, b: u32) {
        for p in 0..self.layout.caps.max_processes {
            if p == self.slot {
                continue;
            }
            if self.member_count(b, p).is_some_and(|c| counter_count(c.load(Ordering::Relaxed)) != 0) {
                self.reap(p);
            }
        }
        if let Some(cell) = self.cell(b) {
            if let Some(owner) = cell.member_lock_owner().filter(|o| *o != self.slot) {
                // A dead owner may be holding a phantom party that nobody else would notice.
                if !self.reap(owner) {
                    cell.recover_member_lock(&Members { region: self, barrier: b }, None);
                }
            }
        }
    }

    /// Cleans up every dead process in the table (run on attach).
    pub(crate) fn sweep(&self) {
        self.reap_alting();
        for p in 0..self.layout.caps.max_processes {
            if p != self.slot
                && self.proc_slot(p).is_some_and(|s| matches!(tag(s.state.load(Ordering::Relaxed)), ALIVE | CLEANING))
            {
                self.reap(p);
            }
        }
    }
}
