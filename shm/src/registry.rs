//! The name table: a lock-free, insert-only, open-addressed map from barrier names to slots.
//!
//! Entry `i` of the name table owns barrier cell `i`. Entry state word: `tag:8 | reserver << 8`
//! with tags FREE → RESERVED(process slot, slot generation) → LIVE. Entries never return to FREE, so a probe chain
//! never breaks. Insertion reserves a FREE entry by CAS, writes the name, kind and a fresh cell,
//! and publishes LIVE with `Release`; lookups read LIVE entries with `Acquire` and compare names.
//! Two processes racing to create one name serialise on the first FREE entry of its probe chain:
//! the loser waits for the winner's LIVE and finds the name there. A reserver that dies is
//! superseded by CAS: its liveness token is free, or its process slot was already taken over by
//! a newer process (the slot generation moved on; the slot alone would name the new process,
//! which then waited for its own predecessor's reservation forever).

use crate::error::{Error, Result};
use crate::layout::NameEntry;
use crate::name::{self, MAX_NAME};
use crate::region::Inner;
use muster_core::sync::Ordering;
use std::time::{Duration, Instant};

const FREE: u32 = 0;
pub(crate) const RESERVED: u32 = 1;
pub(crate) const LIVE: u32 = 2;
/// `kind` bit marking a membership barrier.
pub const MEMBERSHIP: u32 = 1 << 31;
/// `kind` bits marking an alting barrier (low bits: its index; `extra`: its generation).
pub const ALTING: u32 = 0b01 << 30;
/// `kind` bits marking a channel (low bits: its index; `extra`: its generation).
pub const CHANNEL: u32 = 0b11 << 30;
/// Mask of the tag bits of `kind`.
pub const KIND_TAG: u32 = 0b11 << 30;
const STUCK: Duration = Duration::from_secs(2);
/// Bits of the reserver field: process slot (max_processes <= 4096) and low slot-generation bits.
const SLOT_BITS: u32 = 12;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GEN_MASK: u32 = (1 << 12) - 1;

fn write_name(e: &NameEntry, name: &[u8]) {
    let mut buf = [0u8; MAX_NAME];
    buf[..name.len()].copy_from_slice(name);
    for (i, w) in e.bytes.iter().enumerate() {
        let mut chunk = [0u8; 8];
        chunk.copy_from_slice(&buf[i * 8..i * 8 + 8]);
        w.store(u64::from_le_bytes(chunk), Ordering::Relaxed);
    }
    e.len.store(name.len() as u32, Ordering::Relaxed);
}

pub(crate) fn read_name(e: &NameEntry) -> Option<([u8; MAX_NAME], usize)> {
    let len = e.len.load(Ordering::Relaxed) as usize;
    if len == 0 || len > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    for (i, w) in e.bytes.iter().enumerate() {
        buf[i * 8..i * 8 + 8].copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
    Some((buf, len))
}

/// A found (or created) entry.
pub struct Found {
    pub index: u32,
    pub kind: u32,
    /// Second word of the object's identity (e.g. an alting barrier's generation).
    pub extra: u32,
}

impl Inner {
    /// This process's reserver field (slot and low generation bits).
    fn reserver(&self) -> u32 {
        (self.slot & SLOT_MASK) | ((self.slot_gen.load(Ordering::Relaxed) & GEN_MASK) << SLOT_BITS)
    }

    /// Whether the process that wrote reserver field `r` is still alive in its slot.
    fn reserver_alive(&self, r: u32) -> bool {
        let (slot, gen) = (r & SLOT_MASK, (r >> SLOT_BITS) & GEN_MASK);
        let Some(p) = self.proc_slot(slot) else { return false };
        let s = p.state.load(Ordering::Acquire);
        crate::process::tag(s) == crate::process::ALIVE
            && crate::process::gen(s) & GEN_MASK == gen
            && self.token_held(slot)
    }

    /// Finds the plain barrier `name`, creating it with `kind` (and `parties` for its cell) if
    /// missing.
    pub(crate) fn find_or_create(&self, name: &str, kind: u32, parties: u32) -> Result<Found> {
        let init = |i: u32| -> Result<(u32, u32)> {
            for p in 0..self.layout.caps.max_processes {
                if let Some(c) = self.member_count(i, p) {
                    c.store(0, Ordering::Relaxed);
                }
            }
            let cell = self.cell(i).ok_or_else(|| Error::Corrupt("barrier table out of bounds".into()))?;
            cell.init(parties, 0);
            Ok((kind, 0))
        };
        self.lookup(name, Some(&init))
    }

    /// Finds the object `name`. If it is missing and `create` is given, reserves entry `i`, runs
    /// `create(i)` (which initialises the object and returns its kind word) and publishes it; if
    /// `create` fails the reservation is given back. Without `create`, a missing name is
    /// [`Error::NotFound`].
    pub(crate) fn lookup(&self, name: &str, create: Option<&dyn Fn(u32) -> Result<(u32, u32)>>) -> Result<Found> {
        name::check_object_name(name)?;
        let bytes = name.as_bytes();
        let cap = self.layout.caps.max_barriers;
        let start = (name::hash(bytes) % u64::from(cap)) as u32;
        for k in 0..cap {
            let i = (start + k) % cap;
            let e = self.name_entry(i).ok_or_else(|| Error::Corrupt("name table out of bounds".into()))?;
            let since = Instant::now();
            loop {
                let st = e.state.load(Ordering::Acquire);
                match st & 0xff {
                    FREE | RESERVED if st & 0xff == FREE || !self.reserver_alive(st >> 8) => {
                        let Some(create) = create else { return Err(Error::NotFound) };
                        let mine = RESERVED | (self.reserver() << 8);
                        if e.state.compare_exchange(st, mine, Ordering::AcqRel, Ordering::Acquire).is_err() {
                            continue;
                        }
                        write_name(e, bytes);
                        match create(i) {
                            Ok((kind, extra)) => {
                                e.kind.store(kind, Ordering::Relaxed);
                                e.extra.store(extra, Ordering::Relaxed);
                                e.state.store(LIVE, Ordering::Release);
                                return Ok(Found { index: i, kind, extra });
                            }
                            Err(err) => {
                                e.state.store(FREE, Ordering::Release);
                                return Err(err);
                            }
                        }
                    }
                    RESERVED => {
                        if since.elapsed() > STUCK {
                            return Err(Error::Corrupt("name table entry stuck in reservation".into()));
                        }
                        std::thread::yield_now();
                    }
                    LIVE => {
                        let (buf, len) = read_name(e).ok_or_else(|| Error::Corrupt("bad name length".into()))?;
                        if &buf[..len] == bytes {
                            let (kind, extra) = (e.kind.load(Ordering::Relaxed), e.extra.load(Ordering::Relaxed));
                            return Ok(Found { index: i, kind, extra });
                        }
                        break;
                    }
                    _ => return Err(Error::Corrupt(format!("name table entry {i} has state {st:#x}"))),
                }
            }
        }
        Err(Error::Full("barrier table"))
    }
}
