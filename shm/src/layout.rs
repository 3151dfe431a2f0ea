//! Region layout: the header, the tables, and the validation done on open.
//!
//! ```text
//! offset 0            Header (one 4 KiB page; magic, versions, size, capacities, layout hash)
//! procs_off           ProcSlot  × max_processes   (process table, 128 B each)
//! names_off           NameEntry × max_barriers    (name table, open addressing, 128 B each)
//! cells_off           BarrierCell × max_barriers  (one hot line per barrier; entry i ↔ cell i)
//! members_off         AtomicU32 × max_barriers × max_processes (member handles per process)
//! alt_off             alting tables (agents, party lists, alting barriers, front-ends, channels,
//!                     channel rings), laid out by `muster_core::alting::AltCapacities::layout`
//! ```
//! Every offset is a multiple of 128 and a pure function of the capacities, so a reader recomputes
//! the layout from the header's capacities and checks it against the file size; nothing in the
//! file is trusted without that check. All fields are fixed-width atomics (no `usize`, no
//! pointers), so 32- and 64-bit processes agree.

use crate::error::{Error, Result};
use crate::mapping::Shared;
use muster_core::alting::tables::{AgentCell, AltBarrierCell, ChanSlotCell, ChannelCell, FrontEndCell, PartyCell};
use muster_core::alting::{AltCapacities, AltLayout};
use muster_core::barrier::BarrierCell;
use muster_core::sync::{AtomicU32, AtomicU64};
use std::mem::{align_of, offset_of, size_of};

/// `"MUSTER\0"` followed by a format byte.
pub const MAGIC: u64 = u64::from_le_bytes(*b"MUSTER\0\x01");
/// Bumped on every incompatible change of this layout.
pub const LAYOUT_VERSION: u32 = 4;
/// Size of the header page.
pub const HEADER_SIZE: u64 = 4096;
/// Hard limits on capacities (keep the file size and scans bounded).
pub const MAX_BARRIERS_LIMIT: u32 = 1 << 16;
/// Largest process table.
pub const MAX_PROCESSES_LIMIT: u32 = 4096;

/// The region header. Written once by the creator before the file becomes visible.
#[repr(C, align(128))]
pub struct Header {
    pub magic: AtomicU64,
    pub layout_version: AtomicU32,
    /// `major << 16 | minor << 8 | patch` of the library that created the region.
    pub lib_version: AtomicU32,
    pub total_size: AtomicU64,
    /// 1 once the creator finished initialising.
    pub ready: AtomicU32,
    pub creator_pid: AtomicU32,
    pub max_barriers: AtomicU32,
    pub max_processes: AtomicU32,
    /// [`layout_hash`] of the creator's build.
    pub layout_hash: AtomicU64,
    /// Alting capacities: agents, barriers, front-ends per barrier, channels, slots per channel.
    pub alt_caps: [AtomicU32; 5],
    pub _pad: AtomicU32,
    /// Reserved for later sections (zero today).
    pub reserved: [AtomicU64; 5],
}

/// A process-table slot. `state` = `generation:32 | cleaner:16 | tag:8` (see `process.rs`).
#[repr(C, align(128))]
pub struct ProcSlot {
    pub state: AtomicU64,
    pub pid: AtomicU32,
    /// `p + 1` while this slot's process is cleaning slot `p` (0 otherwise), so a cleaner that
    /// died and whose slot was reused by a live process is not taken for a live cleaner.
    pub cleaning: AtomicU32,
}

/// A name-table entry. `state` = `tag:8 | reserver process slot << 8`.
#[repr(C, align(128))]
pub struct NameEntry {
    pub state: AtomicU32,
    /// Bit 31 set: membership barrier; else the counted barrier's parties.
    pub kind: AtomicU32,
    pub len: AtomicU32,
    /// Second identity word of the object (alting barrier / channel generation).
    pub extra: AtomicU32,
    pub bytes: [AtomicU64; 8],
}

// SAFETY: #[repr(C)] structs of atomics only (padding is never read).
unsafe impl Shared for Header {}
// SAFETY: as above.
unsafe impl Shared for ProcSlot {}
// SAFETY: as above.
unsafe impl Shared for NameEntry {}

const _: () = {
    assert!(size_of::<Header>() <= HEADER_SIZE as usize);
    assert!(size_of::<ProcSlot>() == 128);
    assert!(size_of::<NameEntry>() == 128);
    assert!(size_of::<BarrierCell>() == 128);
    assert!(offset_of!(Header, magic) == 0);
    assert!(offset_of!(Header, layout_version) == 8);
    assert!(offset_of!(Header, total_size) == 16);
    assert!(offset_of!(Header, max_barriers) == 32);
    assert!(offset_of!(NameEntry, bytes) == 16);
};

/// Hash of every shared struct's size and alignment: two builds that disagree on the layout
/// refuse each other's regions even if someone forgot to bump [`LAYOUT_VERSION`].
pub const fn layout_hash() -> u64 {
    let parts = [
        size_of::<Header>(),
        align_of::<Header>(),
        size_of::<ProcSlot>(),
        size_of::<NameEntry>(),
        offset_of!(NameEntry, bytes),
        size_of::<BarrierCell>(),
        align_of::<BarrierCell>(),
        size_of::<AgentCell>(),
        size_of::<PartyCell>(),
        size_of::<AltBarrierCell>(),
        size_of::<FrontEndCell>(),
        size_of::<ChannelCell>(),
        size_of::<ChanSlotCell>(),
        LAYOUT_VERSION as usize,
    ];
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < parts.len() {
        h = (h ^ parts[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// Fixed capacities chosen at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacities {
    pub max_barriers: u32,
    pub max_processes: u32,
    /// Alting tables (all zero: none).
    pub alt: AltCapacities,
}

/// No alting tables.
pub const NO_ALTING: AltCapacities =
    AltCapacities { agents: 0, barriers: 0, frontends_per_barrier: 1, channels: 0, slots_per_channel: 0 };

/// Where each table lives, derived from the capacities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub caps: Capacities,
    pub procs_off: u64,
    pub names_off: u64,
    pub cells_off: u64,
    pub members_off: u64,
    pub alt_off: u64,
    pub alt: AltLayout,
    pub total: u64,
}

fn round128(x: u64) -> u64 {
    x.div_ceil(128) * 128
}

impl Layout {
    /// Computes the layout, or explains which capacity is out of range.
    pub fn new(caps: Capacities) -> Result<Layout> {
        if caps.max_barriers == 0 || caps.max_barriers > MAX_BARRIERS_LIMIT {
            return Err(Error::InvalidArgument("max_barriers must be 1..=65536"));
        }
        if caps.max_processes == 0 || caps.max_processes > MAX_PROCESSES_LIMIT {
            return Err(Error::InvalidArgument("max_processes must be 1..=4096"));
        }
        let (b, p) = (u64::from(caps.max_barriers), u64::from(caps.max_processes));
        let procs_off = HEADER_SIZE;
        let names_off = procs_off + p * 128;
        let cells_off = names_off + b * 128;
        let members_off = cells_off + b * 128;
        let alt_off = round128(members_off + b * p * 4).div_ceil(4096) * 4096;
        let alt = caps.alt.layout().map_err(|_| Error::InvalidArgument("alting capacities out of range"))?;
        let total = (alt_off + alt.total as u64).div_ceil(4096) * 4096;
        Ok(Layout { caps, procs_off, names_off, cells_off, members_off, alt_off, alt, total })
    }

    /// Offset of process slot `i` (caller checked `i < max_processes`).
    pub fn proc(&self, i: u32) -> u64 {
        self.procs_off + u64::from(i) * 128
    }
    /// Offset of name entry `i`.
    pub fn name(&self, i: u32) -> u64 {
        self.names_off + u64::from(i) * 128
    }
    /// Offset of barrier cell `i`.
    pub fn cell(&self, i: u32) -> u64 {
        self.cells_off + u64::from(i) * 128
    }
    /// Offset of the member counter of process `p` on barrier `b`.
    pub fn member(&self, b: u32, p: u32) -> u64 {
        self.members_off + (u64::from(b) * u64::from(self.caps.max_processes) + u64::from(p)) * 4
    }
}

/// `major << 16 | minor << 8 | patch` of this crate.
pub fn lib_version() -> u32 {
    let v = |s: &str| s.parse::<u32>().unwrap_or(0);
    (v(env!("CARGO_PKG_VERSION_MAJOR")) << 16)
        | (v(env!("CARGO_PKG_VERSION_MINOR")) << 8)
        | v(env!("CARGO_PKG_VERSION_PATCH"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_aligned_and_monotonic() {
        let l = Layout::new(Capacities { max_barriers: 1024, max_processes: 256, alt: NO_ALTING }).unwrap();
        for off in [l.procs_off, l.names_off, l.cells_off, l.members_off] {
            assert_eq!(off % 128, 0);
        }
        assert!(l.procs_off < l.names_off && l.names_off < l.cells_off && l.cells_off < l.members_off);
        assert!(l.member(1023, 255) + 4 <= l.total);
        assert_eq!(l.total % 4096, 0);
        assert!(Layout::new(Capacities { max_barriers: 0, max_processes: 1, alt: NO_ALTING }).is_err());
        assert!(Layout::new(Capacities { max_barriers: 1, max_processes: 5000, alt: NO_ALTING }).is_err());
    }
}
