//! Bit layouts of every shared word of the alting module, with checked decoders.
//!
//! All words are read from memory another process may scribble on, so every `decode` returns
//! `Err(AltError::Corrupt)` (or `None`) for a value no correct writer produces; nothing here
//! panics. The all-zero value of every word is a valid initial state (a freshly `ftruncate`d
//! region is a valid, empty set of tables).

use super::AltError;

/// Bits of the epoch in offer words, stamps and party entries (wrapping).
pub(crate) const EPOCH_BITS: u32 = 28;
pub(crate) const EPOCH_MASK: u32 = (1 << EPOCH_BITS) - 1;

/// The epoch after `e` (wrapping in [`EPOCH_BITS`] bits).
#[inline]
pub(crate) fn next_epoch(e: u32) -> u32 {
    e.wrapping_add(1) & EPOCH_MASK
}

// ---------------------------------------------------------------------------------------------
// Offer word: epoch:28 (bits 36..=63) | tag:4 (bits 32..=35) | payload:32 (bits 0..=31)
// ---------------------------------------------------------------------------------------------

const T_IDLE: u64 = 0;
const T_OFFER: u64 = 1;
const T_CLAIM: u64 = 2;
const T_DONE: u64 = 3;
const T_DEAD: u64 = 4;

/// The state part of an agent's offer word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    /// Not in a select.
    Idle,
    /// Offering the guards stamped with this epoch.
    Offer,
    /// Held by the completion attempt `(owner, seq)` (low 16 bits of the descriptor seq).
    Claim { owner: u32, seq: u16 },
    /// Resolved: guard `guard` fired; `ticket` = low 24 bits of the barrier's completion number
    /// for a barrier guard, 0 otherwise.
    Done { guard: u8, ticket: u32 },
    /// The agent was cleaned up (its process died).
    Dead,
}

/// A decoded offer word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OfferWord {
    pub epoch: u32,
    pub state: Tag,
}

impl OfferWord {
    pub fn new(epoch: u32, state: Tag) -> OfferWord {
        OfferWord { epoch: epoch & EPOCH_MASK, state }
    }

    pub fn decode(w: u64) -> Result<OfferWord, AltError> {
        let epoch = (w >> 36) as u32;
        let payload = w as u32;
        let state = match (w >> 32) & 0xf {
            T_IDLE if payload == 0 => Tag::Idle,
            T_OFFER if payload == 0 => Tag::Offer,
            T_CLAIM => Tag::Claim { owner: payload & 0xffff, seq: (payload >> 16) as u16 },
            T_DONE => Tag::Done { guard: payload as u8, ticket: payload >> 8 },
            T_DEAD if payload == 0 => Tag::Dead,
            _ => return Err(AltError::Corrupt),
        };
        Ok(OfferWord { epoch, state })
    }

    pub fn encode(self) -> u64 {
        let (tag, payload): (u64, u32) = match self.state {
            Tag::Idle => (T_IDLE, 0),
            Tag::Offer => (T_OFFER, 0),
            Tag::Claim { owner, seq } => (T_CLAIM, (owner & 0xffff) | (u32::from(seq) << 16)),
            Tag::Done { guard, ticket } => (T_DONE, u32::from(guard) | ((ticket & 0xff_ffff) << 8)),
            Tag::Dead => (T_DEAD, 0),
        };
        (u64::from(self.epoch & EPOCH_MASK) << 36) | (tag << 32) | u64::from(payload)
    }

    /// Whether the word is in the current epoch's undecided states (OFFER or CLAIM).
    pub fn undecided(self) -> bool {
        matches!(self.state, Tag::Offer | Tag::Claim { .. })
    }
}

// ---------------------------------------------------------------------------------------------
// Descriptor status word: seq:32 (bits 32..=63) | barrier:28 (bits 4..=31) | status:4
// ---------------------------------------------------------------------------------------------

/// Status of a completion descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DStatus {
    /// Being written (seqlock "odd" state) or never used.
    Prep,
    /// Claiming; may be aborted by anyone.
    Undec,
    /// Decided: the barrier fired. Anyone may finish it.
    Succ,
    /// Failed by its owner (a party was definitively not offering).
    Fail,
    /// Aborted by a withdrawing party: definitive, the owner does not retry.
    AbortW,
    /// Aborted by a stall-breaker or a cleaner: the owner retries.
    AbortS,
}

impl DStatus {
    pub fn failed(self) -> bool {
        matches!(self, DStatus::Fail | DStatus::AbortW | DStatus::AbortS)
    }
}

/// A decoded descriptor status word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DescWord {
    pub seq: u32,
    pub barrier: u32,
    pub status: DStatus,
}

pub(crate) const MAX_BARRIERS: u32 = 1 << 28;

impl DescWord {
    pub fn decode(w: u64) -> Result<DescWord, AltError> {
        let status = match w & 0xf {
            0 => DStatus::Prep,
            1 => DStatus::Undec,
            2 => DStatus::Succ,
            3 => DStatus::Fail,
            4 => DStatus::AbortW,
            5 => DStatus::AbortS,
            _ => return Err(AltError::Corrupt),
        };
        Ok(DescWord { seq: (w >> 32) as u32, barrier: ((w >> 4) as u32) & (MAX_BARRIERS - 1), status })
    }

    pub fn encode(self) -> u64 {
        let s = match self.status {
            DStatus::Prep => 0,
            DStatus::Undec => 1,
            DStatus::Succ => 2,
            DStatus::Fail => 3,
            DStatus::AbortW => 4,
            DStatus::AbortS => 5,
        };
        (u64::from(self.seq) << 32) | (u64::from(self.barrier & (MAX_BARRIERS - 1)) << 4) | s
    }

    pub fn with(self, status: DStatus) -> DescWord {
        DescWord { status, ..self }
    }
}

// ---------------------------------------------------------------------------------------------
// Party entry (descriptor party list): valid:1 (bit 63) | agent:16 (36..=51) | guard:8 (28..=35)
// | epoch:28 (0..=27). Front-end stamp: same layout (written by the front-end's owner when it
// enables the guard).
// ---------------------------------------------------------------------------------------------

/// One party of a completion attempt, or one front-end's current offer stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Party {
    pub agent: u32,
    pub epoch: u32,
    pub guard: u8,
}

const PARTY_VALID: u64 = 1 << 63;

impl Party {
    pub fn encode(self) -> u64 {
        PARTY_VALID
            | (u64::from(self.agent & 0xffff) << 36)
            | (u64::from(self.guard) << 28)
            | u64::from(self.epoch & EPOCH_MASK)
    }

    pub fn decode(w: u64) -> Option<Party> {
        if w & PARTY_VALID == 0 {
            return None;
        }
        Some(Party { agent: ((w >> 36) & 0xffff) as u32, guard: (w >> 28) as u8, epoch: (w as u32) & EPOCH_MASK })
    }
}

// ---------------------------------------------------------------------------------------------
// Front-end state: gen:14 (50..=63) | group:16 (34..=49) | owner gen:16 (18..=33)
// | owner+1:16 (2..=17) | status:2
// ---------------------------------------------------------------------------------------------

/// Membership status of a front-end slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeStatus {
    Free,
    Enrolled,
    Resigned,
}

/// A decoded front-end state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FeState {
    pub status: FeStatus,
    /// Owning agent index and the low 16 bits of its generation.
    pub owner: Option<(u32, u16)>,
    /// 0 = made by `create`; otherwise the id of the `expand` call that made it.
    pub group: u16,
    /// Slot generation (14 bits), bumped whenever the slot is freed and reused.
    pub gen: u32,
}

pub(crate) const FE_GEN_MASK: u32 = (1 << 14) - 1;

impl FeState {
    pub fn decode(w: u64) -> Result<FeState, AltError> {
        let status = match w & 3 {
            0 => FeStatus::Free,
            1 => FeStatus::Enrolled,
            2 => FeStatus::Resigned,
            _ => return Err(AltError::Corrupt),
        };
        let o = ((w >> 2) & 0xffff) as u32;
        let owner = if o == 0 { None } else { Some((o - 1, (w >> 18) as u16)) };
        Ok(FeState { status, owner, group: (w >> 34) as u16, gen: ((w >> 50) as u32) & FE_GEN_MASK })
    }

    pub fn encode(self) -> u64 {
        let s = match self.status {
            FeStatus::Free => 0,
            FeStatus::Enrolled => 1,
            FeStatus::Resigned => 2,
        };
        let (o, og) = match self.owner {
            Some((a, g)) => (u64::from((a + 1) & 0xffff), u64::from(g)),
            None => (0, 0),
        };
        s | (o << 2) | (og << 18) | (u64::from(self.group) << 34) | (u64::from(self.gen & FE_GEN_MASK) << 50)
    }
}

// ---------------------------------------------------------------------------------------------
// Barrier head: version:32 (32..=63) | enrolled:16 (16..=31) | gen:14 (2..=15) | state:2
// ---------------------------------------------------------------------------------------------

/// A decoded barrier head word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub live: bool,
    /// Being created or destroyed (state 2): not usable yet.
    pub init: bool,
    pub gen: u32,
    pub enrolled: u32,
    pub version: u32,
}

pub(crate) const HEAD_GEN_MASK: u32 = (1 << 14) - 1;

impl Head {
    pub fn decode(w: u64) -> Result<Head, AltError> {
        let (live, init) = match w & 3 {
            0 => (false, false),
            1 => (true, false),
            2 => (false, true),
            _ => return Err(AltError::Corrupt),
        };
        Ok(Head {
            live,
            init,
            gen: ((w >> 2) as u32) & HEAD_GEN_MASK,
            enrolled: ((w >> 16) & 0xffff) as u32,
            version: (w >> 32) as u32,
        })
    }

    pub fn encode(self) -> u64 {
        let s = if self.live {
            1
        } else if self.init {
            2
        } else {
            0
        };
        s | (u64::from(self.gen & HEAD_GEN_MASK) << 2)
            | (u64::from(self.enrolled.min(0xffff)) << 16)
            | (u64::from(self.version) << 32)
    }
}

// ---------------------------------------------------------------------------------------------
// Agent life word: gen:32 (32..=63) | state:2. Channel state word: gen:32 | cap:16 (8..=23)
// | flags (bit 2 overwrite, bit 3 one-to-one) | state:2.
// ---------------------------------------------------------------------------------------------

/// Lifecycle of a slot (agent or channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    Free,
    Live,
    /// Agent: being cleaned up. Channel: being initialised.
    Busy,
}

pub(crate) fn decode_life(w: u64) -> Result<(Life, u32), AltError> {
    let l = match w & 3 {
        0 => Life::Free,
        1 => Life::Live,
        2 => Life::Busy,
        _ => return Err(AltError::Corrupt),
    };
    Ok((l, (w >> 32) as u32))
}

pub(crate) fn encode_life(l: Life, gen: u32, extra: u64) -> u64 {
    let s = match l {
        Life::Free => 0,
        Life::Live => 1,
        Life::Busy => 2,
    };
    s | (extra & 0xffff_fffc) | (u64::from(gen) << 32)
}

// ---------------------------------------------------------------------------------------------
// Channel ring slot state: pos:46 (18..=63) | writer+1:16 (2..=17) | flag:2
// ---------------------------------------------------------------------------------------------

/// Ring slot flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotFlag {
    /// Available for the writer of `pos`.
    Free,
    /// Reserved by a writer that is storing the value.
    Reserved,
    /// Holds the value of `pos`.
    Full,
    /// Position `pos` was abandoned by a dead writer: readers skip it.
    Hole,
}

pub(crate) const POS_MASK: u64 = (1 << 46) - 1;

/// A decoded ring slot state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotState {
    pub pos: u64,
    pub writer: Option<u32>,
    pub flag: SlotFlag,
}

impl SlotState {
    pub fn new(pos: u64, writer: Option<u32>, flag: SlotFlag) -> SlotState {
        SlotState { pos: pos & POS_MASK, writer, flag }
    }

    pub fn decode(w: u64) -> SlotState {
        let flag = match w & 3 {
            0 => SlotFlag::Free,
            1 => SlotFlag::Reserved,
            2 => SlotFlag::Full,
            _ => SlotFlag::Hole,
        };
        let wr = ((w >> 2) & 0xffff) as u32;
        SlotState { pos: w >> 18, writer: if wr == 0 { None } else { Some(wr - 1) }, flag }
    }

    pub fn encode(self) -> u64 {
        let f = match self.flag {
            SlotFlag::Free => 0,
            SlotFlag::Reserved => 1,
            SlotFlag::Full => 2,
            SlotFlag::Hole => 3,
        };
        let wr = self.writer.map_or(0, |a| u64::from((a + 1) & 0xffff));
        f | (wr << 2) | ((self.pos & POS_MASK) << 18)
    }

    /// Whether this state is for position `pos` (compared modulo 2^46).
    pub fn at(self, pos: u64) -> bool {
        self.pos == pos & POS_MASK
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn offer_roundtrip() {
        for st in [
            Tag::Idle,
            Tag::Offer,
            Tag::Claim { owner: 65534, seq: 0xffff },
            Tag::Done { guard: 63, ticket: 0xff_ffff },
            Tag::Dead,
        ] {
            let w = OfferWord::new(EPOCH_MASK, st);
            assert_eq!(OfferWord::decode(w.encode()).unwrap(), w);
        }
        assert_eq!(OfferWord::decode(0).unwrap(), OfferWord::new(0, Tag::Idle));
        assert!(OfferWord::decode(7 << 32).is_err());
        assert!(OfferWord::decode((1 << 32) | 5).is_err());
    }

    #[test]
    fn other_roundtrips() {
        let d = DescWord { seq: u32::MAX, barrier: MAX_BARRIERS - 1, status: DStatus::AbortS };
        assert_eq!(DescWord::decode(d.encode()).unwrap(), d);
        assert!(DescWord::decode(9).is_err());
        let p = Party { agent: 65535, epoch: EPOCH_MASK, guard: 200 };
        assert_eq!(Party::decode(p.encode()), Some(p));
        assert_eq!(Party::decode(0), None);
        let f = FeState { status: FeStatus::Resigned, owner: Some((65534, 0xffff)), group: 0xffff, gen: FE_GEN_MASK };
        assert_eq!(FeState::decode(f.encode()).unwrap(), f);
        assert!(FeState::decode(3).is_err());
        let h = Head { live: true, init: false, gen: HEAD_GEN_MASK, enrolled: 0xffff, version: u32::MAX };
        assert_eq!(Head::decode(h.encode()).unwrap(), h);
        let s = SlotState::new(POS_MASK, Some(65534), SlotFlag::Hole);
        assert_eq!(SlotState::decode(s.encode()), s);
        assert_eq!(decode_life(encode_life(Life::Busy, 7, 0)).unwrap(), (Life::Busy, 7));
    }
}
