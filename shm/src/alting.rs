//! Alting barriers, channels and the Alternative in a region: the process-side handles over the
//! lock-free choice protocol of `muster_core::alting`.
//!
//! * **Agents.** Every thread that uses alting barriers, channels or Alternatives in a region gets
//!   one agent slot there, registered on first use and released when the thread's last handle is
//!   dropped. Its owner token is `process slot << 32 | process-slot generation`, so liveness is the
//!   process table's OFD token (see `process.rs`): when a process dies, the cleaner withdraws its
//!   agents' offers, finishes or aborts their completion attempts, and leaves their front-ends
//!   enrolled but unowned (JCSP semantics: the barrier waits until the front-end is reset or
//!   attached by a live thread).
//! * **Handles are per thread.** [`AltingBarrier`], [`Channel`] and [`Alternative`] are `!Send`:
//!   a front-end is owned by one thread at a time (JCSP). To hand one to another thread or process,
//!   drop it (it stays enrolled) and [`Region::alting_attach`] it there (JCSP `mark`).
//! * **Names.** Alting barriers and channels share the region's name table with plain barriers.

use crate::error::{Error, Result};
use crate::futex::{monotonic_ns, process_policy};
use crate::region::{Inner, Region};
use crate::registry::{ALTING, CHANNEL, KIND_TAG};
use muster_core::alting::tables::AltTables;
use muster_core::alting::{
    AgentId, Alt, AltEnv, AltError, AltPolicy, BarrierId, ChannelConfig, ChannelId, DeathPolicy, FrontEnd, Guard,
    Misuse, SelectMode,
};
use muster_core::sync::Ordering;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Weak};
use std::thread::ThreadId;
use std::time::Duration;

/// This process's agents in one region, one per thread.
#[derive(Default)]
pub(crate) struct AgentRegistry(Mutex<HashMap<ThreadId, Weak<Agent>>>);

/// One registered agent (a thread's identity in the choice protocol).
pub(crate) struct Agent {
    region: Arc<Inner>,
    id: AgentId,
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.region.token_alive_here() {
            if let Ok(alt) = self.region.alt() {
                let _ = alt.unregister_agent(self.id);
            }
        }
        if let Ok(mut m) = self.region.agents.0.lock() {
            let me = std::thread::current().id();
            if m.get(&me).is_some_and(|w| w.strong_count() == 0) {
                m.remove(&me);
            }
        }
    }
}

fn misuse_text(m: Misuse) -> &'static str {
    match m {
        Misuse::NotOwner => "the front-end is owned by another live thread or process",
        Misuse::AlreadyEnrolled => "enroll while enrolled",
        Misuse::AlreadyResigned => "resign while resigned",
        Misuse::Resigned => "the front-end is resigned (enroll first)",
        Misuse::NotFromExpand => "contract with front-ends that are not one expand of this barrier",
        Misuse::Stale => "the front-end, barrier or channel no longer exists (used after contract?)",
        Misuse::DuplicateGuard => "the same alting barrier is offered twice in one select",
    }
}

/// Maps a protocol error to the crate's error.
pub(crate) fn map_alt(e: AltError) -> Error {
    match e {
        AltError::InvalidArgument => Error::InvalidArgument("alting: argument out of range"),
        AltError::Capacity => Error::Full("alting tables (agents, barriers, front-ends or channels)"),
        AltError::TimedOut => Error::Timeout,
        AltError::AgentDead => {
            Error::Misuse("this thread's alting agent was reclaimed (its process was declared dead)")
        }
        AltError::Corrupt => Error::Corrupt("alting tables hold a value no correct peer writes".into()),
        AltError::Misuse(m) => Error::Misuse(misuse_text(m)),
    }
}

impl AltEnv for Inner {
    fn is_alive(&self, owner_token: u64) -> bool {
        let (slot, gen) = ((owner_token >> 32) as u32, owner_token as u32);
        let Some(p) = self.proc_slot(slot) else { return false };
        let s = p.state.load(Ordering::Acquire);
        crate::process::tag(s) == crate::process::ALIVE && crate::process::gen(s) == gen && self.token_held(slot)
    }

    fn on_idle(&self, _agent: u32) {
        self.reap_alting();
    }
}

impl Inner {
    /// The protocol context over this region's alting tables.
    pub(crate) fn alt(&self) -> Result<Alt<'_>> {
        let l = &self.layout.alt;
        let base = self.layout.alt_off;
        let bad = || Error::Corrupt("alting tables out of bounds".into());
        let tables = AltTables::new(
            l.caps,
            self.map.slice(base + l.agents.0 as u64, l.agents.1).ok_or_else(bad)?,
            self.map.slice(base + l.parties.0 as u64, l.parties.1).ok_or_else(bad)?,
            self.map.slice(base + l.barriers.0 as u64, l.barriers.1).ok_or_else(bad)?,
            self.map.slice(base + l.frontends.0 as u64, l.frontends.1).ok_or_else(bad)?,
            self.map.slice(base + l.channels.0 as u64, l.channels.1).ok_or_else(bad)?,
            self.map.slice(base + l.slots.0 as u64, l.slots.1).ok_or_else(bad)?,
        )
        .map_err(map_alt)?;
        let policy = AltPolicy { wait: *process_policy(), ..AltPolicy::default() };
        Ok(Alt::new(tables, &self.parker, self, policy))
    }

    /// Owner token of this process's agents.
    fn owner_token(&self) -> u64 {
        (u64::from(self.slot) << 32) | u64::from(self.slot_gen.load(Ordering::Relaxed))
    }

    /// Cleans up the agents of dead processes (called while alting waits idle, and on reaping).
    pub(crate) fn reap_alting(&self) {
        let Ok(alt) = self.alt() else { return };
        let agents = alt.tables().agent_count();
        let mut cleaner: Option<AgentId> = None;
        // One liveness probe per owner token per scan.
        let mut seen: HashMap<u64, bool> = HashMap::new();
        for i in 0..agents {
            let Some(token) = alt.agent_token(i) else { continue };
            if token == self.owner_token() {
                continue;
            }
            let alive = *seen.entry(token).or_insert_with(|| self.is_alive(token));
            if alive {
                continue;
            }
            if cleaner.is_none() {
                // Cleaning needs a live agent of ours; a temporary one does.
                cleaner = alt.register_agent(self.owner_token()).ok();
            }
            if let Some(c) = cleaner {
                let _ = alt.cleanup_agent(i, token, c, DeathPolicy::LeaveEnrolled);
            }
        }
        if let Some(c) = cleaner {
            let _ = alt.unregister_agent(c);
        }
    }
}

impl Region {
    /// The calling thread's agent in this region (registered on first use).
    fn agent(&self) -> Result<Arc<Agent>> {
        self.refuse_forked()?;
        let me = std::thread::current().id();
        let mut map = self.inner.agents.0.lock().map_err(|_| Error::Misuse("agent registry poisoned"))?;
        if let Some(a) = map.get(&me).and_then(Weak::upgrade) {
            return Ok(a);
        }
        let alt = self.inner.alt()?;
        let id = alt.register_agent(self.inner.owner_token()).map_err(map_alt)?;
        let a = Arc::new(Agent { region: self.inner.clone(), id });
        map.insert(me, Arc::downgrade(&a));
        Ok(a)
    }

    fn alting_id(&self, name: &str) -> Result<BarrierId> {
        let f = self.inner.lookup(name, None)?;
        if f.kind & KIND_TAG != ALTING {
            return Err(Error::Mismatch { existing: 0, requested: 0 });
        }
        Ok(BarrierId { index: f.kind & !KIND_TAG, gen: f.extra })
    }

    /// Creates the alting barrier `name` with `n` enrolled front-ends, indices `0..n` (JCSP
    /// `AltingBarrier.create(n)`). [`Error::Exists`] if the name is taken.
    pub fn alting_create(&self, name: &str, n: u32) -> Result<()> {
        self.refuse_forked()?;
        if n == 0 {
            return Err(Error::InvalidArgument("an alting barrier needs at least one front-end"));
        }
        let alt = self.inner.alt()?;
        let created = std::cell::Cell::new(false);
        let create = |_: u32| -> Result<(u32, u32)> {
            let (b, _) = alt.create_barrier(n).map_err(map_alt)?;
            created.set(true);
            Ok((ALTING | b.index, b.gen))
        };
        self.inner.lookup(name, Some(&create))?;
        if created.get() {
            Ok(())
        } else {
            Err(Error::Exists)
        }
    }

    /// Takes ownership of front-end `index` of alting barrier `name` for the calling thread (JCSP
    /// `mark`). Fails with [`Error::Misuse`] if another live thread owns it or it is resigned.
    pub fn alting_attach(&self, name: &str, index: u32) -> Result<AltingBarrier> {
        let b = self.alting_id(name)?;
        let agent = self.agent()?;
        let alt = self.inner.alt()?;
        let fe = alt.frontend_at(b, index).map_err(map_alt)?;
        alt.attach(fe, agent.id).map_err(map_alt)?;
        Ok(AltingBarrier { agent, fe, _not_send: PhantomData })
    }

    /// Recycles front-end `index` of `name` whose owner terminated: enrolled again, unowned (JCSP
    /// `reset`). Do not use it to move a front-end between live threads (drop + attach does that).
    pub fn alting_reset(&self, name: &str, index: u32) -> Result<()> {
        self.refuse_forked()?;
        let b = self.alting_id(name)?;
        let alt = self.inner.alt()?;
        let fe = alt.frontend_at(b, index).map_err(map_alt)?;
        alt.reset_frontend(fe).map_err(map_alt)
    }

    /// Opens the channel `name`, creating it with `capacity` slots if it does not exist; any number
    /// of writers, one reader (any-to-one). `overwrite`: a full channel drops its oldest value
    /// instead of blocking the writer (JCSP `OverWriteOldestBuffer`). Opening an existing channel
    /// keeps the capacity and mode it was created with (the arguments only matter to the creator).
    pub fn channel(&self, name: &str, capacity: u32, overwrite: bool) -> Result<Channel> {
        self.channel_with(name, ChannelConfig { capacity, overwrite, one_to_one: false })
    }

    /// Like [`Region::channel`], but one-to-one: the first thread that writes becomes the only
    /// writer (another writer gets [`Error::Misuse`]) until it is gone.
    pub fn channel_one_to_one(&self, name: &str, capacity: u32, overwrite: bool) -> Result<Channel> {
        self.channel_with(name, ChannelConfig { capacity, overwrite, one_to_one: true })
    }

    fn channel_with(&self, name: &str, cfg: ChannelConfig) -> Result<Channel> {
        self.refuse_forked()?;
        let alt = self.inner.alt()?;
        let create = |_: u32| -> Result<(u32, u32)> {
            let c = alt.channel_create(cfg).map_err(map_alt)?;
            Ok((CHANNEL | c.index, c.gen))
        };
        let f = self.inner.lookup(name, Some(&create))?;
        if f.kind & KIND_TAG != CHANNEL {
            return Err(Error::Mismatch { existing: 0, requested: cfg.capacity });
        }
        let agent = self.agent()?;
        Ok(Channel { agent, id: ChannelId { index: f.kind & !KIND_TAG, gen: f.extra }, _not_send: PhantomData })
    }

    /// A new, empty Alternative for the calling thread.
    pub fn alternative(&self) -> Result<Alternative> {
        Ok(Alternative { agent: self.agent()?, guards: Vec::new(), fair_next: 0, _not_send: PhantomData })
    }
}

fn deadline(d: Duration) -> u64 {
    monotonic_ns().saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// One owned front-end of an alting barrier. Dropping it gives up ownership (it stays enrolled):
/// another thread or process may then attach it (JCSP `mark`).
pub struct AltingBarrier {
    agent: Arc<Agent>,
    fe: FrontEnd,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for AltingBarrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AltingBarrier").field("frontend", &self.fe).finish()
    }
}

impl Drop for AltingBarrier {
    fn drop(&mut self) {
        // Give up ownership (the front-end stays enrolled), so another thread or process can
        // attach it; in a forked child the handle belongs to the parent and is left alone.
        if self.agent.region.token_alive_here() {
            if let Ok(alt) = self.agent.region.alt() {
                let _ = alt.detach(self.fe, self.agent.id);
            }
        }
    }
}

/// The region's protocol context, refusing handles inherited across `fork`.
fn alt_of(agent: &Agent) -> Result<Alt<'_>> {
    agent.region.refuse_forked()?;
    agent.region.alt()
}

impl AltingBarrier {
    fn alt(&self) -> Result<Alt<'_>> {
        alt_of(&self.agent)
    }

    /// This front-end's index within its barrier.
    pub fn index(&self) -> u32 {
        self.fe.index % self.agent.region.layout.alt.caps.frontends_per_barrier.max(1)
    }

    /// Enrolls a resigned front-end again.
    pub fn enroll(&self) -> Result<()> {
        self.alt()?.enroll(self.fe, self.agent.id).map_err(map_alt)
    }

    /// Resigns: the others may complete the barrier without this front-end (this may complete it).
    pub fn resign(&self) -> Result<()> {
        self.alt()?.resign(self.fe, self.agent.id).map_err(map_alt)
    }

    /// Committed synchronisation: waits until every enrolled front-end offers the barrier.
    pub fn sync(&self) -> Result<()> {
        self.alt()?.sync(self.agent.id, self.fe).map_err(map_alt)
    }

    /// Offers the barrier for at most `offer`; true if it completed (JCSP `poll`). A zero offer
    /// completes only if all others are already offering.
    pub fn poll(&self, offer: Duration) -> Result<bool> {
        let ns = u64::try_from(offer.as_nanos()).unwrap_or(u64::MAX);
        self.alt()?.poll(self.agent.id, self.fe, ns).map_err(map_alt)
    }

    /// Adds `n` enrolled front-ends; returns their indices (pass them to the new parties, which
    /// [`Region::alting_attach`] them).
    pub fn expand(&self, n: u32) -> Result<Vec<u32>> {
        let k = self.agent.region.layout.alt.caps.frontends_per_barrier.max(1);
        let fes = self.alt()?.expand(self.fe, self.agent.id, n).map_err(map_alt)?;
        Ok(fes.iter().map(|f| f.index % k).collect())
    }

    /// Removes front-ends that one earlier [`AltingBarrier::expand`] of this barrier returned (all
    /// of them); this may complete the barrier.
    pub fn contract(&self, indices: &[u32]) -> Result<()> {
        let alt = self.alt()?;
        let b = alt.barrier_of(self.fe).map_err(map_alt)?;
        let fes = indices.iter().map(|&i| alt.frontend_at(b, i)).collect::<std::result::Result<Vec<_>, _>>();
        alt.contract(self.fe, self.agent.id, &fes.map_err(map_alt)?).map_err(map_alt)
    }

    /// Removes this front-end from the barrier for good (JCSP `contract()`: a process that was
    /// given a front-end by `expand` leaves before it terminates). May complete the barrier. The
    /// front-end fronts nothing afterwards.
    pub fn contract_self(self) -> Result<()> {
        self.contract_self_keep_handle()
    }

    /// [`AltingBarrier::contract_self`] for a handle that outlives the call (the C ABI's, whose
    /// caller still closes it): on success the front-end fronts nothing and every later call on
    /// this handle fails with [`Error::Misuse`]; on failure nothing changed, the handle included.
    pub fn contract_self_keep_handle(&self) -> Result<()> {
        self.alt()?.contract_self(self.fe, self.agent.id).map_err(map_alt)
    }

    /// How many times the barrier has fired.
    pub fn completions(&self) -> Result<u64> {
        let alt = self.alt()?;
        let b = alt.barrier_of(self.fe).map_err(map_alt)?;
        alt.completions(b).map_err(map_alt)
    }
}

/// A channel of `u64` values between threads and processes (any-to-one). Usable as an input guard.
pub struct Channel {
    agent: Arc<Agent>,
    id: ChannelId,
    _not_send: PhantomData<*const ()>,
}

impl Channel {
    fn alt(&self) -> Result<Alt<'_>> {
        alt_of(&self.agent)
    }

    /// Writes `v`, blocking while the channel is full (unless it overwrites).
    pub fn write(&self, v: u64) -> Result<()> {
        self.alt()?.channel_write(self.id, self.agent.id, v, None).map_err(map_alt)
    }

    /// Writes `v` unless the channel is full (returns false then).
    pub fn try_write(&self, v: u64) -> Result<bool> {
        self.alt()?.channel_try_write(self.id, self.agent.id, v).map_err(map_alt)
    }

    /// Reads a value, blocking until one is there (or `timeout` passes: [`Error::Timeout`]).
    pub fn read(&self, timeout: Option<Duration>) -> Result<u64> {
        self.alt()?.channel_read(self.id, timeout.map(deadline)).map_err(map_alt)
    }

    /// Reads a value if one is there.
    pub fn try_read(&self) -> Result<Option<u64>> {
        self.alt()?.channel_try_read(self.id).map_err(map_alt)
    }
}

/// How an [`Alternative`] chooses among ready guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// Any ready guard (start position varies).
    Arbitrary,
    /// Guard order; a ready non-barrier guard beats barrier guards listed after it. Priorities
    /// among barrier guards are not honoured (JCSP: they cannot be).
    Priority,
    /// Rotating: the guard chosen last has lowest priority next time, so no ready guard starves.
    Fair,
}

/// A choice among alting barriers, channel inputs, `skip` and a timeout (JCSP `Alternative`).
pub struct Alternative {
    agent: Arc<Agent>,
    guards: Vec<Guard>,
    fair_next: usize,
    _not_send: PhantomData<*const ()>,
}

impl Alternative {
    fn same_region(&self, other: &Arc<Agent>) -> Result<()> {
        if Arc::ptr_eq(&self.agent, other) {
            Ok(())
        } else {
            Err(Error::Misuse("guard belongs to another region or thread"))
        }
    }

    /// Adds an alting barrier guard; returns its index.
    pub fn add_alting(&mut self, b: &AltingBarrier) -> Result<usize> {
        self.same_region(&b.agent)?;
        self.guards.push(Guard::Barrier(b.fe));
        Ok(self.guards.len() - 1)
    }

    /// Adds a channel input guard; returns its index. After it fires, read the value with
    /// [`Channel::try_read`] (it is there).
    pub fn add_channel(&mut self, c: &Channel) -> Result<usize> {
        self.same_region(&c.agent)?;
        self.guards.push(Guard::Input(c.id));
        Ok(self.guards.len() - 1)
    }

    /// Adds a guard that is always ready; returns its index.
    pub fn add_skip(&mut self) -> usize {
        self.guards.push(Guard::Skip);
        self.guards.len() - 1
    }

    /// The completion number (1, 2, ...) of the barrier that fired in this thread's last select,
    /// the same for every party of that event (`None` if the last select fired another guard).
    pub fn ticket(&self) -> Result<Option<u32>> {
        alt_of(&self.agent)?.last_ticket(self.agent.id).map_err(map_alt)
    }

    /// Number of guards.
    pub fn len(&self) -> usize {
        self.guards.len()
    }

    /// Whether there are no guards.
    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }

    /// Waits until one guard fires and returns its index; with `timeout`, [`Error::Timeout`] if
    /// none fired in time (never earlier). A fired barrier guard means the synchronisation happened,
    /// for every party.
    pub fn select(&mut self, mode: Select, timeout: Option<Duration>) -> Result<usize> {
        let n = self.guards.len();
        if n == 0 && timeout.is_none() {
            return Err(Error::InvalidArgument("select with no guards and no timeout would wait forever"));
        }
        if let Some(d) = timeout {
            self.guards.push(Guard::Timeout(deadline(d)));
        }
        let m = match mode {
            Select::Arbitrary => SelectMode::Arbitrary,
            Select::Priority => SelectMode::Pri,
            Select::Fair => SelectMode::From(self.fair_next % n.max(1)),
        };
        let alt = alt_of(&self.agent);
        let r = alt.and_then(|a| a.select(self.agent.id, &self.guards, m).map_err(map_alt));
        if timeout.is_some() {
            self.guards.pop();
        }
        match r? {
            i if i < n => {
                self.fair_next = i + 1;
                Ok(i)
            }
            _ => Err(Error::Timeout),
        }
    }
}
