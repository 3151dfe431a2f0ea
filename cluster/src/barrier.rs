//! [`ClusterBarrier`]: a membership barrier whose parties are processes on several hosts.
//!
//! One wait is two stages (the protocol is described in the crate docs):
//! 1. the local stage: a Muster membership barrier of the same name in the host's region;
//! 2. the host stage: the local generation's leader (arrival index 0) records its host's arrival
//!    in etcd; every local member then waits, on one etcd watch, until the generation's `done`
//!    key says how it ended.

use crate::feed::{Feed, Watch};
use crate::keys::{Keys, Outcome, Snapshot};
use crate::liveness;
use crate::session::{Cluster, Session};
use etcd_client::{Compare, CompareOp, DeleteOptions, PutOptions, Txn, TxnOp};
use muster_shm::{Barrier, Error, Result, WaitResult};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A completed cluster wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterWait {
    /// The cluster-wide generation this wait completed (the same number on every host).
    pub generation: u64,
    /// The local stage's result (arrival index and generation in this host's region).
    pub local: WaitResult,
    /// Whether this process led its host in this generation (it ran the value closure and wrote
    /// its host's arrival to etcd). Exactly one per host per generation.
    pub host_leader: bool,
    /// The value each host's leader carried (host id -> bytes), for every host that arrived.
    pub values: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, Default)]
pub(crate) struct HandleState {
    /// This handle's member key while enrolled.
    pub(crate) member_key: Option<String>,
    pub(crate) cancelled: bool,
    pub(crate) broken: bool,
    /// The cluster generation this handle's next wait is in, when known.
    pub(crate) expected: Option<u64>,
    /// A split-phase arrival not yet awaited to its outcome (see `split.rs`).
    pub(crate) pending: Option<crate::ClusterArrival>,
}

/// A handle on a cluster membership barrier (The Grinder's named barrier across hosts). Dropping
/// an enrolled handle resigns it.
pub struct ClusterBarrier {
    pub(crate) s: Arc<Session>,
    pub(crate) local: Barrier,
    pub(crate) keys: Keys,
    name: String,
    state: Mutex<HandleState>,
    feed: Mutex<Feed>,
}

impl std::fmt::Debug for ClusterBarrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterBarrier").field("name", &self.name).field("host", &self.s.host).finish()
    }
}

impl Cluster {
    /// Opens the cluster barrier `name` without enrolling (see [`ClusterBarrier::enroll`]).
    pub fn barrier(&self, name: &str) -> Result<ClusterBarrier> {
        let local = self.s.region.host_barrier(name, 0)?;
        Ok(ClusterBarrier {
            s: self.s.clone(),
            local,
            keys: Keys::new(&self.s.prefix, name),
            name: name.to_owned(),
            state: Mutex::new(HandleState::default()),
            feed: Mutex::new(Feed::default()),
        })
    }

    /// Opens the cluster barrier `name` and enrolls the new handle (Grinder's
    /// `grinder.barrier(name)`, on any host).
    pub fn join(&self, name: &str) -> Result<ClusterBarrier> {
        let b = self.barrier(name)?;
        b.enroll()?;
        Ok(b)
    }
}

impl ClusterBarrier {
    pub(crate) fn st(&self) -> MutexGuard<'_, HandleState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn feed(&self) -> MutexGuard<'_, Feed> {
        self.feed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The barrier's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this handle is an enrolled member.
    pub fn is_member(&self) -> bool {
        self.st().member_key.is_some()
    }

    /// Whether a death or an unreachable etcd broke this handle's barrier (until
    /// [`reset`](Self::reset)).
    pub fn is_broken(&self) -> bool {
        self.st().broken
    }

    /// Makes this handle a member: its host takes part (if it did not already) from the
    /// generation now open, and the local stage gains a party.
    pub fn enroll(&self) -> Result<()> {
        let mut st = self.st();
        if st.member_key.is_some() {
            return Err(Error::Misuse("handle is already enrolled"));
        }
        let s = &self.s;
        let key = self.keys.member(&s.host, s.pid, s.lease, s.next_seq());
        let deadline = s.step_deadline(None);
        let (k, roster, cur, lease) = (key.clone(), self.keys.roster(), self.keys.cur(), s.lease);
        let r = s.rt.block_on(s.call(deadline, "enroll", move |mut c| {
            let txn = Txn::new().and_then(vec![
                TxnOp::put(k.clone(), "", Some(PutOptions::new().with_lease(lease))),
                TxnOp::put(roster.clone(), "", None),
            ]);
            let init = Txn::new()
                .when(vec![Compare::create_revision(cur.clone(), CompareOp::Equal, 0)])
                .and_then(vec![TxnOp::put(cur.clone(), "1", None)]);
            async move {
                c.txn(init).await?;
                c.txn(txn).await
            }
        }))?;
        let rev = r.header().map_or(0, |h| h.revision());
        let watch = s.rt.block_on(self.open_watch(rev + 1, None));
        let watch = match watch {
            Ok(w) => w,
            Err(e) => {
                let _ = self.leave_etcd(&key);
                return Err(e);
            }
        };
        *self.feed() = Feed { watch: Some(watch), ..Feed::default() };
        if let Err(e) = self.local.enroll() {
            let _ = self.leave_etcd(&key);
            return Err(e);
        }
        st.member_key = Some(key);
        st.cancelled = false;
        st.expected = None;
        Ok(())
    }

    /// Withdraws this member (Grinder `cancel`): the local stage and, if it was the host's last
    /// member, the host stop counting it; if everyone else is waiting, their generation completes.
    pub fn resign(&self) -> Result<()> {
        let mut st = self.st();
        if st.pending.is_some() {
            return Err(Error::Misuse("resign with a split-phase arrival pending (await it first)"));
        }
        let Some(key) = st.member_key.take() else {
            return Err(Error::Misuse("handle is not enrolled"));
        };
        st.cancelled = true;
        *self.feed() = Feed::default();
        let local = self.local.resign();
        let remote = self.leave_etcd(&key);
        local.and(remote)
    }

    /// Graceful leave in etcd: the member key goes in the same revision as a `roster` put.
    fn leave_etcd(&self, key: &str) -> Result<()> {
        let s = &self.s;
        let (k, roster) = (key.to_owned(), self.keys.roster());
        s.rt.block_on(s.call(s.step_deadline(None), "resign", move |mut c| {
            let txn = Txn::new().and_then(vec![TxnOp::delete(k.clone(), None), TxnOp::put(roster.clone(), "", None)]);
            async move { c.txn(txn).await }
        }))
        .map(drop)
    }

    /// Clears a broken state (after [`Error::HostDied`], [`Error::PeerDied`] or
    /// [`Error::Unavailable`]) so the handle can wait again; also resets the local stage if a
    /// local death broke it.
    pub fn reset(&self) -> Result<()> {
        self.st().broken = false;
        if self.local.is_broken() {
            self.local.reset()?;
        }
        Ok(())
    }

    /// Waits for every member on every host; the host leader carries an empty value.
    pub fn wait(&self) -> Result<ClusterWait> {
        self.wait_with(None, Vec::new)
    }

    /// Waits at most `timeout`. On timeout the member is cancelled (resigned locally and in etcd;
    /// later use gives [`Error::Cancelled`] until it enrolls again) and [`Error::Timeout`] is
    /// returned. A host leader records its host's arrival before it gives up, so a leader's
    /// timeout never strands its host's other members.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<ClusterWait> {
        self.wait_with(Some(timeout), Vec::new)
    }

    /// Waits (at most `timeout`, if given); if this process leads its host in this generation,
    /// `value` runs after the local stage completed (so it sees everything every local member
    /// wrote before arriving) and its bytes are carried to every member on every host in
    /// [`ClusterWait::values`].
    ///
    /// Errors: [`Error::HostDied`] when a member on any host died during the generation (the
    /// barrier is broken for this handle until [`reset`](Self::reset)); [`Error::PeerDied`]
    /// when a local member died during the local stage; [`Error::Unavailable`] when etcd could
    /// not be reached for the lease TTL (or the caller's timeout) or this process's lease
    /// expired; [`Error::Broken`] after one of these until `reset`.
    pub fn wait_with(&self, timeout: Option<Duration>, value: impl FnOnce() -> Vec<u8>) -> Result<ClusterWait> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let key = {
            let st = self.st();
            if st.pending.is_some() {
                return Err(Error::Misuse("a split-phase arrival is pending: await it before waiting again"));
            }
            match (&st.member_key, st.cancelled, st.broken) {
                (None, true, _) => return Err(Error::Cancelled),
                (None, false, _) => return Err(Error::Misuse("only members may wait on a cluster barrier")),
                (Some(_), _, true) => return Err(Error::Broken),
                (Some(k), _, false) => k.clone(),
            }
        };
        self.s.check_lost()?;
        let local = match deadline {
            None => self.local.wait(),
            Some(d) => self.local.wait_timeout(d.saturating_duration_since(Instant::now())),
        };
        let local = match local {
            Ok(r) => r,
            Err(Error::Timeout) => {
                // The local stage already cancelled the local member.
                let mut st = self.st();
                st.member_key = None;
                st.cancelled = true;
                drop(st);
                let _ = self.leave_etcd(&key);
                return Err(Error::Timeout);
            }
            Err(Error::PeerDied { pid }) => {
                self.report_local_death(pid);
                let mut st = self.st();
                st.broken = true;
                st.expected = None;
                return Err(Error::PeerDied { pid });
            }
            Err(e) => return Err(e),
        };
        let mut expected = self.st().expected;
        let mut feed = std::mem::take(&mut *self.feed());
        let r = self.s.rt.block_on(self.meet(local, &mut expected, &mut feed, deadline, value));
        *self.feed() = feed;
        self.st().expected = if matches!(r, Err(Error::Unavailable(_))) { None } else { expected };
        match r {
            Err(Error::Timeout) => {
                let mut st = self.st();
                st.member_key = None;
                st.cancelled = true;
                drop(st);
                let _ = self.local.resign();
                let _ = self.leave_etcd(&key);
                Err(Error::Timeout)
            }
            Err(e @ (Error::HostDied { .. } | Error::Unavailable(_))) => {
                self.st().broken = true;
                Err(e)
            }
            r => r,
        }
    }

    /// A local member died: delete its member keys now, so the other hosts learn of the death at
    /// once instead of after its lease's TTL.
    pub(crate) fn report_local_death(&self, pid: u32) {
        let s = &self.s;
        let prefix = self.keys.process_members(&s.host, pid);
        let _ = s.rt.block_on(s.call(s.step_deadline(None), "report death", move |mut c| {
            let p = prefix.clone();
            async move { c.delete(p, Some(DeleteOptions::new().with_prefix())).await }
        }));
    }

    /// The host stage of one wait (see the crate docs). `expected` is the generation this
    /// handle's host is in, when known (the one after the handle's last wait); it is updated to
    /// the next one when the outcome is known.
    pub(crate) async fn meet(
        &self,
        local: WaitResult,
        expected: &mut Option<u64>,
        feed: &mut Feed,
        deadline: Option<Instant>,
        value: impl FnOnce() -> Vec<u8>,
    ) -> Result<ClusterWait> {
        let snap = self.snapshot(deadline).await?;
        let mut watch = match feed.watch.take() {
            Some(w) => w,
            None => self.open_watch(snap.rev + 1, deadline).await?,
        };
        let r = self.meet_on(local, expected, &mut watch, feed, snap, deadline, value).await;
        feed.watch = Some(watch);
        r
    }

    #[allow(clippy::too_many_arguments)]
    async fn meet_on(
        &self,
        local: WaitResult,
        expected: &mut Option<u64>,
        watch: &mut Watch,
        feed: &mut Feed,
        mut snap: Snapshot,
        deadline: Option<Instant>,
        value: impl FnOnce() -> Vec<u8>,
    ) -> Result<ClusterWait> {
        let s = &self.s;
        let k = &self.keys;
        let leader = local.is_leader();
        let deaths = &mut feed.deaths;
        let began = Instant::now();
        // Members at the start of this wait: one missing from a later snapshot while `roster`
        // is unchanged died (graceful leaves put `roster`), even if its delete event is late.
        let (first_rev, first_roster) = (snap.rev, snap.roster_mod);
        let first_members: Vec<String> = snap.kvs.keys().filter(|key| key.starts_with(&k.members())).cloned().collect();
        let mut g: Option<u64> = *expected;
        let mut value = Some(value);
        let mut arrived = false;
        loop {
            if self.drain(watch, deaths).await? {
                snap = self.snapshot(deadline).await?;
            }
            if snap.roster_mod == first_roster {
                for key in first_members.iter().filter(|key| !snap.kvs.contains_key(*key)) {
                    if let Some((h, p)) = k.parse_member(key.as_bytes()) {
                        if !deaths.iter().any(|(_, dh, dp)| *dh == h && *dp == p) {
                            deaths.push((first_rev + 1, h, p));
                        }
                    }
                }
            }
            let cur = snap.cur(k);
            if let Some(e) = g.filter(|e| !arrived && cur > *e) {
                // Generation `e` ended without this host: its outcome is ours, unless (defensively)
                // it completed without us, in which case we simply take part in the open one.
                if snap.done(k, e) == Some(Outcome::Ok) && !snap.arrivals(k, e).contains_key(&s.host) {
                    g = None;
                }
            }
            if leader && !arrived && g.is_none_or(|e| e == cur) {
                let v = value.take().map_or_else(Vec::new, |f| f());
                let want = g;
                g = Some(
                    self.commit_arrival(&mut snap, local.generation, v, want, deadline).await?.or(want).unwrap_or(cur),
                );
                arrived = true;
                continue;
            }
            if g.is_none() {
                g = snap.at(k, &s.host, local.generation);
            }
            let gen = g.unwrap_or(cur);
            let opened = snap.opened(k, gen).unwrap_or(0);
            let death = deaths.iter().find(|(r, _, _)| *r > opened).cloned();
            if let (None, Some((_, h, _))) = (g, &death) {
                if *h == s.host {
                    // Our own host lost a member before our leader arrived (maybe the leader):
                    // our generation is the open one.
                    g = Some(gen);
                }
            }
            if let Some(g) = g {
                if let Some(o) = snap.done(k, g) {
                    *expected = Some(g + 1);
                    // Deaths up to this generation's end matter no more.
                    if let Some(closed) = snap.mods.get(&k.done(g)) {
                        deaths.retain(|(r, _, _)| r > closed);
                    }
                    return match o {
                        Outcome::Ok => {
                            Ok(ClusterWait { generation: g, local, host_leader: leader, values: snap.arrivals(k, g) })
                        }
                        Outcome::Dead { host, pid } => Err(Error::HostDied { host, pid }),
                    };
                }
            }
            if let Some((_, host, pid)) = death.filter(|_| snap.done(k, gen).is_none()) {
                self.decide(&snap, gen, &Outcome::Dead { host, pid }, deadline).await?;
                snap = self.snapshot(deadline).await?;
                continue;
            }
            if let Some(g) = g {
                let hosts = snap.hosts(k);
                let arrivals = snap.arrivals(k, g);
                if !hosts.is_empty() && hosts.iter().all(|h| arrivals.contains_key(h)) {
                    self.decide(&snap, g, &Outcome::Ok, deadline).await?;
                    snap = self.snapshot(deadline).await?;
                    continue;
                }
            }
            // Nothing to decide yet: a member gone silent is dead (see liveness.rs); otherwise
            // wait for a change, or for the next beat check.
            // (Only in a wait that has lasted a while: a generation that completes quickly costs
            // no beat reads.)
            let slow = began.elapsed() >= liveness::poll(s.ttl);
            let silent = if slow { self.silent_member(&snap, &mut feed.beats, deadline).await? } else { None };
            if let Some(d) = silent {
                deaths.push(d);
                continue;
            }
            deaths.extend(self.next_change(watch, deadline, Some(liveness::poll(s.ttl))).await?);
            snap = self.snapshot(deadline).await?;
        }
    }

    /// Records this host's arrival at the open generation (with `value`), and which generation
    /// that is for this local generation (for the host's other members). With `expect`, arrives
    /// only if that generation is still open (returns `None` otherwise). Returns the generation.
    async fn commit_arrival(
        &self,
        snap: &mut Snapshot,
        local_gen: u64,
        value: Vec<u8>,
        expect: Option<u64>,
        deadline: Option<Instant>,
    ) -> Result<Option<u64>> {
        let s = &self.s;
        let k = &self.keys;
        loop {
            let g = snap.cur(k);
            if snap.at(k, &s.host, local_gen) == Some(g) {
                return Ok(Some(g)); // an earlier try of this loop succeeded
            }
            if expect.is_some_and(|e| e != g) {
                return Ok(None);
            }
            let (cur, arrival, at, v) = (k.cur(), k.arrival(g, &s.host), k.at(&s.host), value.clone());
            let at_val = format!("{local_gen} {g}");
            let cur_cmp = if snap.kvs.contains_key(&cur) {
                Compare::value(cur.clone(), CompareOp::Equal, g.to_string())
            } else {
                Compare::create_revision(cur.clone(), CompareOp::Equal, 0)
            };
            let r = s
                .call(s.step_deadline(deadline), "arrive", move |mut c| {
                    let txn = Txn::new()
                        .when(vec![cur_cmp.clone(), Compare::create_revision(arrival.clone(), CompareOp::Equal, 0)])
                        .and_then(vec![
                            TxnOp::put(arrival.clone(), v.clone(), None),
                            TxnOp::put(at.clone(), at_val.clone(), None),
                        ]);
                    async move { c.txn(txn).await }
                })
                .await?;
            *snap = self.snapshot(deadline).await?;
            if r.succeeded() {
                return Ok(Some(g));
            }
        }
    }

    /// Tries to end generation `g` with `outcome` (first writer wins; the caller re-reads).
    /// Completing also opens `g + 1` and drops generation `g - 2`'s keys.
    async fn decide(&self, snap: &Snapshot, g: u64, outcome: &Outcome, deadline: Option<Instant>) -> Result<()> {
        let s = &self.s;
        let k = &self.keys;
        let cur = k.cur();
        let mut when = vec![
            Compare::create_revision(k.done(g), CompareOp::Equal, 0),
            if snap.kvs.contains_key(&cur) {
                Compare::value(cur.clone(), CompareOp::Equal, g.to_string())
            } else {
                Compare::create_revision(cur.clone(), CompareOp::Equal, 0)
            },
        ];
        if *outcome == Outcome::Ok {
            // Nobody enrolled or resigned since the snapshot that said everyone arrived.
            when.push(Compare::mod_revision(k.roster(), CompareOp::Equal, snap.roster_mod));
        }
        let mut ops = vec![TxnOp::put(k.done(g), outcome.encode(), None), TxnOp::put(cur, (g + 1).to_string(), None)];
        if g > 2 {
            ops.push(TxnOp::delete(k.generation(g - 2), Some(DeleteOptions::new().with_prefix())));
        }
        if let Outcome::Dead { host, pid } = outcome {
            // A process found silent still has its keys until its lease expires (seconds later):
            // drop them now, so the next generation does not wait for it (or break on it again).
            // For a lease that already expired this deletes nothing.
            ops.push(TxnOp::delete(k.process_members(host, *pid), Some(DeleteOptions::new().with_prefix())));
            ops.push(TxnOp::delete(
                liveness::process_beats(&s.prefix, host, *pid),
                Some(DeleteOptions::new().with_prefix()),
            ));
        }
        s.call(s.step_deadline(deadline), "decide", move |mut c| {
            let txn = Txn::new().when(when.clone()).and_then(ops.clone());
            async move { c.txn(txn).await }
        })
        .await
        .map(drop)
    }
}

impl Drop for ClusterBarrier {
    fn drop(&mut self) {
        let key = self.st().member_key.take();
        if let Some(key) = key {
            let _ = self.local.resign();
            let _ = self.leave_etcd(&key);
        }
    }
}
