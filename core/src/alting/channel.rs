//! Channels of u64 values: a bounded ring with one-to-one or any-to-one writers, optionally
//! overwriting the oldest value when full, usable as a select input guard.
//!
//! ## Ring
//! Positions are u64 counters; position `p` lives in slot `p % cap`. Each slot's state word
//! (`word::SlotState` = `pos | writer | flag`) is authoritative; `head`/`tail` are hints that anyone
//! advances (helping). A writer reserves `FREE(t) → RESERVED(t, me)` by CAS, helps `tail` to
//! `t + 1`, stores the value, then publishes `FULL(t)` (Release). A reader consumes
//! `FULL(h) → FREE(h + cap)` by CAS (the value was loaded before; the CAS proves no writer of the
//! next lap has touched it) and helps `head`. Overwrite mode drops the oldest value with the same
//! consuming CAS. A writer that dies between reserve and publish leaves `RESERVED(t, dead)`:
//! `cleanup_agent` turns it into `HOLE(t)`, which readers skip. No step waits for a lock.
//!
//! ## As a guard
//! A selecting reader registers itself in `reader`, then `fence(SeqCst)`, then checks the ring; a
//! writer publishes, `fence(SeqCst)`, then reads `reader` and bumps that agent's eventcount (the
//! Dekker pattern: one of them sees the other). The reader then commits its select to the input
//! guard through its offer word like any local guard, so a channel racing a barrier completion
//! resolves one way for every party.

use super::complete::LOOP_CAP;
use super::tables::{ChanSlotCell, ChannelCell};
use super::word::{decode_life, encode_life, Life, SlotFlag, SlotState};
use super::{AgentId, Alt, AltError, ChannelId, Misuse};
use crate::sync::{fence, Ordering::*};
use crate::wait::{notify_all, wait_until, Poll};

pub(crate) const OVERWRITE: u64 = 1 << 2;
pub(crate) const ONE_TO_ONE: u64 = 1 << 3;

/// How a channel behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Ring capacity (1..=slots per channel).
    pub capacity: u32,
    /// When full, a write drops the oldest value instead of blocking (JCSP `OverWriteOldestBuffer`).
    pub overwrite: bool,
    /// Only one writer agent (the first to write; taken over when it dies or unregisters).
    pub one_to_one: bool,
}

/// Detects a ring position that stays inconsistent: the hint (`head`/`tail`) and the slot's state
/// word both unchanged while they disagree. Honest peers only produce a disagreement with a stale
/// hint, which moves on at once; an unchanged pair seen [`Stuck::LIMIT`] times in a row was
/// written by no correct peer (a corrupt region), so the operation fails with `Corrupt` within
/// microseconds instead of spinning out the full loop cap.
#[derive(Default)]
struct Stuck {
    last: Option<(u64, u64)>,
    count: u32,
}

impl Stuck {
    const LIMIT: u32 = 1024;

    fn check(&mut self, hint: u64, raw: u64) -> Result<(), AltError> {
        if self.last == Some((hint, raw)) {
            self.count += 1;
            if self.count >= Self::LIMIT {
                return Err(AltError::Corrupt);
            }
        } else {
            self.last = Some((hint, raw));
            self.count = 0;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Cfg {
    cap: u64,
    overwrite: bool,
    one_to_one: bool,
}

impl<'a> Alt<'a> {
    /// Creates a channel.
    pub fn channel_create(&self, cfg: ChannelConfig) -> Result<ChannelId, AltError> {
        if cfg.capacity == 0 || cfg.capacity > self.t.slots_per_channel {
            return Err(AltError::InvalidArgument);
        }
        let extra = (u64::from(cfg.capacity) << 8)
            | if cfg.overwrite { OVERWRITE } else { 0 }
            | if cfg.one_to_one { ONE_TO_ONE } else { 0 };
        for (i, c) in self.t.channels.iter().enumerate() {
            let raw = c.meta.0.state.load(Acquire);
            let Ok((Life::Free, gen)) = decode_life(raw) else { continue };
            let gen = gen.wrapping_add(1);
            if c.meta.0.state.compare_exchange(raw, encode_life(Life::Busy, gen, 0), AcqRel, Relaxed).is_err() {
                continue;
            }
            let ring = self.t.ring(i as u32)?;
            for (p, slot) in ring.iter().enumerate().take(cfg.capacity as usize) {
                slot.value.store(0, Relaxed);
                slot.state.store(SlotState::new(p as u64, None, SlotFlag::Free).encode(), Relaxed);
            }
            c.head.0.store(0, Relaxed);
            c.tail.0.store(0, Relaxed);
            c.meta.0.reader.store(0, Relaxed);
            c.meta.0.writer.store(0, Relaxed);
            c.meta.0.state.store(encode_life(Life::Live, gen, extra), Release);
            return Ok(ChannelId { index: i as u32, gen });
        }
        Err(AltError::Capacity)
    }

    /// Destroys a channel (its handles become stale).
    pub fn channel_destroy(&self, ch: ChannelId) -> Result<(), AltError> {
        let (c, _) = self.channel_checked(ch)?;
        let raw = c.meta.0.state.load(Acquire);
        c.meta
            .0
            .state
            .compare_exchange(raw, encode_life(Life::Free, ch.gen, 0), AcqRel, Relaxed)
            .map_err(|_| Misuse::Stale)?;
        notify_all(self.parker, &c.seqs.0.data);
        notify_all(self.parker, &c.seqs.0.space);
        Ok(())
    }

    fn cfg_of(raw: u64) -> Result<Option<(Cfg, u32)>, AltError> {
        let (l, gen) = decode_life(raw)?;
        if l != Life::Live {
            return Ok(None);
        }
        let cap = (raw >> 8) & 0xffff;
        if cap == 0 {
            return Err(AltError::Corrupt);
        }
        Ok(Some((Cfg { cap, overwrite: raw & OVERWRITE != 0, one_to_one: raw & ONE_TO_ONE != 0 }, gen)))
    }

    pub(crate) fn channel_checked(&self, ch: ChannelId) -> Result<(&'a ChannelCell, Cfg), AltError> {
        let c = self.t.channels.get(ch.index as usize).ok_or(AltError::InvalidArgument)?;
        match Self::cfg_of(c.meta.0.state.load(Acquire))? {
            Some((cfg, gen)) if gen == ch.gen && cfg.cap <= u64::from(self.t.slots_per_channel) => Ok((c, cfg)),
            _ => Err(Misuse::Stale.into()),
        }
    }

    fn channel_at(&self, index: u32) -> Result<(&'a ChannelCell, &'a [ChanSlotCell], Cfg), AltError> {
        let c = self.t.channel(index)?;
        let (cfg, _) = Self::cfg_of(c.meta.0.state.load(Acquire))?.ok_or(Misuse::Stale)?;
        let ring = self.t.ring(index)?;
        if cfg.cap > ring.len() as u64 {
            return Err(AltError::Corrupt);
        }
        Ok((c, ring, cfg))
    }

    /// Consumes (or with `peek`, only looks for) the oldest value.
    fn ring_pop(&self, c: &ChannelCell, ring: &[ChanSlotCell], cap: u64, peek: bool) -> Result<Option<u64>, AltError> {
        let mut stuck = Stuck::default();
        for _ in 0..LOOP_CAP {
            let h = c.head.0.load(Acquire);
            let slot = &ring[(h % cap) as usize];
            let raw = slot.state.load(Acquire);
            let s = SlotState::decode(raw);
            if s.at(h) {
                match s.flag {
                    SlotFlag::Full => {
                        let v = slot.value.load(Relaxed);
                        if peek {
                            return Ok(Some(v));
                        }
                        let free = SlotState::new(h.wrapping_add(cap), None, SlotFlag::Free).encode();
                        if slot.state.compare_exchange(raw, free, AcqRel, Acquire).is_ok() {
                            let _ = c.head.0.compare_exchange(h, h.wrapping_add(1), AcqRel, Relaxed);
                            notify_all(self.parker, &c.seqs.0.space);
                            return Ok(Some(v));
                        }
                    }
                    SlotFlag::Hole => {
                        let free = SlotState::new(h.wrapping_add(cap), None, SlotFlag::Free).encode();
                        if slot.state.compare_exchange(raw, free, AcqRel, Acquire).is_ok() {
                            let _ = c.head.0.compare_exchange(h, h.wrapping_add(1), AcqRel, Relaxed);
                        }
                    }
                    SlotFlag::Free | SlotFlag::Reserved => return Ok(None),
                }
            } else if s.at(h.wrapping_add(cap)) {
                let _ = c.head.0.compare_exchange(h, h.wrapping_add(1), AcqRel, Relaxed);
            } else {
                stuck.check(h, raw)?;
            }
        }
        Err(AltError::Corrupt)
    }

    /// Appends `v`; `Ok(false)` when full (never in overwrite mode).
    fn ring_push(&self, c: &ChannelCell, ring: &[ChanSlotCell], cfg: Cfg, me: u32, v: u64) -> Result<bool, AltError> {
        let cap = cfg.cap;
        let mut stuck = Stuck::default();
        for i in 0..LOOP_CAP {
            let t = c.tail.0.load(Acquire);
            let slot = &ring[(t % cap) as usize];
            let raw = slot.state.load(Acquire);
            let s = SlotState::decode(raw);
            if s.at(t) {
                if s.flag == SlotFlag::Free {
                    let reserved = SlotState::new(t, Some(me), SlotFlag::Reserved).encode();
                    if slot.state.compare_exchange(raw, reserved, AcqRel, Acquire).is_ok() {
                        let _ = c.tail.0.compare_exchange(t, t.wrapping_add(1), AcqRel, Relaxed);
                        slot.value.store(v, Relaxed);
                        slot.state.store(SlotState::new(t, None, SlotFlag::Full).encode(), Release);
                        return Ok(true);
                    }
                } else {
                    let _ = c.tail.0.compare_exchange(t, t.wrapping_add(1), AcqRel, Relaxed);
                }
            } else if t >= cap && s.at(t - cap) {
                match s.flag {
                    SlotFlag::Full | SlotFlag::Hole if cfg.overwrite => {
                        let free = SlotState::new(t, None, SlotFlag::Free).encode();
                        if slot.state.compare_exchange(raw, free, AcqRel, Acquire).is_ok() {
                            let _ = c.head.0.compare_exchange(t - cap, t - cap + 1, AcqRel, Relaxed);
                        }
                    }
                    SlotFlag::Reserved if cfg.overwrite => self.parker.yield_now(),
                    SlotFlag::Free => stuck.check(t, raw)?,
                    _ => return Ok(false),
                }
            } else if s.at(t.wrapping_add(cap)) {
                // Position t was already written and consumed: the tail hint lags (a writer died
                // between its reserve and its tail update, and the reader took the hole it left).
                // Help the hint on, as readers do with `head`.
                let _ = c.tail.0.compare_exchange(t, t.wrapping_add(1), AcqRel, Relaxed);
            } else {
                stuck.check(t, raw)?;
                if i % 64 == 63 {
                    self.parker.yield_now();
                }
            }
        }
        Err(AltError::Corrupt)
    }

    fn bind_writer(&self, c: &ChannelCell, w: AgentId) -> Result<(), AltError> {
        let me = (u64::from(w.index) + 1) | (u64::from(w.gen) << 32);
        let cur = c.meta.0.writer.load(Acquire);
        if cur == me {
            return Ok(());
        }
        if cur != 0 {
            let (idx, gen) = ((cur as u32).wrapping_sub(1), (cur >> 32) as u32);
            let alive = self.t.agents.get(idx as usize).is_some_and(|a| {
                decode_life(a.misc.0.life.load(Acquire)).is_ok_and(|l| l == (Life::Live, gen))
                    && self.env.is_alive(a.misc.0.token.load(Relaxed))
            });
            if alive {
                return Err(Misuse::NotOwner.into());
            }
        }
        c.meta.0.writer.compare_exchange(cur, me, AcqRel, Relaxed).map(|_| ()).map_err(|_| Misuse::NotOwner.into())
    }

    /// Writes `v` unless the channel is full (`Ok(false)`); overwrite channels never are.
    pub fn channel_try_write(&self, ch: ChannelId, writer: AgentId, v: u64) -> Result<bool, AltError> {
        self.live_agent(writer)?;
        let (c, cfg) = self.channel_checked(ch)?;
        if cfg.one_to_one {
            self.bind_writer(c, writer)?;
        }
        let ring = self.t.ring(ch.index)?;
        if !self.ring_push(c, ring, cfg, writer.index, v)? {
            return Ok(false);
        }
        notify_all(self.parker, &c.seqs.0.data);
        fence(SeqCst);
        let r = c.meta.0.reader.load(Relaxed);
        if r != 0 {
            self.wake_agent((r - 1) as u32);
        }
        Ok(true)
    }

    /// Writes `v`, waiting while the channel is full, until `deadline_ns` (`Err(TimedOut)`).
    pub fn channel_write(
        &self,
        ch: ChannelId,
        writer: AgentId,
        v: u64,
        deadline_ns: Option<u64>,
    ) -> Result<(), AltError> {
        let (c, _) = self.channel_checked(ch)?;
        let r = wait_until(
            self.parker,
            &self.policy.wait,
            &c.seqs.0.space,
            2,
            deadline_ns,
            || match self.channel_try_write(ch, writer, v) {
                Ok(true) => Poll::Ready(Ok(())),
                Ok(false) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            || self.env.on_idle(writer.index),
        );
        r.unwrap_or(Err(AltError::TimedOut))
    }

    /// Takes the oldest value, if any.
    pub fn channel_try_read(&self, ch: ChannelId) -> Result<Option<u64>, AltError> {
        let (c, cfg) = self.channel_checked(ch)?;
        let ring = self.t.ring(ch.index)?;
        self.ring_pop(c, ring, cfg.cap, false)
    }

    /// Takes the oldest value, waiting until one arrives or `deadline_ns` passes (`Err(TimedOut)`).
    pub fn channel_read(&self, ch: ChannelId, deadline_ns: Option<u64>) -> Result<u64, AltError> {
        let (c, _) = self.channel_checked(ch)?;
        let r = wait_until(
            self.parker,
            &self.policy.wait,
            &c.seqs.0.data,
            2,
            deadline_ns,
            || match self.channel_try_read(ch) {
                Ok(Some(v)) => Poll::Ready(Ok(v)),
                Ok(None) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            || {},
        );
        r.unwrap_or(Err(AltError::TimedOut))
    }

    /// Whether a value is waiting (JCSP `pending`).
    pub fn channel_pending(&self, ch: ChannelId) -> Result<bool, AltError> {
        self.channel_checked(ch)?;
        self.chan_ready(ch.index)
    }

    pub(crate) fn chan_ready(&self, index: u32) -> Result<bool, AltError> {
        let (c, ring, cfg) = self.channel_at(index)?;
        Ok(self.ring_pop(c, ring, cfg.cap, true)?.is_some())
    }

    pub(crate) fn register_reader(&self, index: u32, me: u32) {
        if let Ok(c) = self.t.channel(index) {
            c.meta.0.reader.store(u64::from(me) + 1, SeqCst);
        }
    }

    pub(crate) fn unregister_reader(&self, index: u32, me: u32) {
        if let Ok(c) = self.t.channel(index) {
            let _ = c.meta.0.reader.compare_exchange(u64::from(me) + 1, 0, AcqRel, Relaxed);
        }
    }

    /// Cleanup of a dead agent's channel state: turns its reserved slots into holes and drops its
    /// reader registration and writer binding. Returns the number of holes made.
    pub(crate) fn channels_cleanup(&self, dead: u32) -> u32 {
        let mut holes = 0;
        for (i, c) in self.t.channels.iter().enumerate() {
            let Ok(Some((cfg, _))) = Self::cfg_of(c.meta.0.state.load(Acquire)) else { continue };
            let Ok(ring) = self.t.ring(i as u32) else { continue };
            for slot in ring.iter().take(cfg.cap as usize) {
                let raw = slot.state.load(Acquire);
                let s = SlotState::decode(raw);
                if s.flag == SlotFlag::Reserved && s.writer == Some(dead) {
                    let hole = SlotState::new(s.pos, None, SlotFlag::Hole).encode();
                    if slot.state.compare_exchange(raw, hole, AcqRel, Relaxed).is_ok() {
                        holes += 1;
                    }
                }
            }
            let _ = c.meta.0.reader.compare_exchange(u64::from(dead) + 1, 0, AcqRel, Relaxed);
            let w = c.meta.0.writer.load(Acquire);
            if w != 0 && (w as u32).wrapping_sub(1) == dead {
                let _ = c.meta.0.writer.compare_exchange(w, 0, AcqRel, Relaxed);
            }
            if holes > 0 {
                notify_all(self.parker, &c.seqs.0.data);
            }
        }
        holes
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::{AltCapacities, AltPolicy, HeapAlting, InProcess};
    use super::*;
    use crate::sync::AtomicU32;
    use crate::wait::Parker;

    /// A parker that only yields (the test never blocks).
    struct Spin;
    impl Parker for Spin {
        fn park(&self, _: &AtomicU32, _: u32, _: Option<u64>) {
            std::thread::yield_now();
        }
        fn unpark_all(&self, _: &AtomicU32) {}
        fn now_ns(&self) -> u64 {
            0
        }
        fn yield_now(&self) {
            std::thread::yield_now();
        }
        fn cpus(&self) -> u32 {
            1
        }
    }

    /// Regression (found by `scripts/soak-alting.sh`): a one-to-one writer killed between its
    /// reserve CAS and its tail update leaves `tail` one behind; once the reader has taken the
    /// hole, the slot is FREE one lap ahead of the hint. The next writer must help the hint on;
    /// it used to fail with `Corrupt` (after spinning out the loop cap).
    #[test]
    fn writer_helps_a_lagging_tail_hint() {
        let caps =
            AltCapacities { agents: 4, barriers: 1, frontends_per_barrier: 2, channels: 1, slots_per_channel: 4 };
        let heap = HeapAlting::new(caps).unwrap();
        let alt = Alt::new(heap.tables(), &Spin, &InProcess, AltPolicy::default());
        let w = alt.register_agent(1).unwrap();
        for one_to_one in [false, true] {
            let ch = alt.channel_create(ChannelConfig { capacity: 4, overwrite: false, one_to_one }).unwrap();
            assert_eq!(alt.channel_try_write(ch, w, 1), Ok(true));
            assert_eq!(alt.channel_try_read(ch), Ok(Some(1)));
            // The state a killed writer leaves once its hole was consumed: tail back at 0 while
            // slot 0 is FREE(4).
            let (c, _) = alt.channel_checked(ch).unwrap();
            c.tail.0.store(0, Relaxed);
            assert_eq!(alt.channel_try_write(ch, w, 2), Ok(true));
            assert_eq!(alt.channel_try_read(ch), Ok(Some(2)));
            for v in 3..12 {
                assert_eq!(alt.channel_try_write(ch, w, v), Ok(true));
                assert_eq!(alt.channel_try_read(ch), Ok(Some(v)));
            }
            alt.channel_destroy(ch).unwrap();
        }
    }

    /// A ring position that stays inconsistent (no correct peer writes it) fails fast.
    #[test]
    fn persistently_inconsistent_slot_is_corrupt() {
        let caps =
            AltCapacities { agents: 4, barriers: 1, frontends_per_barrier: 2, channels: 1, slots_per_channel: 4 };
        let heap = HeapAlting::new(caps).unwrap();
        let alt = Alt::new(heap.tables(), &Spin, &InProcess, AltPolicy::default());
        let w = alt.register_agent(1).unwrap();
        let ch = alt.channel_create(ChannelConfig { capacity: 4, overwrite: false, one_to_one: false }).unwrap();
        let (c, _) = alt.channel_checked(ch).unwrap();
        c.head.0.store(1000, Relaxed);
        c.tail.0.store(1000, Relaxed);
        assert_eq!(alt.channel_try_read(ch), Err(AltError::Corrupt));
        assert_eq!(alt.channel_try_write(ch, w, 1), Err(AltError::Corrupt));
    }
}
