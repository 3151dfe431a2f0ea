//! Select (the Alternative): validation, the enable sequence, waiting, and the JCSP shortcuts
//! `sync` and `poll`.

use super::tables::{AgentCell, MAX_GUARDS};
use super::word::{next_epoch, DStatus, DescWord, FeState, FeStatus, Head, OfferWord, Party, Tag};
use super::{AgentId, Alt, AltError, FrontEnd, Guard, Misuse, SelectMode};
use crate::sync::{fence, Ordering::*};
use crate::wait::{wait_for, Peers, Poll, Sleepers, SLEEPERS};

/// Guard index recorded when a select is abandoned because of an error.
const ABANDONED: u8 = 0xff;

enum Wake {
    Fired(u8),
    Local(u8),
}

impl<'a> Alt<'a> {
    /// Runs one select of `agent` over `guards` (at most [`MAX_GUARDS`]) and returns the index of
    /// the guard that fired. Blocks until a guard fires (use a [`Guard::Timeout`] to bound it).
    ///
    /// Priorities follow `mode` (see [`SelectMode`]); among barrier guards they are inoperative.
    /// For a [`Guard::Input`] the value stays in the channel: read it with
    /// [`Alt::channel_try_read`] (it cannot be empty for the single reader).
    pub fn select(&self, agent: AgentId, guards: &[Guard], mode: SelectMode) -> Result<usize, AltError> {
        let n = guards.len();
        if n == 0 || n > MAX_GUARDS {
            return Err(AltError::InvalidArgument);
        }
        let cell = self.live_agent(agent)?;
        let me = agent.index;
        let mut bar = [u32::MAX; MAX_GUARDS];
        let mut parties = 1u32;
        for (i, g) in guards.iter().enumerate() {
            match *g {
                Guard::Barrier(fe) => {
                    let b = self.own_frontend(fe, agent)?;
                    if bar[..i].contains(&b) {
                        return Err(Misuse::DuplicateGuard.into());
                    }
                    bar[i] = b;
                    let h = Head::decode(self.t.barrier(b)?.head.0.word.load(Relaxed))?;
                    // The other parties of each barrier (we are one of its enrolled): an upper
                    // bound on the distinct agents this select may wait for, counting ourselves
                    // once (the waiting policy compares it with the CPUs and the runnable tasks).
                    parties = parties.saturating_add(h.enrolled.saturating_sub(1));
                }
                Guard::Input(ch) => {
                    self.channel_checked(ch)?;
                }
                Guard::Timeout(_) | Guard::Skip => {}
            }
        }
        let word = &cell.offer.0;
        let w0 = word.load(Acquire);
        let ow0 = OfferWord::decode(w0)?;
        match ow0.state {
            Tag::Dead => return Err(AltError::AgentDead),
            Tag::Offer | Tag::Claim { .. } => return Err(AltError::Corrupt),
            Tag::Idle | Tag::Done { .. } => {}
        }
        let start = match mode {
            SelectMode::Pri => 0,
            SelectMode::From(s) => s % n,
            SelectMode::Arbitrary => {
                let mut x = u64::from(ow0.epoch) ^ (u64::from(me) << 32) ^ 0x9e37_79b9_7f4a_7c15;
                x ^= x >> 33;
                x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
                x ^= x >> 33;
                (x % n as u64) as usize
            }
        };
        let e = next_epoch(ow0.epoch);
        if let Err(cur) = word.compare_exchange(w0, OfferWord::new(e, Tag::Offer).encode(), SeqCst, Acquire) {
            return Err(match OfferWord::decode(cur)?.state {
                Tag::Dead => AltError::AgentDead,
                _ => AltError::Corrupt,
            });
        }
        let has_input = guards.iter().any(|g| matches!(g, Guard::Input(_)));
        if has_input {
            for g in guards {
                if let Guard::Input(ch) = g {
                    self.register_reader(ch.index, me);
                }
            }
            fence(SeqCst);
        }
        let res = self.enable_and_wait(me, cell, e, guards, &bar, start, parties);
        if has_input {
            for g in guards {
                if let Guard::Input(ch) = g {
                    self.unregister_reader(ch.index, me);
                }
            }
        }
        match res {
            Ok(g) if (g as usize) < n => Ok(g as usize),
            Ok(_) => Err(AltError::Corrupt),
            Err(err) => {
                if err != AltError::AgentDead {
                    let _ = self.resolve(me, e, ABANDONED);
                }
                Err(err)
            }
        }
    }

    /// `select(agent, guards, SelectMode::Pri)`.
    pub fn pri_select(&self, agent: AgentId, guards: &[Guard]) -> Result<usize, AltError> {
        self.select(agent, guards, SelectMode::Pri)
    }

    #[allow(clippy::too_many_arguments)]
    fn enable_and_wait(
        &self,
        me: u32,
        cell: &AgentCell,
        e: u32,
        guards: &[Guard],
        bar: &[u32; MAX_GUARDS],
        start: usize,
        parties: u32,
    ) -> Result<u8, AltError> {
        let n = guards.len();
        // Enable sequence, in priority order (JCSP): the first ready local guard ends it.
        for k in 0..n {
            let g = (start + k) % n;
            let gi = g as u8;
            match guards[g] {
                Guard::Skip => return self.resolve(me, e, gi),
                Guard::Timeout(d) => {
                    if self.parker.now_ns() >= d {
                        return self.resolve(me, e, gi);
                    }
                }
                Guard::Input(ch) => {
                    if self.chan_ready(ch.index)? {
                        return self.resolve(me, e, gi);
                    }
                }
                Guard::Barrier(fe) => {
                    let stamp = Party { agent: me, epoch: e, guard: gi };
                    self.t.frontend(fe.index)?.stamp.store(stamp.encode(), Release);
                    fence(SeqCst);
                    self.try_complete(me, bar[g])?;
                    if let Some(x) = self.own_done(me, e)? {
                        return Ok(x);
                    }
                }
            }
        }
        // Wait for a barrier to fire, a channel to fill or the earliest deadline.
        let deadline = guards.iter().filter_map(|g| if let Guard::Timeout(d) = g { Some(*d) } else { None }).min();
        let has_input = guards.iter().any(|g| matches!(g, Guard::Input(_)));
        let mut last_claim = 0u64;
        let asleep = || self.parties_asleep(me, bar);
        let peers = Peers { parties, asleep: Sleepers::Probe(&asleep) };
        for _ in 0..super::complete::LOOP_CAP {
            let r = wait_for(
                self.parker,
                &self.policy.wait,
                &cell.misc.0.wake,
                peers,
                deadline,
                None,
                |strong| match self.wait_check(me, e, guards, start, has_input, strong) {
                    Ok(None) => Poll::Pending,
                    Ok(Some(x)) => Poll::Ready(Ok(x)),
                    Err(err) => Poll::Ready(Err(err)),
                },
                || self.wait_idle(me, &mut last_claim),
            );
            match r {
                Ok(Ok(Wake::Fired(g))) => return Ok(g),
                Ok(Ok(Wake::Local(g))) => return self.resolve(me, e, g),
                Ok(Err(err)) => return Err(err),
                Err(()) => {
                    if let Some(g) = self.ready_local(guards, start, self.parker.now_ns())? {
                        return self.resolve(me, e, g);
                    }
                }
            }
        }
        Err(AltError::Corrupt)
    }

    fn wait_check(
        &self,
        me: u32,
        e: u32,
        guards: &[Guard],
        start: usize,
        inputs: bool,
        strong: bool,
    ) -> Result<Option<Wake>, AltError> {
        if let Some(g) = self.own_done_with(me, e, strong)? {
            return Ok(Some(Wake::Fired(g)));
        }
        if inputs {
            for g in guards {
                if let Guard::Input(ch) = g {
                    if self.chan_ready(ch.index)? {
                        // Some local guard is ready: take the highest-priority one.
                        return Ok(self.ready_local(guards, start, self.parker.now_ns())?.map(Wake::Local));
                    }
                }
            }
        }
        Ok(None)
    }

    /// How many of the other parties of the barriers in `bar` are asleep in the kernel (their
    /// eventcount's sleeper bit is set), counted per barrier as [`Alt::select`] counts the
    /// parties. A heuristic for the waiting policy only (see [`Sleepers`]): a corrupt entry
    /// counts nobody, and the scan stays within the barrier's front-end slots.
    fn parties_asleep(&self, me: u32, bar: &[u32; MAX_GUARDS]) -> u32 {
        let k = self.t.fe_per_barrier;
        let mut n = 0u32;
        for &b in bar.iter().filter(|&&b| b != u32::MAX) {
            let Ok(bc) = self.t.barrier(b) else { continue };
            let high = bc.head.0.high.load(Relaxed).min(k);
            for s in 0..high {
                let Some(fe) = b.checked_mul(k).and_then(|i| i.checked_add(s)) else { break };
                let Ok(cell) = self.t.frontend(fe) else { break };
                let Ok(fs) = FeState::decode(cell.state.load(Relaxed)) else { continue };
                if fs.status != FeStatus::Enrolled {
                    continue;
                }
                let Some((owner, _)) = fs.owner else { continue };
                if owner == me {
                    continue;
                }
                if self.t.agent(owner).is_ok_and(|a| a.misc.0.wake.load(Relaxed) & SLEEPERS != 0) {
                    n = n.saturating_add(1);
                }
            }
        }
        n
    }

    /// The highest-priority ready local guard (skip, expired timeout, readable channel).
    fn ready_local(&self, guards: &[Guard], start: usize, now: u64) -> Result<Option<u8>, AltError> {
        let n = guards.len();
        for k in 0..n {
            let g = (start + k) % n;
            let ready = match guards[g] {
                Guard::Skip => true,
                Guard::Timeout(d) => now >= d,
                Guard::Input(ch) => self.chan_ready(ch.index)?,
                Guard::Barrier(_) => false,
            };
            if ready {
                return Ok(Some(g as u8));
            }
        }
        Ok(None)
    }

    /// Periodic work of a waiting agent: break a claim on our word that has not moved since the
    /// last call (its completer is stopped or dead), then the environment's hook.
    fn wait_idle(&self, me: u32, last_claim: &mut u64) {
        if let Ok(word) = self.offer_of(me) {
            let w = word.load(Acquire);
            if let Ok(OfferWord { state: Tag::Claim { owner, seq }, .. }) = OfferWord::decode(w) {
                if *last_claim == w {
                    if let Ok(a) = self.t.agent(owner) {
                        let s = a.desc.0.status.load(Acquire);
                        if let Ok(dw) = DescWord::decode(s) {
                            if dw.seq as u16 == seq && dw.status == DStatus::Undec {
                                let _ = a.desc.0.status.compare_exchange(
                                    s,
                                    dw.with(DStatus::AbortS).encode(),
                                    AcqRel,
                                    Acquire,
                                );
                            }
                        }
                    }
                }
                *last_claim = w;
            } else {
                *last_claim = 0;
            }
        }
        self.env.on_idle(me);
    }

    /// Committed synchronisation on one front-end (JCSP `sync`).
    pub fn sync(&self, agent: AgentId, fe: FrontEnd) -> Result<(), AltError> {
        self.select(agent, &[Guard::Barrier(fe)], SelectMode::Pri).map(|_| ())
    }

    /// Offers `fe` for `offer_ns` nanoseconds (JCSP `poll`): true iff the barrier fired. With 0 it
    /// fires only if every other party is already offering.
    pub fn poll(&self, agent: AgentId, fe: FrontEnd, offer_ns: u64) -> Result<bool, AltError> {
        let deadline = self.parker.now_ns().saturating_add(offer_ns);
        let i = self.select(agent, &[Guard::Barrier(fe), Guard::Timeout(deadline)], SelectMode::Pri)?;
        Ok(i == 0)
    }

    /// Completion number (low 24 bits) of the barrier that fired in `agent`'s last select, or
    /// `None` if that select resolved to a non-barrier guard. Both parties of a completion see the
    /// same number, and a barrier's numbers are consecutive from 1.
    pub fn last_ticket(&self, agent: AgentId) -> Result<Option<u32>, AltError> {
        let cell = self.live_agent(agent)?;
        match OfferWord::decode(cell.offer.0.load(Acquire))?.state {
            Tag::Done { ticket, .. } if ticket != 0 => Ok(Some(ticket)),
            _ => Ok(None),
        }
    }
}

/// A reusable Alternative of one agent over a fixed guard list, with JCSP's fairness state.
pub struct Alternative {
    agent: AgentId,
    guards: Vec<Guard>,
    favourite: usize,
}

impl Alternative {
    /// An Alternative of `agent` over `guards`.
    pub fn new(agent: AgentId, guards: Vec<Guard>) -> Alternative {
        Alternative { agent, guards, favourite: 0 }
    }

    /// The guards (e.g. to update a timeout's deadline between selects).
    pub fn guards_mut(&mut self) -> &mut Vec<Guard> {
        &mut self.guards
    }

    /// Guard-order priority (barrier guards mutually unordered).
    pub fn pri_select(&mut self, alt: &Alt<'_>) -> Result<usize, AltError> {
        alt.select(self.agent, &self.guards, SelectMode::Pri)
    }

    /// Rotating priority: the guard serviced last gets the lowest priority next time.
    pub fn fair_select(&mut self, alt: &Alt<'_>) -> Result<usize, AltError> {
        let i = alt.select(self.agent, &self.guards, SelectMode::From(self.favourite))?;
        self.favourite = (i + 1) % self.guards.len().max(1);
        Ok(i)
    }

    /// Arbitrary (pseudo-random start) choice.
    pub fn select(&mut self, alt: &Alt<'_>) -> Result<usize, AltError> {
        alt.select(self.agent, &self.guards, SelectMode::Arbitrary)
    }
}
