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
//!   dies is superseded the same way (its own token is free).
//! * **Cleaning** resigns the dead process's member handles from every barrier, breaking the
//!   current generation with `PeerDied(pid)`, then frees the slot.
//!
//! Crash window we accept: a cleaner (or a member enrolling/resigning) killed between updating the
//! barrier word and the member counter leaves at most a phantom party: waiters then wait (and can
//! time out) instead of being released early. Ordering of the two writes is chosen so that the
//! failure is always "one party too many", never "one too few".

use crate::liveness;
use crate::region::Inner;
use muster_core::barrier::BreakReason;
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

    /// If process slot `p` belongs to a dead process (or to a dead cleaner), cleans it up.
    /// Returns true if this call cleaned it.
    pub(crate) fn reap(&self, p: u32) -> bool {
        let Some(slot) = self.proc_slot(p) else { return false };
        let s = slot.state.load(Ordering::Acquire);
        let dead = match tag(s) {
            ALIVE => !self.token_held(p),
            CLEANING => cleaner(s) != self.slot && !self.token_held(cleaner(s)) && !self.token_held(p),
            _ => false,
        };
        if !dead {
            return false;
        }
        let claimed = make(gen(s), self.slot, CLEANING);
        if slot.state.compare_exchange(s, claimed, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return false;
        }
        self.clean_slot(p);
        let _ = slot.state.compare_exchange(claimed, make(gen(s), 0, FREE), Ordering::AcqRel, Ordering::Acquire);
        // Its alting agents now carry a dead token: withdraw their offers, free their front-ends.
        self.reap_alting();
        true
    }

    /// Resigns every member handle of process slot `p` (the caller is its elected cleaner).
    pub(crate) fn clean_slot(&self, p: u32) {
        let pid = self.proc_slot(p).map_or(0, |s| s.pid.load(Ordering::Relaxed));
        for b in 0..self.layout.caps.max_barriers {
            let (Some(count), Some(cell)) = (self.member_count(b, p), self.cell(b)) else { continue };
            let c = count.load(Ordering::Acquire);
            if c == 0 {
                continue;
            }
            // Counter first, word second: a crash in between leaves a phantom party, never a
            // missing one (see module docs).
            count.store(0, Ordering::Release);
            cell.remove_parties(&self.parker, c, Some(BreakReason::PeerDied(pid)));
        }
    }

    /// Checks every process that holds members of barrier `b` and cleans up the dead.
    pub(crate) fn check_members(&self, b: u32) {
        for p in 0..self.layout.caps.max_processes {
            if p == self.slot {
                continue;
            }
            if self.member_count(b, p).is_some_and(|c| c.load(Ordering::Relaxed) != 0) {
                self.reap(p);
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
