//! Crash handling: cleaning up the agent slot of a dead process.
//!
//! Every step is a CAS from an observed value, so cleanup is idempotent and may run in several
//! cleaners at once, or again after a cleaner died half-way (the slot stays BUSY until the end).

use super::complete::LOOP_CAP;
use super::word::{decode_life, encode_life, DStatus, DescWord, FeState, FeStatus, Life, OfferWord, Party, Tag};
use super::{AgentId, Alt, AltError, CleanupReport, DeathPolicy};
use crate::sync::{fence, Ordering::*};

impl<'a> Alt<'a> {
    /// Cleans up agent slot `dead`, whose process (identified by `owner_token`, as registered) is
    /// dead, on behalf of the live agent `cleaner` (whose descriptor runs the completion attempts
    /// that the cleanup may enable). Steps:
    /// 1. mark the slot BUSY (new selects by the dead agent fail with `AgentDead`);
    /// 2. its descriptor: abort an undecided attempt (ABRT_S) and release its claims, or finish a
    ///    decided one (finalize every party, wake them);
    /// 3. its offer word → DEAD (aborting or finishing a claim held on it);
    /// 4. channels: its half-written slots become holes, its reader/writer registrations go;
    /// 5. its front-ends: per `policy`, left enrolled and unowned (JCSP) or resigned;
    /// 6. re-run `try_complete` for barriers the cleanup may have made ready;
    /// 7. free the slot.
    ///
    /// Returns `cleaned: false` if the slot is free or registered with another token.
    pub fn cleanup_agent(
        &self,
        dead: u32,
        owner_token: u64,
        cleaner: AgentId,
        policy: DeathPolicy,
    ) -> Result<CleanupReport, AltError> {
        let cell = self.t.agents.get(dead as usize).ok_or(AltError::InvalidArgument)?;
        self.live_agent(cleaner)?;
        if cleaner.index == dead {
            return Err(AltError::InvalidArgument);
        }
        let mut report = CleanupReport::default();
        let life = &cell.misc.0.life;
        let raw = life.load(Acquire);
        let (l, gen) = decode_life(raw)?;
        if l == Life::Free || cell.misc.0.token.load(Relaxed) != owner_token {
            return Ok(report);
        }
        if l == Life::Live && life.compare_exchange(raw, encode_life(Life::Busy, gen, 0), AcqRel, Acquire).is_err() {
            return Ok(report); // it just unregistered, or another cleaner took it: nothing to do here
        }
        let mut pending: Vec<u32> = Vec::new();

        // 2. The dead agent's own completion attempt.
        let d = &cell.desc.0;
        let s = d.status.load(Acquire);
        let dw = DescWord::decode(s)?;
        if dw.status == DStatus::Undec
            && d.status.compare_exchange(s, dw.with(DStatus::AbortS).encode(), AcqRel, Acquire).is_ok()
        {
            report.aborted_attempt = true;
        }
        let dw = DescWord::decode(d.status.load(Acquire))?;
        if dw.status != DStatus::Prep {
            let list = self.t.party_list(dead)?;
            let len = (d.len.load(Relaxed) as usize).min(list.len());
            for c in &list[..len] {
                let Some(p) = Party::decode(c.0.load(Relaxed)) else { continue };
                let Ok(word) = self.offer_of(p.agent) else { continue };
                let claim = OfferWord::new(p.epoch, Tag::Claim { owner: dead, seq: dw.seq as u16 }).encode();
                if word.load(Acquire) == claim {
                    self.help_finish(p.agent, claim, cleaner.index)?;
                    report.finished_attempt |= dw.status == DStatus::Succ;
                }
            }
            if dw.status.failed() {
                pending.push(dw.barrier);
            }
        }

        // 3. Offer word → DEAD.
        let word = &cell.offer.0;
        for _ in 0..LOOP_CAP {
            let w = word.load(Acquire);
            let Ok(ow) = OfferWord::decode(w) else {
                word.store(OfferWord::new(0, Tag::Dead).encode(), Release);
                break;
            };
            let dead_word = OfferWord::new(ow.epoch, Tag::Dead).encode();
            match ow.state {
                Tag::Dead => break,
                Tag::Claim { owner, seq } => {
                    let od = &self.t.agent(owner)?.desc.0;
                    let s = od.status.load(Acquire);
                    let dw = DescWord::decode(s)?;
                    if dw.seq as u16 == seq && dw.status == DStatus::Undec {
                        let _ = od.status.compare_exchange(s, dw.with(DStatus::AbortW).encode(), AcqRel, Acquire);
                    } else if dw.seq as u16 == seq && dw.status == DStatus::Succ {
                        self.help_finish(dead, w, cleaner.index)?; // it took part before dying
                    } else if word.compare_exchange(w, dead_word, AcqRel, Acquire).is_ok() {
                        break;
                    }
                }
                _ => {
                    if word.compare_exchange(w, dead_word, AcqRel, Acquire).is_ok() {
                        break;
                    }
                }
            }
        }

        // 4. Channels.
        report.holes = self.channels_cleanup(dead);

        // 5. Front-ends owned by the dead agent.
        let k = self.t.fe_per_barrier;
        for (i, fe) in self.t.frontends.iter().enumerate() {
            for _ in 0..LOOP_CAP {
                let raw = fe.state.load(Acquire);
                let Ok(fs) = FeState::decode(raw) else { break };
                if fs.status == FeStatus::Free || fs.owner != Some((dead, gen as u16)) {
                    break;
                }
                let resign = policy == DeathPolicy::Resign && fs.status == FeStatus::Enrolled;
                let status = if resign { FeStatus::Resigned } else { fs.status };
                let next = FeState { status, owner: None, ..fs };
                if fe.state.compare_exchange(raw, next.encode(), AcqRel, Relaxed).is_ok() {
                    report.frontends += 1;
                    if resign {
                        let b = i as u32 / k;
                        self.head_update(b, -1)?;
                        pending.push(b);
                    }
                    break;
                }
            }
        }

        // 6. Completion attempts the cleanup may have enabled.
        pending.sort_unstable();
        pending.dedup();
        fence(SeqCst);
        for b in pending {
            if (b as usize) < self.t.barriers.len() {
                self.try_complete(cleaner.index, b)?;
            }
        }

        // 7. Free the slot.
        let busy = encode_life(Life::Busy, gen, 0);
        report.cleaned = life.compare_exchange(busy, encode_life(Life::Free, gen, 0), AcqRel, Relaxed).is_ok();
        Ok(report)
    }
}
