//! Agents, barriers and front-ends: register/unregister, create/destroy, attach (JCSP `mark`),
//! detach, reset, enroll, resign, expand, contract.
//!
//! Membership changes are CASes on front-end words followed by a version bump of the barrier's
//! head word (no lock). A completion attempt re-reads the head after claiming everybody and fails
//! if it moved, so a completion never overlaps a membership change. Changes that can make a
//! barrier ready (resign, contract) run `try_complete` afterwards, after a `fence(SeqCst)`.

use super::tables::{AgentCell, FrontEndCell};
use super::word::{
    decode_life, encode_life, FeState, FeStatus, Head, Life, OfferWord, Tag, FE_GEN_MASK, HEAD_GEN_MASK,
};
use super::{AgentId, Alt, AltError, BarrierId, FrontEnd, Misuse};
use crate::sync::{fence, Ordering::*};

impl<'a> Alt<'a> {
    // ----------------------------------------------------------------------------------------
    // Agents
    // ----------------------------------------------------------------------------------------

    /// Takes a free agent slot for the calling thread. `owner_token` identifies the owning process
    /// (e.g. process slot + generation) for [`super::AltEnv::is_alive`].
    pub fn register_agent(&self, owner_token: u64) -> Result<AgentId, AltError> {
        for (i, cell) in self.t.agents.iter().enumerate() {
            let raw = cell.misc.0.life.load(Acquire);
            let Ok((Life::Free, gen)) = decode_life(raw) else { continue };
            let gen = gen.wrapping_add(1);
            if cell.misc.0.life.compare_exchange(raw, encode_life(Life::Busy, gen, 0), AcqRel, Relaxed).is_err() {
                continue;
            }
            cell.misc.0.token.store(owner_token, Relaxed);
            let epoch = OfferWord::decode(cell.offer.0.load(Relaxed)).map_or(0, |w| w.epoch);
            cell.offer.0.store(OfferWord::new(epoch, Tag::Idle).encode(), Release);
            cell.misc.0.life.store(encode_life(Life::Live, gen, 0), Release);
            return Ok(AgentId { index: i as u32, gen });
        }
        Err(AltError::Capacity)
    }

    /// Releases an agent slot (the thread is done). Its front-ends stay enrolled with a stale owner,
    /// which any agent may take over with [`Alt::attach`] (resign first to let others go on).
    pub fn unregister_agent(&self, agent: AgentId) -> Result<(), AltError> {
        let cell = self.live_agent(agent)?;
        let w = cell.offer.0.load(Acquire);
        let ow = OfferWord::decode(w)?;
        if ow.undecided() {
            return Err(AltError::Corrupt);
        }
        let _ = cell.offer.0.compare_exchange(w, OfferWord::new(ow.epoch, Tag::Idle).encode(), AcqRel, Relaxed);
        let live = encode_life(Life::Live, agent.gen, 0);
        cell.misc
            .0
            .life
            .compare_exchange(live, encode_life(Life::Free, agent.gen, 0), AcqRel, Relaxed)
            .map(|_| ())
            .map_err(|cur| match decode_life(cur) {
                Ok((Life::Busy, _)) => AltError::AgentDead,
                _ => AltError::Misuse(Misuse::Stale),
            })
    }

    /// The owner token of agent slot `index` if it is live (for the region's liveness scans).
    pub fn agent_token(&self, index: u32) -> Option<u64> {
        let cell = self.t.agents.get(index as usize)?;
        match decode_life(cell.misc.0.life.load(Acquire)) {
            Ok((Life::Live, _)) => Some(cell.misc.0.token.load(Relaxed)),
            _ => None,
        }
    }

    pub(crate) fn live_agent(&self, a: AgentId) -> Result<&'a AgentCell, AltError> {
        let cell = self.t.agents.get(a.index as usize).ok_or(AltError::InvalidArgument)?;
        match decode_life(cell.misc.0.life.load(Acquire))? {
            (Life::Live, g) if g == a.gen => Ok(cell),
            (Life::Busy, g) if g == a.gen => Err(AltError::AgentDead),
            _ => Err(Misuse::Stale.into()),
        }
    }

    /// Whether `(agent, gen16)` (an owner field) names a live agent of a live process.
    fn owner_live(&self, agent: u32, gen16: u16) -> bool {
        let Some(cell) = self.t.agents.get(agent as usize) else { return false };
        match decode_life(cell.misc.0.life.load(Acquire)) {
            Ok((Life::Live, g)) if g as u16 == gen16 => self.env.is_alive(cell.misc.0.token.load(Relaxed)),
            _ => false,
        }
    }

    // ----------------------------------------------------------------------------------------
    // Barriers
    // ----------------------------------------------------------------------------------------

    /// Creates an alting barrier with `n` enrolled, unowned front-ends (JCSP `create(n)`); the
    /// first agent that uses (or attaches) a front-end owns it.
    pub fn create_barrier(&self, n: u32) -> Result<(BarrierId, Vec<FrontEnd>), AltError> {
        let k = self.t.fe_per_barrier;
        if n == 0 {
            return Err(AltError::InvalidArgument);
        }
        if n > k {
            return Err(AltError::Capacity);
        }
        for (i, bc) in self.t.barriers.iter().enumerate() {
            let raw = bc.head.0.word.load(Acquire);
            let Ok(h) = Head::decode(raw) else { continue };
            if h.live || h.init {
                continue;
            }
            let gen = h.gen.wrapping_add(1) & HEAD_GEN_MASK;
            let init = Head { live: false, init: true, gen, enrolled: 0, version: 0 };
            if bc.head.0.word.compare_exchange(raw, init.encode(), AcqRel, Relaxed).is_err() {
                continue;
            }
            let b = i as u32;
            let mut fes = Vec::with_capacity(n as usize);
            for s in 0..k {
                let cell = self.t.frontend(b * k + s)?;
                let old = FeState::decode(cell.state.load(Relaxed)).map_or(0, |f| f.gen);
                let fgen = old.wrapping_add(1) & FE_GEN_MASK;
                let status = if s < n { FeStatus::Enrolled } else { FeStatus::Free };
                cell.stamp.store(0, Relaxed);
                cell.state.store(FeState { status, owner: None, group: 0, gen: fgen }.encode(), Release);
                if s < n {
                    fes.push(FrontEnd { index: b * k + s, gen: fgen });
                }
            }
            bc.stats.0.completions.store(0, Relaxed);
            bc.stats.0.next_group.store(0, Relaxed);
            bc.head.0.high.store(n, Relaxed);
            let live = Head { live: true, init: false, gen, enrolled: n, version: 0 };
            bc.head.0.word.store(live.encode(), Release);
            return Ok((BarrierId { index: b, gen }, fes));
        }
        Err(AltError::Capacity)
    }

    /// Destroys a barrier: all its front-end handles become stale. Agents still offering it keep
    /// waiting for their other guards.
    pub fn destroy_barrier(&self, b: BarrierId) -> Result<(), AltError> {
        let bc = self.t.barriers.get(b.index as usize).ok_or(AltError::InvalidArgument)?;
        let raw = bc.head.0.word.load(Acquire);
        let h = Head::decode(raw)?;
        if !h.live || h.gen != b.gen & HEAD_GEN_MASK {
            return Err(Misuse::Stale.into());
        }
        let init = Head { live: false, init: true, ..h };
        bc.head.0.word.compare_exchange(raw, init.encode(), AcqRel, Relaxed).map_err(|_| Misuse::Stale)?;
        let k = self.t.fe_per_barrier;
        for s in 0..k {
            let cell = self.t.frontend(b.index * k + s)?;
            let old = FeState::decode(cell.state.load(Relaxed)).map_or(0, |f| f.gen);
            let free =
                FeState { status: FeStatus::Free, owner: None, group: 0, gen: old.wrapping_add(1) & FE_GEN_MASK };
            cell.state.store(free.encode(), Release);
        }
        bc.head.0.word.store(Head { live: false, init: false, ..h }.encode(), Release);
        Ok(())
    }

    /// The barrier of a front-end.
    pub fn barrier_of(&self, fe: FrontEnd) -> Result<BarrierId, AltError> {
        let (_, _, _, b) = self.fe_checked(fe)?;
        let h = Head::decode(self.t.barrier(b)?.head.0.word.load(Acquire))?;
        Ok(BarrierId { index: b, gen: h.gen })
    }

    /// The handle of front-end slot `slot` (0..frontends per barrier) of barrier `b`, as it is now
    /// (for attaching by index, e.g. from another process). A free slot is [`Misuse::Stale`].
    pub fn frontend_at(&self, b: BarrierId, slot: u32) -> Result<FrontEnd, AltError> {
        self.live_barrier(b)?;
        if slot >= self.t.fe_per_barrier {
            return Err(AltError::InvalidArgument);
        }
        let index = b
            .index
            .checked_mul(self.t.fe_per_barrier)
            .and_then(|i| i.checked_add(slot))
            .ok_or(AltError::InvalidArgument)?;
        let cell = self.t.frontends.get(index as usize).ok_or(AltError::InvalidArgument)?;
        let fs = FeState::decode(cell.state.load(Acquire))?;
        if fs.status == FeStatus::Free {
            return Err(Misuse::Stale.into());
        }
        Ok(FrontEnd { index, gen: fs.gen })
    }

    /// Number of completions of a barrier so far.
    pub fn completions(&self, b: BarrierId) -> Result<u64, AltError> {
        let bc = self.live_barrier(b)?;
        Ok(bc.stats.0.completions.load(Acquire))
    }

    /// Number of enrolled front-ends (from the head word; exact when no change is in progress).
    pub fn enrolled(&self, b: BarrierId) -> Result<u32, AltError> {
        let bc = self.live_barrier(b)?;
        Ok(Head::decode(bc.head.0.word.load(Acquire))?.enrolled)
    }

    fn live_barrier(&self, b: BarrierId) -> Result<&'a super::tables::AltBarrierCell, AltError> {
        let bc = self.t.barriers.get(b.index as usize).ok_or(AltError::InvalidArgument)?;
        let h = Head::decode(bc.head.0.word.load(Acquire))?;
        if !h.live || h.gen != b.gen & HEAD_GEN_MASK {
            return Err(Misuse::Stale.into());
        }
        Ok(bc)
    }

    /// Bumps barrier `b`'s membership version and adjusts its enrolled count.
    pub(crate) fn head_update(&self, b: u32, delta: i32) -> Result<(), AltError> {
        let bc = self.t.barrier(b)?;
        let mut raw = bc.head.0.word.load(Acquire);
        for _ in 0..super::complete::LOOP_CAP {
            let h = Head::decode(raw)?;
            let enrolled = (h.enrolled as i64 + i64::from(delta)).clamp(0, 0xffff) as u32;
            let next = Head { enrolled, version: h.version.wrapping_add(1), ..h };
            match bc.head.0.word.compare_exchange(raw, next.encode(), AcqRel, Acquire) {
                Ok(_) => return Ok(()),
                Err(cur) => raw = cur,
            }
        }
        Err(AltError::Corrupt)
    }

    // ----------------------------------------------------------------------------------------
    // Front-ends
    // ----------------------------------------------------------------------------------------

    /// Validates a front-end handle: `(cell, raw state, decoded, barrier index)`.
    pub(crate) fn fe_checked(&self, fe: FrontEnd) -> Result<(&'a FrontEndCell, u64, FeState, u32), AltError> {
        let cell = self.t.frontends.get(fe.index as usize).ok_or(AltError::InvalidArgument)?;
        let raw = cell.state.load(Acquire);
        let fs = FeState::decode(raw)?;
        if fs.status == FeStatus::Free || fs.gen != fe.gen & FE_GEN_MASK {
            return Err(Misuse::Stale.into());
        }
        Ok((cell, raw, fs, fe.index / self.t.fe_per_barrier))
    }

    /// Ownership check with take-over of an unowned (or stale-owned) front-end. `Ok(false)`: the
    /// CAS lost a race, re-read and retry.
    fn ensure_owner(&self, cell: &FrontEndCell, raw: u64, fs: FeState, a: AgentId) -> Result<bool, AltError> {
        match fs.owner {
            Some((o, og)) if o == a.index && og == a.gen as u16 => Ok(true),
            Some((o, og)) if self.owner_live(o, og) => Err(Misuse::NotOwner.into()),
            _ => {
                let mine = FeState { owner: Some((a.index, a.gen as u16)), ..fs };
                Ok(cell.state.compare_exchange(raw, mine.encode(), AcqRel, Relaxed).is_ok())
            }
        }
    }

    /// Checks that `a` may offer/use `fe` (enrolled, owned by `a`; an unowned front-end becomes
    /// `a`'s, JCSP's "first user owns it"). Returns the barrier index.
    pub(crate) fn own_frontend(&self, fe: FrontEnd, a: AgentId) -> Result<u32, AltError> {
        for _ in 0..super::complete::LOOP_CAP {
            let (cell, raw, fs, b) = self.fe_checked(fe)?;
            if fs.status == FeStatus::Resigned {
                return Err(Misuse::Resigned.into());
            }
            if self.ensure_owner(cell, raw, fs, a)? {
                return Ok(b);
            }
        }
        Err(AltError::Corrupt)
    }

    /// JCSP `mark`: `agent` takes ownership of `fe`. Fails if `fe` is resigned or owned by another
    /// live agent (a dead or unregistered owner's front-end is taken over).
    pub fn attach(&self, fe: FrontEnd, agent: AgentId) -> Result<(), AltError> {
        self.live_agent(agent)?;
        self.own_frontend(fe, agent).map(|_| ())
    }

    /// Gives up ownership of `fe` (it stays enrolled; another agent may attach it).
    pub fn detach(&self, fe: FrontEnd, agent: AgentId) -> Result<(), AltError> {
        self.live_agent(agent)?;
        for _ in 0..super::complete::LOOP_CAP {
            let (cell, raw, fs, _) = self.fe_checked(fe)?;
            if fs.owner != Some((agent.index, agent.gen as u16)) {
                return Err(Misuse::NotOwner.into());
            }
            let next = FeState { owner: None, ..fs };
            if cell.state.compare_exchange(raw, next.encode(), AcqRel, Relaxed).is_ok() {
                return Ok(());
            }
        }
        Err(AltError::Corrupt)
    }

    /// JCSP `reset`: `fe` becomes enrolled and unowned (to recycle the front-end of a terminated
    /// agent; do not use it to move a front-end between running agents).
    pub fn reset_frontend(&self, fe: FrontEnd) -> Result<(), AltError> {
        for _ in 0..super::complete::LOOP_CAP {
            let (cell, raw, fs, b) = self.fe_checked(fe)?;
            let next = FeState { status: FeStatus::Enrolled, owner: None, ..fs };
            if cell.state.compare_exchange(raw, next.encode(), AcqRel, Relaxed).is_ok() {
                if fs.status == FeStatus::Resigned {
                    self.head_update(b, 1)?;
                }
                return Ok(());
            }
        }
        Err(AltError::Corrupt)
    }

    /// Re-enrolls a resigned front-end (JCSP `enroll`). Enrolling while enrolled is misuse.
    pub fn enroll(&self, fe: FrontEnd, agent: AgentId) -> Result<(), AltError> {
        self.live_agent(agent)?;
        self.flip(fe, agent, FeStatus::Resigned, FeStatus::Enrolled, Misuse::AlreadyEnrolled).map(|_| ())
    }

    /// Resigns a front-end (JCSP `resign`): the others may now complete without it, and this call
    /// completes the barrier if all of them are offering. Resigning while resigned is misuse.
    pub fn resign(&self, fe: FrontEnd, agent: AgentId) -> Result<(), AltError> {
        self.live_agent(agent)?;
        let b = self.flip(fe, agent, FeStatus::Enrolled, FeStatus::Resigned, Misuse::AlreadyResigned)?;
        fence(SeqCst);
        self.try_complete(agent.index, b).map(|_| ())
    }

    fn flip(&self, fe: FrontEnd, a: AgentId, from: FeStatus, to: FeStatus, misuse: Misuse) -> Result<u32, AltError> {
        for _ in 0..super::complete::LOOP_CAP {
            let (cell, raw, fs, b) = self.fe_checked(fe)?;
            if fs.status != from {
                return Err(misuse.into());
            }
            if let Some((o, og)) = fs.owner {
                if (o, og) != (a.index, a.gen as u16) && self.owner_live(o, og) {
                    return Err(Misuse::NotOwner.into());
                }
            }
            let next = FeState { status: to, owner: Some((a.index, a.gen as u16)), ..fs };
            if cell.state.compare_exchange(raw, next.encode(), AcqRel, Relaxed).is_ok() {
                self.head_update(b, if to == FeStatus::Enrolled { 1 } else { -1 })?;
                return Ok(b);
            }
        }
        Err(AltError::Corrupt)
    }

    /// JCSP `expand(n)`: `n` new enrolled, unowned front-ends of `fe`'s barrier (one group, to be
    /// given back with [`Alt::contract`]). `fe` must be enrolled and owned by `agent`.
    pub fn expand(&self, fe: FrontEnd, agent: AgentId, n: u32) -> Result<Vec<FrontEnd>, AltError> {
        if n == 0 {
            return Err(AltError::InvalidArgument);
        }
        // More than a barrier can hold never fits (and must not size an allocation: a caller's
        // n = 2^32 - 1 aborted the process for lack of memory; found by fuzzing the C ABI).
        if n > self.t.fe_per_barrier {
            return Err(AltError::Capacity);
        }
        self.live_agent(agent)?;
        let b = self.own_frontend(fe, agent)?;
        let bc = self.t.barrier(b)?;
        let group = (bc.stats.0.next_group.fetch_add(1, Relaxed) % 0xffff + 1) as u16;
        let k = self.t.fe_per_barrier;
        let mut out = Vec::with_capacity(n as usize);
        for s in 0..k {
            if out.len() == n as usize {
                break;
            }
            let cell = self.t.frontend(b * k + s)?;
            let raw = cell.state.load(Acquire);
            let Ok(fs) = FeState::decode(raw) else { continue };
            if fs.status != FeStatus::Free {
                continue;
            }
            let gen = fs.gen.wrapping_add(1) & FE_GEN_MASK;
            cell.stamp.store(0, Relaxed);
            // Before the slot is enrolled (and before the head's version bump that publishes the
            // expansion), so a completer that sees the new membership scans far enough.
            bc.head.0.high.fetch_max(s + 1, AcqRel);
            let next = FeState { status: FeStatus::Enrolled, owner: None, group, gen };
            if cell.state.compare_exchange(raw, next.encode(), AcqRel, Relaxed).is_ok() {
                out.push(FrontEnd { index: b * k + s, gen });
            }
        }
        if out.len() < n as usize {
            // Roll back: the slots were enrolled for a moment, so re-run the completion check.
            for f in &out {
                let (cell, raw, fs, _) = self.fe_checked(*f)?;
                let free = FeState { status: FeStatus::Free, owner: None, group: 0, gen: fs.gen };
                let _ = cell.state.compare_exchange(raw, free.encode(), AcqRel, Relaxed);
            }
            self.head_update(b, 0)?;
            fence(SeqCst);
            self.try_complete(agent.index, b)?;
            return Err(AltError::Capacity);
        }
        self.head_update(b, n as i32)?;
        Ok(out)
    }

    /// JCSP `contract(ab[])`: discards exactly the front-ends of one earlier [`Alt::expand`] of this
    /// barrier (any order), invoked through `fe` (enrolled, owned by `agent`). May complete the
    /// barrier. The discarded handles become stale.
    pub fn contract(&self, fe: FrontEnd, agent: AgentId, discard: &[FrontEnd]) -> Result<(), AltError> {
        if discard.is_empty() {
            return Err(AltError::InvalidArgument);
        }
        self.live_agent(agent)?;
        let b = self.own_frontend(fe, agent)?;
        let mut group = None;
        for (i, d) in discard.iter().enumerate() {
            let (_, _, fs, db) = self.fe_checked(*d)?;
            let same = !matches!(group, Some(g) if g != fs.group);
            if db != b
                || fs.group == 0
                || !same
                || d.index == fe.index
                || discard[..i].iter().any(|x| x.index == d.index)
            {
                return Err(Misuse::NotFromExpand.into());
            }
            group = Some(fs.group);
        }
        let group = group.ok_or(AltError::InvalidArgument)?;
        let k = self.t.fe_per_barrier;
        let mut members = 0usize;
        for s in 0..k {
            let fs = FeState::decode(self.t.frontend(b * k + s)?.state.load(Acquire))?;
            if fs.status != FeStatus::Free && fs.group == group {
                members += 1;
            }
        }
        if members != discard.len() {
            return Err(Misuse::NotFromExpand.into());
        }
        let mut removed = 0i32;
        for d in discard {
            if let Ok((cell, raw, fs, _)) = self.fe_checked(*d) {
                let free = FeState { status: FeStatus::Free, owner: None, group: 0, gen: fs.gen };
                if cell.state.compare_exchange(raw, free.encode(), AcqRel, Relaxed).is_ok()
                    && fs.status == FeStatus::Enrolled
                {
                    removed += 1;
                }
            }
        }
        self.head_update(b, -removed)?;
        fence(SeqCst);
        self.try_complete(agent.index, b).map(|_| ())
    }

    /// JCSP `contract()`: discards `fe` itself (enrolled, owned by `agent`). May complete the
    /// barrier; `fe` becomes stale.
    pub fn contract_self(&self, fe: FrontEnd, agent: AgentId) -> Result<(), AltError> {
        self.live_agent(agent)?;
        for _ in 0..super::complete::LOOP_CAP {
            let b = self.own_frontend(fe, agent)?;
            let (cell, raw, fs, _) = self.fe_checked(fe)?;
            let free = FeState { status: FeStatus::Free, owner: None, group: 0, gen: fs.gen };
            if fs.status == FeStatus::Enrolled
                && cell.state.compare_exchange(raw, free.encode(), AcqRel, Relaxed).is_ok()
            {
                self.head_update(b, -1)?;
                fence(SeqCst);
                return self.try_complete(agent.index, b).map(|_| ());
            }
        }
        Err(AltError::Corrupt)
    }
}
