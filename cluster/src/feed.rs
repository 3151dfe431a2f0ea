//! An enrolled cluster barrier handle's view of etcd: reads of the barrier's keys, the one watch
//! kept across waits, and the beat check that finds members gone silent (see `liveness.rs`).

use crate::barrier::ClusterBarrier;
use crate::keys::Snapshot;
use crate::liveness::{self, Beats};
use etcd_client::{EventType, GetOptions, WatchOptions, WatchStream, Watcher};
use muster_shm::{Error, Result};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// An enrolled handle's etcd feed: one watch on the barrier's prefix, opened at enroll and kept
/// across waits (a watch opened on a past revision is served by etcd's 100 ms catch-up loop, and
/// one kept open also sees deaths between waits), and the deaths it showed that may still
/// matter.
#[derive(Default)]
pub(crate) struct Feed {
    pub(crate) watch: Option<Watch>,
    pub(crate) deaths: Vec<(i64, String, u32)>,
    /// What the waits of this handle saw of the other members' beats.
    pub(crate) beats: Beats,
}

/// One etcd watch on the barrier's prefix, re-established after errors from where it stopped.
pub(crate) struct Watch {
    _watcher: Watcher,
    stream: WatchStream,
    next_rev: i64,
}

impl ClusterBarrier {
    pub(crate) async fn snapshot(&self, deadline: Option<Instant>) -> Result<Snapshot> {
        let s = &self.s;
        let base = self.keys.base.clone();
        let r = s
            .call(s.step_deadline(deadline), "read", move |mut c| {
                let b = base.clone();
                async move { c.get(b, Some(GetOptions::new().with_prefix())).await }
            })
            .await?;
        let rev = r.header().map_or(0, |h| h.revision());
        Ok(Snapshot::new(rev, r.kvs(), &self.keys))
    }

    pub(crate) async fn open_watch(&self, from: i64, deadline: Option<Instant>) -> Result<Watch> {
        let s = &self.s;
        let base = self.keys.base.clone();
        let (w, stream) = s
            .call(s.step_deadline(deadline), "watch", move |mut c| {
                let b = base.clone();
                async move { c.watch(b, Some(WatchOptions::new().with_prefix().with_start_revision(from))).await }
            })
            .await?;
        Ok(Watch { _watcher: w, stream, next_rev: from })
    }

    /// Waits for the next batch of changes; returns the deaths it shows (revision, host, pid).
    /// Times out at the caller's deadline ([`Error::Timeout`]); a lost session is
    /// [`Error::Unavailable`]. With `tick`, returns (no deaths) after that long without changes.
    pub(crate) async fn next_change(
        &self,
        w: &mut Watch,
        deadline: Option<Instant>,
        tick: Option<Duration>,
    ) -> Result<Vec<(i64, String, u32)>> {
        let mut lost = self.s.lost.clone();
        loop {
            self.s.check_lost()?;
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let ticked = async {
                match tick {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            let msg = tokio::select! {
                biased;
                m = w.stream.message() => m,
                _ = lost.changed() => continue,
                _ = sleep => return Err(Error::Timeout),
                _ = ticked => return Ok(Vec::new()),
            };
            match msg {
                Ok(Some(resp)) if !resp.canceled() => {
                    let events = resp.events();
                    if let Some(last) = events.iter().filter_map(|e| e.kv()).map(|kv| kv.mod_revision()).max() {
                        w.next_rev = w.next_rev.max(last + 1);
                    }
                    let roster = self.keys.roster();
                    let graceful: Vec<i64> = events
                        .iter()
                        .filter(|e| e.event_type() == EventType::Put)
                        .filter_map(|e| e.kv())
                        .filter(|kv| kv.key() == roster.as_bytes())
                        .map(|kv| kv.mod_revision())
                        .collect();
                    let deaths: Vec<(i64, String, u32)> = events
                        .iter()
                        .filter(|e| e.event_type() == EventType::Delete)
                        .filter_map(|e| e.kv())
                        .filter(|kv| !graceful.contains(&kv.mod_revision()))
                        .filter_map(|kv| self.keys.parse_member(kv.key()).map(|(h, p)| (kv.mod_revision(), h, p)))
                        .collect();
                    if events.is_empty() {
                        continue; // the watch's "created" notice
                    }
                    return Ok(deaths);
                }
                _ => {
                    // The member serving the watch went away: watch again from where we were.
                    *w = self.open_watch(w.next_rev, deadline).await?;
                }
            }
        }
    }

    /// Takes the deaths among changes already delivered, without waiting. Returns whether there
    /// were any changes (then the caller must read the keys again: a change consumed here will
    /// not wake `next_change`).
    pub(crate) async fn drain(&self, w: &mut Watch, deaths: &mut Vec<(i64, String, u32)>) -> Result<bool> {
        let mut any = false;
        loop {
            match self.next_change(w, Some(Instant::now()), None).await {
                Ok(d) => {
                    deaths.extend(d);
                    any = true;
                }
                Err(Error::Timeout) => return Ok(any),
                Err(e) => return Err(e),
            }
        }
    }

    /// When due (see [`Beats::due`]), reads the beats and returns a member of `snap` (other than
    /// this process) that has gone silent, as a death `(revision, host, pid)` dated after `snap`.
    pub(crate) async fn silent_member(
        &self,
        snap: &Snapshot,
        beats: &mut Beats,
        deadline: Option<Instant>,
    ) -> Result<Option<(i64, String, u32)>> {
        let s = &self.s;
        if !beats.due(s.ttl) {
            return Ok(None);
        }
        let suspects: Vec<(String, String, u32)> = snap
            .kvs
            .keys()
            .filter_map(|k| self.keys.parse_member_lease(k.as_bytes()))
            .filter(|(h, p, _)| !(*h == s.host && *p == s.pid))
            .map(|(h, p, lease)| (liveness::beat_key(&s.prefix, &h, p, lease), h, p))
            .collect();
        if suspects.is_empty() {
            beats.last_read = Some(Instant::now());
            return Ok(None);
        }
        let prefix = format!("{}beat/", s.prefix);
        let r = s
            .call(s.step_deadline(deadline), "read beats", move |mut c| {
                let p = prefix.clone();
                async move { c.get(p, Some(GetOptions::new().with_prefix())).await }
            })
            .await?;
        let values: HashMap<String, Vec<u8>> =
            r.kvs().iter().map(|kv| (String::from_utf8_lossy(kv.key()).into_owned(), kv.value().to_vec())).collect();
        let own = s.beats.load(Ordering::Relaxed);
        Ok(beats.silent(&values, &suspects, own, s.ttl).map(|(h, p)| (snap.rev + 1, h, p)))
    }
}
