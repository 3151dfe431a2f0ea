//! Read-only views of the alting tables, for diagnostics (`muster show`, `muster top`).
//!
//! Every function here only *loads* from the tables (no CAS, no store, no RMW), so it is safe on a
//! read-only mapping of a region, and it decodes words with the same decoders the protocol uses.
//! Words another process changes while we read may give a view that never existed as a whole;
//! each field is still one value that was in the table. A word that does not decode gives
//! [`AltError::Corrupt`].

use super::channel::{ONE_TO_ONE, OVERWRITE};
use super::tables::AltTables;
use super::word::{decode_life, FeState, FeStatus, Head, Life, SlotFlag, SlotState, HEAD_GEN_MASK};
use super::AltError;
use crate::sync::Ordering::Acquire;

/// Membership status of one front-end slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontEndStatus {
    /// Enrolled: a party of the barrier.
    Enrolled,
    /// Resigned: keeps its slot but is not a party.
    Resigned,
}

/// One used front-end slot of an alting barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrontEndView {
    /// Slot index within the barrier (`0..frontends_per_barrier`).
    pub slot: u32,
    /// Enrolled or resigned.
    pub status: FrontEndStatus,
    /// Owning agent slot, if a thread owns it.
    pub owner_agent: Option<u32>,
}

/// One alting barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltBarrierView {
    /// Generation of the barrier slot (14 bits, as stored).
    pub gen: u32,
    /// Enrolled front-ends according to the head word.
    pub enrolled: u32,
    /// Completed events so far.
    pub completions: u64,
    /// Used (non-free) front-end slots.
    pub frontends: Vec<FrontEndView>,
}

/// One channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelView {
    /// Generation of the channel slot.
    pub gen: u32,
    /// Ring capacity (values).
    pub capacity: u32,
    /// Values in the ring now (slots holding a value).
    pub len: u32,
    /// A full channel drops its oldest value instead of blocking writers.
    pub overwrite: bool,
    /// Only one writer (bound on first write).
    pub one_to_one: bool,
}

impl<'a> AltTables<'a> {
    /// The live alting barrier at `index` with slot generation `gen` (the name table's identity);
    /// `Ok(None)` if the slot is free or was reused since.
    pub fn view_barrier(&self, index: u32, gen: u32) -> Result<Option<AltBarrierView>, AltError> {
        let cell = self.barrier(index)?;
        let head = Head::decode(cell.head.0.word.load(Acquire))?;
        if !head.live || head.gen != gen & HEAD_GEN_MASK {
            return Ok(None);
        }
        let fe = self.fe_per_barrier;
        let mut frontends = Vec::new();
        for slot in 0..fe {
            let i = index.checked_mul(fe).and_then(|i| i.checked_add(slot)).ok_or(AltError::Corrupt)?;
            let fs = FeState::decode(self.frontend(i)?.state.load(Acquire))?;
            let status = match fs.status {
                FeStatus::Free => continue,
                FeStatus::Enrolled => FrontEndStatus::Enrolled,
                FeStatus::Resigned => FrontEndStatus::Resigned,
            };
            frontends.push(FrontEndView { slot, status, owner_agent: fs.owner.map(|(a, _)| a) });
        }
        Ok(Some(AltBarrierView {
            gen: head.gen,
            enrolled: head.enrolled,
            completions: cell.stats.0.completions.load(Acquire),
            frontends,
        }))
    }

    /// The live channel at `index` with slot generation `gen`; `Ok(None)` if free or reused.
    pub fn view_channel(&self, index: u32, gen: u32) -> Result<Option<ChannelView>, AltError> {
        let cell = self.channel(index)?;
        let raw = cell.meta.0.state.load(Acquire);
        let (life, g) = decode_life(raw)?;
        if life != Life::Live || g != gen {
            return Ok(None);
        }
        let cap = ((raw >> 8) & 0xffff) as u32;
        let ring = self.ring(index)?;
        if cap == 0 || cap as usize > ring.len() {
            return Err(AltError::Corrupt);
        }
        let len = ring[..cap as usize]
            .iter()
            .filter(|s| SlotState::decode(s.state.load(Acquire)).flag == SlotFlag::Full)
            .count() as u32;
        Ok(Some(ChannelView {
            gen,
            capacity: cap,
            len,
            overwrite: raw & OVERWRITE != 0,
            one_to_one: raw & ONE_TO_ONE != 0,
        }))
    }

    /// The owner token of agent slot `index` if the agent is live (the region layer encodes its
    /// process slot in it).
    pub fn view_agent_token(&self, index: u32) -> Option<u64> {
        let cell = self.agents.get(index as usize)?;
        match decode_life(cell.misc.0.life.load(Acquire)) {
            Ok((Life::Live, _)) => Some(cell.misc.0.token.load(Acquire)),
            _ => None,
        }
    }
}
