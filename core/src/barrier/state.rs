//! The state word: its layout ([`State`]), break reasons, arrival tickets, and the error and
//! outcome types of the cell's transitions (see the module docs of `barrier` for the protocol).

#[cfg(doc)]
use super::BarrierCell; // for doc links

/// Most parties a barrier can have (14 bits of the state word).
pub const MAX_PARTIES: u32 = (1 << 14) - 1;

const FIELD_MASK: u64 = 0x3fff;
const ARRIVED_SHIFT: u32 = 14;
const MOP_PARITY: u64 = 1 << 28;
const TRIPPING: u64 = 1 << 29;
const BROKEN: u64 = 1 << 30;
const PREV_BROKEN: u64 = 1 << 31;
const GEN_SHIFT: u32 = 32;

/// Why a barrier is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakReason {
    /// `abort()` was called.
    Aborted,
    /// A non-member arrival timed out.
    TimedOut,
    /// The generation was cut short by `reset()`.
    Reset,
    /// A party's process died; the pid is for diagnostics.
    PeerDied(u32),
    /// The completion action of the last arrival failed.
    ActionFailed,
}

impl BreakReason {
    pub(crate) fn encode(self) -> u64 {
        match self {
            BreakReason::Aborted => 1,
            BreakReason::TimedOut => 2,
            BreakReason::Reset => 3,
            BreakReason::PeerDied(pid) => 4 | (u64::from(pid) << 32),
            BreakReason::ActionFailed => 5,
        }
    }
    pub(crate) fn decode(v: u64) -> BreakReason {
        // The info word is region data: anything unexpected decodes as a plain abort.
        match v & 0xff {
            2 => BreakReason::TimedOut,
            3 => BreakReason::Reset,
            4 => BreakReason::PeerDied((v >> 32) as u32),
            5 => BreakReason::ActionFailed,
            _ => BreakReason::Aborted,
        }
    }
}

/// Decoded view of a state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    pub parties: u32,
    pub arrived: u32,
    pub mop_parity: bool,
    pub tripping: bool,
    pub broken: bool,
    pub prev_broken: bool,
    pub generation: u32,
}

impl State {
    pub fn decode(w: u64) -> State {
        State {
            parties: (w & FIELD_MASK) as u32,
            arrived: ((w >> ARRIVED_SHIFT) & FIELD_MASK) as u32,
            mop_parity: w & MOP_PARITY != 0,
            tripping: w & TRIPPING != 0,
            broken: w & BROKEN != 0,
            prev_broken: w & PREV_BROKEN != 0,
            generation: (w >> GEN_SHIFT) as u32,
        }
    }
    pub fn encode(&self) -> u64 {
        let flag = |on: bool, bit: u64| if on { bit } else { 0 };
        (u64::from(self.parties) & FIELD_MASK)
            | ((u64::from(self.arrived) & FIELD_MASK) << ARRIVED_SHIFT)
            | flag(self.mop_parity, MOP_PARITY)
            | flag(self.tripping, TRIPPING)
            | flag(self.broken, BROKEN)
            | flag(self.prev_broken, PREV_BROKEN)
            | (u64::from(self.generation) << GEN_SHIFT)
    }

    /// The first state of the generation after this one (a release).
    pub(super) fn next_generation(&self, parties: u32) -> State {
        State {
            parties,
            arrived: 0,
            tripping: false,
            broken: false,
            prev_broken: false,
            generation: self.generation.wrapping_add(1),
            ..*self
        }
    }
}

/// A successful arrival: which generation, and the arrival index within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub generation: u32,
    pub index: u32,
    /// Whether this arrival released the generation (it was the last one).
    pub released: bool,
    /// Whether this arrival was the last and set TRIPPING: the caller runs its completion action
    /// and then calls [`BarrierCell::complete_trip`].
    pub tripping: bool,
    /// Parties of the generation when this arrival happened.
    pub parties: u32,
    /// MOP_PARITY as this arrival left it (for [`Ticket::next_hint`]).
    pub parity: bool,
}

impl Ticket {
    /// A ticket for waiting on `generation` without having arrived through this call (split-phase
    /// `await` with a ticket the caller kept).
    pub fn for_generation(generation: u32, parties: u32) -> Ticket {
        Ticket { generation, index: 0, released: false, tripping: false, parties, parity: false }
    }

    /// The state word this handle's next arrival most likely meets (for
    /// [`BarrierCell::arrive_hinted`]): the next generation with nobody arrived if this arrival
    /// ended the generation (the releaser leaves first and usually arrives first again), and
    /// with one party arrived otherwise (the releaser is ahead then; at N = 2 that is the very
    /// word a waiter meets, and its first CAS succeeds instead of failing once).
    pub fn next_hint(&self) -> u64 {
        let ahead = u32::from(!(self.released || self.tripping) && self.parties >= 2);
        State {
            parties: self.parties,
            arrived: ahead,
            mop_parity: self.parity,
            tripping: false,
            broken: false,
            prev_broken: false,
            generation: self.generation.wrapping_add(1),
        }
        .encode()
    }
}

/// How an arrival behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrive {
    /// A plain arrival; the last one releases.
    Plain,
    /// The last arrival sets TRIPPING instead of releasing (the caller has a completion action).
    WithAction,
    /// Arrive and leave: counts for this generation, `parties - 1` from the next one. With
    /// `action`, a drop that completes the generation trips like [`Arrive::WithAction`].
    Drop { action: bool },
}

/// How a wait ended without a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The generation was broken (abort, reset, a non-member timeout, a dead party).
    Broken(BreakReason),
    /// The caller's deadline passed; the arrival is still counted (see [`BarrierCell::cancel`]).
    TimedOut,
}

/// Errors of state changes that need a precondition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateError {
    /// The barrier is broken.
    Broken(BreakReason),
    /// Parties would exceed [`MAX_PARTIES`].
    TooManyParties,
    /// There are no parties (a membership barrier nobody enrolled in).
    NoParties,
    /// The previous generation is running its completion action: wait
    /// ([`BarrierCell::wait_trip`]) and arrive again.
    Tripping,
    /// The state word is inconsistent (another process wrote garbage).
    Corrupt,
}

/// Outcome of a timed-out arrival that was withdrawn (or had already completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The arrival was withdrawn before the generation ended.
    Withdrawn,
    /// The generation was released before the withdrawal could happen: the wait succeeded.
    Released,
    /// The generation had been broken.
    Broken(BreakReason),
    /// Every party arrived and the completion action is running: the generation is no longer
    /// the caller's to leave; wait for its end.
    Completing,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn state_roundtrip() {
        let s = State {
            parties: 7,
            arrived: 3,
            mop_parity: true,
            tripping: false,
            broken: true,
            prev_broken: false,
            generation: u32::MAX,
        };
        assert_eq!(State::decode(s.encode()), s);
        let s = State {
            parties: MAX_PARTIES,
            arrived: MAX_PARTIES - 1,
            mop_parity: false,
            tripping: true,
            broken: false,
            prev_broken: true,
            generation: 5,
        };
        assert_eq!(State::decode(s.encode()), s);
    }

    #[test]
    fn next_hint_expects_the_releaser_ahead_of_a_waiter() {
        let t = |released, parties| Ticket { released, parties, ..Ticket::for_generation(u32::MAX, parties) };
        let hint = |t: Ticket| State::decode(t.next_hint());
        // The releaser comes back first: nobody has arrived; a waiter comes back second.
        assert_eq!(hint(t(true, 2)).arrived, 0);
        assert_eq!(hint(t(false, 2)).arrived, 1);
        assert_eq!(hint(t(false, 5)).arrived, 1);
        assert_eq!(hint(Ticket { tripping: true, ..t(false, 3) }).arrived, 0, "the tripper leaves first too");
        assert_eq!(hint(t(true, 1)).arrived, 0);
        let h = hint(t(false, 2));
        assert_eq!(
            (h.generation, h.parties, h.broken, h.tripping),
            (0, 2, false, false),
            "the next generation, wrapped"
        );
    }
}
