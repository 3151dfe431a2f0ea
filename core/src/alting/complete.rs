//! Completion attempts (`try_complete`), claim waiting with stall-breaking, helping, and the
//! commit of a local guard (`resolve`). See the module docs of `alting` for the protocol.

use super::tables::{DescCell, MAX_FRONTENDS_PER_BARRIER};
use super::word::{DStatus, DescWord, FeState, FeStatus, Head, OfferWord, Party, Tag};
use super::{Alt, AltError};
use crate::sync::{fence, spin_hint, AtomicU64, Ordering::*};
use crate::wait::{notify_all, notify_sleepers};

/// Upper bound on iterations of loops whose progress depends on peers behaving (corruption guard).
pub(crate) const LOOP_CAP: u32 = 1 << 22;

/// State of one wait for somebody else's claim.
pub(crate) struct ClaimWait {
    spins: u32,
    /// When the wait reached `stall_spins` (read then, not at the start: most claim waits end
    /// within a few spins, and a clock read per claimed party was measurable in Goldsmith).
    start: Option<u64>,
}

/// How a claim attempt on one party ended.
enum ClaimEnd {
    Claimed,
    /// The party is definitively not offering (or re-offered: it carries the obligation).
    NotReady,
    /// Our own descriptor was aborted meanwhile.
    Aborted,
}

impl<'a> Alt<'a> {
    pub(crate) fn offer_of(&self, agent: u32) -> Result<&'a AtomicU64, AltError> {
        Ok(&self.t.agent(agent)?.offer.0)
    }

    fn desc_of(&self, agent: u32) -> Result<&'a DescCell, AltError> {
        Ok(&self.t.agent(agent)?.desc.0)
    }

    /// Bumps the eventcount of `agent` (after something it may wait for changed: a channel).
    pub(crate) fn wake_agent(&self, agent: u32) {
        if let Ok(a) = self.t.agent(agent) {
            notify_all(self.parker, &a.misc.0.wake);
        }
    }

    /// Wakes `agent` after a CAS of ours moved its offer word to DONE: the eventcount's fast form
    /// (one load of the wake word, no write, when nobody sleeps; see `wait/mod.rs`). Sound because a
    /// waiting agent's strong re-check before it sleeps is an RMW on that same offer word
    /// ([`Alt::own_done_with`]), and every write to a waiting agent's offer word by another
    /// agent is an RMW.
    fn wake_fired(&self, agent: u32) {
        if let Ok(a) = self.t.agent(agent) {
            notify_sleepers(self.parker, &a.misc.0.wake);
        }
    }

    fn bump_completions(&self, barrier: u32, ticket: u64) {
        if ticket == 0 {
            return;
        }
        if let Ok(b) = self.t.barrier(barrier) {
            let _ = b.stats.0.completions.compare_exchange(ticket - 1, ticket, AcqRel, Relaxed);
        }
    }

    /// Helps resolve `target`'s word, observed as `observed` = CLAIM(D): if D succeeded, finish it
    /// (bump the barrier's counter, DONE, wake); if it failed (or the claim is stale), release the
    /// word back to OFFER. Does nothing while D is undecided. `me` is the calling agent (not woken).
    pub(crate) fn help_finish(&self, target: u32, observed: u64, me: u32) -> Result<(), AltError> {
        let ow = OfferWord::decode(observed)?;
        let Tag::Claim { owner, seq } = ow.state else { return Ok(()) };
        let word = self.offer_of(target)?;
        let d = self.desc_of(owner)?;
        let s1 = d.status.load(Acquire);
        let dw = DescWord::decode(s1)?;
        let current = dw.seq as u16 == seq;
        if current && dw.status == DStatus::Undec {
            return Ok(());
        }
        if current && dw.status == DStatus::Succ {
            let list = self.t.party_list(owner)?;
            let len = (d.len.load(Relaxed) as usize).min(list.len());
            let found = list[..len]
                .iter()
                .filter_map(|c| Party::decode(c.0.load(Relaxed)))
                .find(|p| p.agent == target && p.epoch == ow.epoch);
            let ticket = d.ticket.load(Relaxed);
            fence(Acquire);
            if d.status.load(Relaxed) != s1 {
                return Ok(()); // the descriptor moved on; the caller re-reads the word
            }
            let p = found.ok_or(AltError::Corrupt)?;
            self.bump_completions(dw.barrier, ticket);
            let done = OfferWord::new(ow.epoch, Tag::Done { guard: p.guard, ticket: ticket as u32 }).encode();
            if word.compare_exchange(observed, done, AcqRel, Acquire).is_ok() && target != me {
                self.wake_fired(target);
            }
            return Ok(());
        }
        // Failed, or a stale claim (the descriptor moved past it: its owner died mid-release).
        let offer = OfferWord::new(ow.epoch, Tag::Offer).encode();
        let _ = word.compare_exchange(observed, offer, AcqRel, Acquire);
        Ok(())
    }

    fn pause(&self, spins: u32) {
        if spins < 8 {
            spin_hint();
        } else {
            crate::wait::backoff(self.parker);
        }
    }

    /// Waits until `target`'s word is no longer `observed` (a CLAIM by another attempt), helping
    /// and stall-breaking. Returns early (false) if `own` (our descriptor, expected word) changed.
    pub(crate) fn wait_claim(
        &self,
        target: u32,
        observed: u64,
        w: &mut ClaimWait,
        me: u32,
        own: Option<(&DescCell, u64)>,
    ) -> Result<bool, AltError> {
        let ow = OfferWord::decode(observed)?;
        let Tag::Claim { owner, seq } = ow.state else { return Ok(true) };
        let word = self.offer_of(target)?;
        let owner_cell = self.t.agent(owner)?;
        let d = &owner_cell.desc.0;
        for _ in 0..LOOP_CAP {
            if word.load(Acquire) != observed {
                return Ok(true);
            }
            if let Some((od, expect)) = own {
                if od.status.load(Acquire) != expect {
                    return Ok(false);
                }
            }
            let s = d.status.load(Acquire);
            let dw = DescWord::decode(s)?;
            if dw.seq as u16 != seq || dw.status != DStatus::Undec {
                self.help_finish(target, observed, me)?;
            } else {
                w.spins = w.spins.saturating_add(1);
                if w.spins >= self.policy.stall_spins {
                    let now = self.parker.now_ns();
                    let stalled = now.saturating_sub(*w.start.get_or_insert(now)) >= self.policy.stall_ns;
                    let dead = w.spins.is_multiple_of(64) && !self.env.is_alive(owner_cell.misc.0.token.load(Relaxed));
                    if stalled || dead {
                        let _ = d.status.compare_exchange(s, dw.with(DStatus::AbortS).encode(), AcqRel, Acquire);
                        continue;
                    }
                }
            }
            self.pause(w.spins);
        }
        Err(AltError::Corrupt)
    }

    pub(crate) fn claim_wait(&self) -> ClaimWait {
        ClaimWait { spins: 0, start: None }
    }

    /// Tries to complete barrier `b` as agent `me`. Returns whether this call fired it.
    pub(crate) fn try_complete(&self, me: u32, b: u32) -> Result<bool, AltError> {
        let bc = self.t.barrier(b)?;
        let k = self.t.fe_per_barrier;
        let d = self.desc_of(me)?;
        let list = self.t.party_list(me)?;
        let mut retries = 0u32;
        loop {
            // 1. Snapshot.
            let h0 = bc.head.0.word.load(Acquire);
            if !Head::decode(h0)?.live {
                return Ok(false);
            }
            let mut ps = [Party::default(); MAX_FRONTENDS_PER_BARRIER as usize];
            let mut n = 0usize;
            let high = bc.head.0.high.load(Acquire).min(k);
            for s in 0..high {
                let fe = self.t.frontend(b * k + s)?;
                let fs = FeState::decode(fe.state.load(Acquire))?;
                if fs.status != FeStatus::Enrolled {
                    continue;
                }
                let Some((o, _)) = fs.owner else { return Ok(false) };
                let ow = OfferWord::decode(self.offer_of(o)?.load(Acquire))?;
                if !ow.undecided() {
                    return Ok(false);
                }
                match Party::decode(fe.stamp.load(Acquire)) {
                    Some(p) if p.agent == o && p.epoch == ow.epoch => {
                        if ps[..n].iter().any(|q| q.agent == o) || n >= ps.len() {
                            return Ok(false);
                        }
                        ps[n] = p;
                        n += 1;
                    }
                    _ => return Ok(false),
                }
            }
            if n == 0 {
                return Ok(false);
            }
            let ps = &mut ps[..n];
            ps.sort_unstable_by_key(|p| p.agent);

            // 2. Open the descriptor (seqlock: PREP, entries, UNDEC).
            let seq = DescWord::decode(d.status.load(Relaxed))?.seq.wrapping_add(1);
            let undec = DescWord { seq, barrier: b, status: DStatus::Undec };
            d.status.store(undec.with(DStatus::Prep).encode(), Relaxed);
            fence(Release);
            for (cell, p) in list.iter().zip(ps.iter()) {
                cell.0.store(p.encode(), Relaxed);
            }
            d.len.store(n as u32, Relaxed);
            d.status.store(undec.encode(), Release);

            // 3. Claim in agent order.
            let mut end = ClaimEnd::Claimed;
            for p in ps.iter() {
                end = self.claim_one(me, p, seq as u16, d, undec.encode())?;
                if !matches!(end, ClaimEnd::Claimed) {
                    break;
                }
            }
            // 4. Validate membership; 5. decide.
            let mut fired = false;
            let mut retry = false;
            if matches!(end, ClaimEnd::Claimed) && bc.head.0.word.load(Acquire) == h0 {
                let c = bc.stats.0.completions.load(Acquire);
                d.ticket.store(c.wrapping_add(1), Relaxed);
                match d.status.compare_exchange(undec.encode(), undec.with(DStatus::Succ).encode(), AcqRel, Acquire) {
                    Ok(_) => fired = true,
                    Err(cur) => retry = DescWord::decode(cur)?.status == DStatus::AbortS,
                }
            } else {
                if let Err(cur) =
                    d.status.compare_exchange(undec.encode(), undec.with(DStatus::Fail).encode(), AcqRel, Acquire)
                {
                    retry = DescWord::decode(cur)?.status == DStatus::AbortS;
                }
                // A head change is not retried: a shrinking change runs try_complete itself, a growing
                // one makes B less ready.
                retry &= matches!(end, ClaimEnd::Aborted | ClaimEnd::Claimed);
            }
            // 6. Finalize or release.
            let ticket = d.ticket.load(Relaxed);
            if fired {
                self.bump_completions(b, ticket);
            }
            for p in ps.iter() {
                let word = self.offer_of(p.agent)?;
                let claim = OfferWord::new(p.epoch, Tag::Claim { owner: me, seq: seq as u16 }).encode();
                let next = if fired {
                    OfferWord::new(p.epoch, Tag::Done { guard: p.guard, ticket: ticket as u32 })
                } else {
                    OfferWord::new(p.epoch, Tag::Offer)
                };
                if word.compare_exchange(claim, next.encode(), AcqRel, Relaxed).is_ok() && fired && p.agent != me {
                    self.wake_fired(p.agent);
                }
            }
            if fired || !retry {
                return Ok(fired);
            }
            retries = retries.saturating_add(1);
            if retries > LOOP_CAP {
                return Err(AltError::Corrupt);
            }
            for _ in 0..retries.min(8) {
                crate::wait::backoff(self.parker);
            }
        }
    }

    fn claim_one(&self, me: u32, p: &Party, seq: u16, d: &DescCell, undec: u64) -> Result<ClaimEnd, AltError> {
        let word = self.offer_of(p.agent)?;
        let expect = OfferWord::new(p.epoch, Tag::Offer).encode();
        let claim = OfferWord::new(p.epoch, Tag::Claim { owner: me, seq }).encode();
        let mut w = self.claim_wait();
        for _ in 0..LOOP_CAP {
            match word.compare_exchange(expect, claim, AcqRel, Acquire) {
                Ok(_) => {
                    return Ok(if d.status.load(Acquire) == undec { ClaimEnd::Claimed } else { ClaimEnd::Aborted });
                }
                Err(cur) => {
                    let cw = OfferWord::decode(cur)?;
                    match cw.state {
                        Tag::Claim { owner, seq: s } if cw.epoch == p.epoch => {
                            if owner == me && s == seq {
                                return Err(AltError::Corrupt);
                            }
                            if !self.wait_claim(p.agent, cur, &mut w, me, Some((d, undec)))? {
                                return Ok(ClaimEnd::Aborted);
                            }
                        }
                        _ => return Ok(ClaimEnd::NotReady),
                    }
                }
            }
        }
        Err(AltError::Corrupt)
    }

    /// Commits agent `me`'s select of epoch `e` to local guard `g`, unless a barrier won the race.
    /// Returns the guard that fired.
    pub(crate) fn resolve(&self, me: u32, e: u32, g: u8) -> Result<u8, AltError> {
        let word = self.offer_of(me)?;
        let done = OfferWord::new(e, Tag::Done { guard: g, ticket: 0 }).encode();
        for _ in 0..LOOP_CAP {
            let w = word.load(Acquire);
            let ow = OfferWord::decode(w)?;
            if ow.epoch != e {
                return Err(AltError::Corrupt);
            }
            match ow.state {
                Tag::Offer => {
                    if word.compare_exchange(w, done, AcqRel, Acquire).is_ok() {
                        return Ok(g);
                    }
                }
                Tag::Done { guard, .. } => return Ok(guard),
                Tag::Claim { owner, seq } => {
                    let d = self.desc_of(owner)?;
                    let s = d.status.load(Acquire);
                    let dw = DescWord::decode(s)?;
                    let current = dw.seq as u16 == seq;
                    if current && dw.status == DStatus::Undec {
                        let _ = d.status.compare_exchange(s, dw.with(DStatus::AbortW).encode(), AcqRel, Acquire);
                    } else if current && dw.status == DStatus::Succ {
                        self.help_finish(me, w, me)?;
                    } else if word.compare_exchange(w, done, AcqRel, Acquire).is_ok() {
                        return Ok(g);
                    }
                }
                Tag::Dead => return Err(AltError::AgentDead),
                Tag::Idle => return Err(AltError::Corrupt),
            }
        }
        Err(AltError::Corrupt)
    }

    /// The guard agent `me`'s select of epoch `e` resolved to, if any (helping a decided claim).
    pub(crate) fn own_done(&self, me: u32, e: u32) -> Result<Option<u8>, AltError> {
        self.own_done_with(me, e, false)
    }

    /// [`Alt::own_done`]; with `strong`, the first read of the offer word is an RMW
    /// (`fetch_add(0)`), which always observes the latest value: the sleeper's side of
    /// [`Alt::wake_fired`].
    ///
    /// Helps a decided claim on our word at most twice, and always reads the word once more after
    /// helping: a help that finished the claim (DONE) is seen here, because the completer whose
    /// claim we finished does not wake us (its own finishing CAS fails), and a waiter that went to
    /// sleep after finishing its own word would sleep until its liveness timeout (found by the
    /// loom model `a_sleeping_agent_is_woken_by_the_completer`: two helps, the second succeeding,
    /// then `None`).
    pub(crate) fn own_done_with(&self, me: u32, e: u32, strong: bool) -> Result<Option<u8>, AltError> {
        let word = self.offer_of(me)?;
        for i in 0..3 {
            let w = if strong && i == 0 { word.fetch_add(0, AcqRel) } else { word.load(Acquire) };
            let ow = OfferWord::decode(w)?;
            if ow.epoch != e {
                return Err(AltError::Corrupt);
            }
            match ow.state {
                Tag::Done { guard, .. } => return Ok(Some(guard)),
                Tag::Claim { .. } if i == 2 => return Ok(None),
                Tag::Claim { .. } => self.help_finish(me, w, me)?,
                Tag::Dead => return Err(AltError::AgentDead),
                Tag::Offer => return Ok(None),
                Tag::Idle => return Err(AltError::Corrupt),
            }
        }
        Ok(None)
    }
}
