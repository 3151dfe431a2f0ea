//! The shared cells of the alting module and the view ([`AltTables`]) the protocol runs on.
//!
//! Every cell is `#[repr(C)]`, made only of fixed-width atomics (padding is implicit, from
//! `align(128)`; there is no non-atomic field a peer could race on), holds indices instead of
//! pointers, and is valid when all-zero. The same cells live in a `Vec` ([`HeapAlting`]) or in a
//! shared-memory region placed by [`AltLayout`].

use super::word::MAX_BARRIERS;
use super::AltError;
use crate::sync::{AtomicU32, AtomicU64};

/// Most agents a table set may have (agent indices are 16 bits; `0xffff` is reserved).
pub const MAX_AGENTS: u32 = 0xffff;
/// Most front-end slots per barrier (= most parties of one barrier).
pub const MAX_FRONTENDS_PER_BARRIER: u32 = 64;
/// Most ring slots per channel.
pub const MAX_SLOTS_PER_CHANNEL: u32 = 0xffff;
/// Most guards in one select.
pub const MAX_GUARDS: usize = 64;

/// A value on its own 128-byte line (two 64-byte lines: the adjacent-line prefetcher pulls pairs).
#[repr(C, align(128))]
pub struct Padded<T>(pub(crate) T);

/// The completion descriptor of one agent (its party list lives in [`AltTables`]' `parties`).
#[repr(C)]
pub struct DescCell {
    /// `seq | barrier | status` (see `word::DescWord`).
    pub(crate) status: AtomicU64,
    /// Completion number this attempt will give the barrier (written while UNDEC).
    pub(crate) ticket: AtomicU64,
    /// Number of valid party entries.
    pub(crate) len: AtomicU32,
}

/// Identity and wake-up word of one agent.
#[repr(C)]
pub struct AgentMisc {
    /// Futex eventcount the agent sleeps on (bit 0 = sleepers; see `crate::wait`).
    pub(crate) wake: AtomicU32,
    /// `gen | state` (FREE, LIVE, BUSY = being cleaned).
    pub(crate) life: AtomicU64,
    /// Caller-supplied owner token (process slot + generation), for liveness checks.
    pub(crate) token: AtomicU64,
}

/// One agent slot: offer word, descriptor, wake word, each on its own line.
#[repr(C)]
pub struct AgentCell {
    /// `epoch | tag | payload` (see `word::OfferWord`): the agent's single commit point.
    pub(crate) offer: Padded<AtomicU64>,
    pub(crate) desc: Padded<DescCell>,
    pub(crate) misc: Padded<AgentMisc>,
}

/// One entry of a descriptor's party list (`word::Party`).
#[repr(C)]
pub struct PartyCell(pub(crate) AtomicU64);

/// One alting barrier: the read-mostly line (membership head, scan bound) and the completion
/// counter on separate lines, so the completer's counter update does not invalidate the line every
/// offering agent's completion attempt reads.
#[repr(C)]
pub struct AltBarrierCell {
    pub(crate) head: Padded<BarrierHead>,
    pub(crate) stats: Padded<BarrierStats>,
}

/// What every completion attempt reads and only membership changes write.
#[repr(C)]
pub struct BarrierHead {
    /// `version | enrolled | gen | state` (see `word::Head`).
    pub(crate) word: AtomicU64,
    /// One past the highest front-end slot ever enrolled (completers scan only `0..high`, not
    /// every slot the table reserves; clamped to the table when read).
    pub(crate) high: AtomicU32,
}

/// Completion counter and expand-group allocator of a barrier.
#[repr(C)]
pub struct BarrierStats {
    /// Number of completions (each completion's ticket is its value after the completion).
    pub(crate) completions: AtomicU64,
    /// Next `expand` group id.
    pub(crate) next_group: AtomicU32,
}

/// One front-end: membership/ownership state and the owner's current offer stamp.
#[repr(C, align(128))]
pub struct FrontEndCell {
    /// See `word::FeState`.
    pub(crate) state: AtomicU64,
    /// `word::Party` = (owner agent, guard index, epoch) of the select offering this front-end.
    pub(crate) stamp: AtomicU64,
}

/// Configuration and reader registration of a channel.
#[repr(C)]
pub struct ChanMeta {
    /// `gen | cap | flags | state` (see `word::decode_life`).
    pub(crate) state: AtomicU64,
    /// Agent index + 1 of a reader currently selecting on this channel (0 = none).
    pub(crate) reader: AtomicU64,
    /// One-to-one channels: agent index + 1 of the bound writer (0 = unbound).
    pub(crate) writer: AtomicU64,
}

/// Futex eventcounts of a channel.
#[repr(C)]
pub struct ChanSeqs {
    /// Bumped by writers (blocking readers sleep on it).
    pub(crate) data: AtomicU32,
    /// Bumped by readers (blocking writers sleep on it).
    pub(crate) space: AtomicU32,
}

/// One channel of u64 values (bounded ring in [`AltTables`]' `slots`).
#[repr(C)]
pub struct ChannelCell {
    pub(crate) meta: Padded<ChanMeta>,
    /// Next position to read (a hint advanced by helping; slot states are authoritative).
    pub(crate) head: Padded<AtomicU64>,
    /// Next position to write (a hint advanced by helping).
    pub(crate) tail: Padded<AtomicU64>,
    pub(crate) seqs: Padded<ChanSeqs>,
}

/// One ring slot: `pos | writer | flag` (see `word::SlotState`) and the value.
#[repr(C)]
pub struct ChanSlotCell {
    pub(crate) state: AtomicU64,
    pub(crate) value: AtomicU64,
}

macro_rules! zero_new {
    ($($t:ident { $($f:ident : $e:expr),* $(,)? })*) => {$(
        impl $t {
            /// An all-zero (free) cell.
            pub fn new() -> $t { $t { $($f: $e),* } }
        }
        impl Default for $t {
            fn default() -> $t { $t::new() }
        }
    )*};
}

zero_new! {
    AgentCell {
        offer: Padded(AtomicU64::new(0)),
        desc: Padded(DescCell { status: AtomicU64::new(0), ticket: AtomicU64::new(0), len: AtomicU32::new(0) }),
        misc: Padded(AgentMisc { wake: AtomicU32::new(0), life: AtomicU64::new(0), token: AtomicU64::new(0) }),
    }
    AltBarrierCell {
        head: Padded(BarrierHead { word: AtomicU64::new(0), high: AtomicU32::new(0) }),
        stats: Padded(BarrierStats { completions: AtomicU64::new(0), next_group: AtomicU32::new(0) }),
    }
    FrontEndCell { state: AtomicU64::new(0), stamp: AtomicU64::new(0) }
    ChannelCell {
        meta: Padded(ChanMeta { state: AtomicU64::new(0), reader: AtomicU64::new(0), writer: AtomicU64::new(0) }),
        head: Padded(AtomicU64::new(0)),
        tail: Padded(AtomicU64::new(0)),
        seqs: Padded(ChanSeqs { data: AtomicU32::new(0), space: AtomicU32::new(0) }),
    }
    ChanSlotCell { state: AtomicU64::new(0), value: AtomicU64::new(0) }
}

impl PartyCell {
    /// An empty entry.
    pub fn new() -> PartyCell {
        PartyCell(AtomicU64::new(0))
    }
}

impl Default for PartyCell {
    fn default() -> PartyCell {
        PartyCell::new()
    }
}

#[cfg(not(loom))]
const _: () = {
    use core::mem::{align_of, size_of};
    assert!(size_of::<AgentCell>() == 384 && align_of::<AgentCell>() == 128);
    assert!(size_of::<AltBarrierCell>() == 256 && align_of::<AltBarrierCell>() == 128);
    assert!(size_of::<FrontEndCell>() == 128 && align_of::<FrontEndCell>() == 128);
    assert!(size_of::<ChannelCell>() == 512 && align_of::<ChannelCell>() == 128);
    assert!(size_of::<ChanSlotCell>() == 16 && align_of::<ChanSlotCell>() == 8);
    assert!(size_of::<PartyCell>() == 8 && align_of::<PartyCell>() == 8);
};

/// Capacities of one set of alting tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltCapacities {
    /// Agent slots (threads that run selects), at most [`MAX_AGENTS`].
    pub agents: u32,
    /// Alting barriers.
    pub barriers: u32,
    /// Front-end slots reserved per barrier (1..=[`MAX_FRONTENDS_PER_BARRIER`]): the most
    /// parties a barrier can have, counting `expand`ed ones.
    pub frontends_per_barrier: u32,
    /// Channels.
    pub channels: u32,
    /// Ring slots per channel (the largest channel capacity), at most [`MAX_SLOTS_PER_CHANNEL`].
    pub slots_per_channel: u32,
}

/// Where each table of an [`AltCapacities`] goes in a region: byte offsets from a 128-aligned base
/// (every table starts 128-aligned), element counts, and the total size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltLayout {
    pub caps: AltCapacities,
    /// `(offset, count)` of `[AgentCell]`.
    pub agents: (usize, usize),
    /// `(offset, count)` of `[PartyCell]` (`agents * frontends_per_barrier`).
    pub parties: (usize, usize),
    /// `(offset, count)` of `[AltBarrierCell]`.
    pub barriers: (usize, usize),
    /// `(offset, count)` of `[FrontEndCell]` (`barriers * frontends_per_barrier`).
    pub frontends: (usize, usize),
    /// `(offset, count)` of `[ChannelCell]`.
    pub channels: (usize, usize),
    /// `(offset, count)` of `[ChanSlotCell]` (`channels * slots_per_channel`).
    pub slots: (usize, usize),
    /// Bytes needed from the base.
    pub total: usize,
}

impl AltCapacities {
    /// Checks the limits.
    pub fn validate(&self) -> Result<(), AltError> {
        let ok = self.agents <= MAX_AGENTS
            && self.barriers < MAX_BARRIERS
            && (1..=MAX_FRONTENDS_PER_BARRIER).contains(&self.frontends_per_barrier)
            && self.slots_per_channel <= MAX_SLOTS_PER_CHANNEL
            && (self.channels == 0 || self.slots_per_channel > 0);
        if ok {
            Ok(())
        } else {
            Err(AltError::InvalidArgument)
        }
    }

    /// The region layout for these capacities (cell sizes of this build; not meaningful under loom).
    pub fn layout(&self) -> Result<AltLayout, AltError> {
        self.validate()?;
        let mut at = 0usize;
        let mut place = |size: usize, count: u64| -> Result<(usize, usize), AltError> {
            let count = usize::try_from(count).map_err(|_| AltError::InvalidArgument)?;
            let off = at.checked_add(127).ok_or(AltError::InvalidArgument)? & !127;
            at = count.checked_mul(size).and_then(|b| b.checked_add(off)).ok_or(AltError::InvalidArgument)?;
            Ok((off, count))
        };
        let fe = u64::from(self.frontends_per_barrier);
        let agents = place(core::mem::size_of::<AgentCell>(), u64::from(self.agents))?;
        let parties = place(core::mem::size_of::<PartyCell>(), u64::from(self.agents) * fe)?;
        let barriers = place(core::mem::size_of::<AltBarrierCell>(), u64::from(self.barriers))?;
        let frontends = place(core::mem::size_of::<FrontEndCell>(), u64::from(self.barriers) * fe)?;
        let channels = place(core::mem::size_of::<ChannelCell>(), u64::from(self.channels))?;
        let slots =
            place(core::mem::size_of::<ChanSlotCell>(), u64::from(self.channels) * u64::from(self.slots_per_channel))?;
        Ok(AltLayout { caps: *self, agents, parties, barriers, frontends, channels, slots, total: at })
    }
}

/// A view over one set of alting tables (on the heap or in a region). Cheap to copy.
#[derive(Clone, Copy)]
pub struct AltTables<'a> {
    pub(crate) agents: &'a [AgentCell],
    pub(crate) parties: &'a [PartyCell],
    pub(crate) barriers: &'a [AltBarrierCell],
    pub(crate) frontends: &'a [FrontEndCell],
    pub(crate) channels: &'a [ChannelCell],
    pub(crate) slots: &'a [ChanSlotCell],
    pub(crate) fe_per_barrier: u32,
    pub(crate) slots_per_channel: u32,
}

impl<'a> AltTables<'a> {
    /// Builds a view; the slice lengths must match `caps` exactly.
    pub fn new(
        caps: AltCapacities,
        agents: &'a [AgentCell],
        parties: &'a [PartyCell],
        barriers: &'a [AltBarrierCell],
        frontends: &'a [FrontEndCell],
        channels: &'a [ChannelCell],
        slots: &'a [ChanSlotCell],
    ) -> Result<AltTables<'a>, AltError> {
        caps.validate()?;
        let fe = caps.frontends_per_barrier as usize;
        let ok = agents.len() == caps.agents as usize
            && parties.len() == agents.len() * fe
            && barriers.len() == caps.barriers as usize
            && frontends.len() == barriers.len() * fe
            && channels.len() == caps.channels as usize
            && slots.len() == channels.len() * caps.slots_per_channel as usize;
        if !ok {
            return Err(AltError::InvalidArgument);
        }
        Ok(AltTables {
            agents,
            parties,
            barriers,
            frontends,
            channels,
            slots,
            fe_per_barrier: caps.frontends_per_barrier,
            slots_per_channel: caps.slots_per_channel,
        })
    }

    /// Builds a view over a region laid out by `layout` at `base`.
    ///
    /// # Safety
    /// `base` must be 128-byte aligned and valid for reads and writes of `layout.total` bytes for
    /// `'a`, and that memory must only ever be accessed atomically (through these cells) while
    /// the view lives. Any bit pattern is a valid cell (all fields are atomics); all-zero is the
    /// empty state.
    #[cfg(not(loom))]
    pub unsafe fn from_raw(base: *const u8, layout: &AltLayout) -> Result<AltTables<'a>, AltError> {
        if base.is_null() || !(base as usize).is_multiple_of(128) || *layout != layout.caps.layout()? {
            return Err(AltError::InvalidArgument);
        }
        /// # Safety
        /// Forwarded from `from_raw`: `(off, n)` lies within the `layout.total` valid bytes.
        unsafe fn table<'b, T>(base: *const u8, (off, n): (usize, usize)) -> &'b [T] {
            // SAFETY: the caller guarantees `base..base+total` is valid, aligned (every offset is a
            // multiple of 128, every T's alignment divides 128) and only accessed atomically; every
            // bit pattern is a valid `T` (atomics only).
            unsafe { core::slice::from_raw_parts(base.add(off).cast::<T>(), n) }
        }
        // SAFETY: see the function contract; the layout was recomputed and matches.
        unsafe {
            AltTables::new(
                layout.caps,
                table(base, layout.agents),
                table(base, layout.parties),
                table(base, layout.barriers),
                table(base, layout.frontends),
                table(base, layout.channels),
                table(base, layout.slots),
            )
        }
    }

    /// Number of agent slots.
    pub fn agent_count(&self) -> u32 {
        self.agents.len() as u32
    }

    /// Front-end slots per barrier.
    pub fn frontends_per_barrier(&self) -> u32 {
        self.fe_per_barrier
    }

    pub(crate) fn agent(&self, i: u32) -> Result<&'a AgentCell, AltError> {
        self.agents.get(i as usize).ok_or(AltError::Corrupt)
    }

    pub(crate) fn barrier(&self, i: u32) -> Result<&'a AltBarrierCell, AltError> {
        self.barriers.get(i as usize).ok_or(AltError::Corrupt)
    }

    pub(crate) fn frontend(&self, i: u32) -> Result<&'a FrontEndCell, AltError> {
        self.frontends.get(i as usize).ok_or(AltError::Corrupt)
    }

    pub(crate) fn channel(&self, i: u32) -> Result<&'a ChannelCell, AltError> {
        self.channels.get(i as usize).ok_or(AltError::Corrupt)
    }

    /// Party list of agent `a`'s descriptor.
    pub(crate) fn party_list(&self, a: u32) -> Result<&'a [PartyCell], AltError> {
        let k = self.fe_per_barrier as usize;
        let start = (a as usize).checked_mul(k).ok_or(AltError::Corrupt)?;
        self.parties.get(start..start + k).ok_or(AltError::Corrupt)
    }

    /// Ring of channel `c`.
    pub(crate) fn ring(&self, c: u32) -> Result<&'a [ChanSlotCell], AltError> {
        let k = self.slots_per_channel as usize;
        let start = (c as usize).checked_mul(k).ok_or(AltError::Corrupt)?;
        self.slots.get(start..start + k).ok_or(AltError::Corrupt)
    }
}

/// Alting tables owned on the heap (in-process use and tests).
pub struct HeapAlting {
    caps: AltCapacities,
    agents: Vec<AgentCell>,
    parties: Vec<PartyCell>,
    barriers: Vec<AltBarrierCell>,
    frontends: Vec<FrontEndCell>,
    channels: Vec<ChannelCell>,
    slots: Vec<ChanSlotCell>,
}

impl HeapAlting {
    /// Allocates empty tables.
    pub fn new(caps: AltCapacities) -> Result<HeapAlting, AltError> {
        caps.validate()?;
        let fe = caps.frontends_per_barrier as usize;
        let n = |c: u32| c as usize;
        Ok(HeapAlting {
            caps,
            agents: (0..n(caps.agents)).map(|_| AgentCell::new()).collect(),
            parties: (0..n(caps.agents) * fe).map(|_| PartyCell::new()).collect(),
            barriers: (0..n(caps.barriers)).map(|_| AltBarrierCell::new()).collect(),
            frontends: (0..n(caps.barriers) * fe).map(|_| FrontEndCell::new()).collect(),
            channels: (0..n(caps.channels)).map(|_| ChannelCell::new()).collect(),
            slots: (0..n(caps.channels) * n(caps.slots_per_channel)).map(|_| ChanSlotCell::new()).collect(),
        })
    }

    /// The view over these tables.
    pub fn tables(&self) -> AltTables<'_> {
        AltTables {
            agents: &self.agents,
            parties: &self.parties,
            barriers: &self.barriers,
            frontends: &self.frontends,
            channels: &self.channels,
            slots: &self.slots,
            fe_per_barrier: self.caps.frontends_per_barrier,
            slots_per_channel: self.caps.slots_per_channel,
        }
    }

    /// The capacities these tables were made with.
    pub fn capacities(&self) -> AltCapacities {
        self.caps
    }
}
