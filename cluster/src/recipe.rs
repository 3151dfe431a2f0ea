//! etcd's own `DoubleBarrier` recipe (`client/v3/experimental/recipes/double_barrier.go`),
//! re-expressed with `etcd-client`: the benchmark's baseline, where every process talks to etcd
//! directly (no local stage, one lease-bound key per process per round).
//!
//! * `enter`: put a unique ephemeral key under `<key>/waiters`; list the waiters sorted by
//!   creation revision; the `count`-th one puts `<key>/ready`, everyone else watches for that
//!   put.
//! * `leave`: the waiter with the lowest modification revision waits for the highest to delete
//!   its key; everyone else deletes its own key and waits for the lowest's deletion; the last one
//!   left deletes `ready` and its own key.
//! * Each round uses a fresh key `<key>/<round>` (see [`DoubleBarrier`]'s `round`).
//!
//! Not a Muster API: it exists to measure what Muster's hierarchical barrier is compared with.

use crate::config::ClusterConfig;
use crate::session::retry_until;
use etcd_client::{
    Client, Compare, CompareOp, EventType, GetOptions, PutOptions, SortOrder, SortTarget, Txn, TxnOp, WatchOptions,
};
use muster_shm::{Error, Result};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// A double barrier for `count` processes under `key`.
pub struct DoubleBarrier {
    rt: Runtime,
    client: Client,
    lease: i64,
    key: String,
    count: usize,
    /// This process's waiter key and its creation revision, between `enter` and `leave`.
    mine: Option<(String, i64)>,
    /// Rounds completed: each round uses a fresh barrier key `<key>/<round>`, as if a new
    /// `DoubleBarrier` were made per round. (Reusing one key does not work: a process that
    /// re-enters before a slower one has seen the round's last deletion makes the slower one's
    /// `Leave` wait on the new round's key; the recipe is written for one round per key.)
    round: u64,
}

const STEP: Duration = Duration::from_secs(30);

fn unavailable(e: etcd_client::Error) -> Error {
    Error::Unavailable(format!("etcd: {e}"))
}

impl DoubleBarrier {
    /// Connects (with a lease of `config`'s TTL kept alive in the background) to the barrier.
    pub fn connect(config: &ClusterConfig, key: &str, count: usize) -> Result<DoubleBarrier> {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().map_err(Error::Io)?;
        let ttl = config.effective_ttl_secs();
        let urls = crate::config::urls(config);
        let (client, lease) = rt.block_on(async {
            let client = Client::connect(urls, None).await.map_err(unavailable)?;
            let mut c = client.clone();
            let lease = retry_until(Instant::now() + STEP, "lease", || {
                let mut c = c.clone();
                async move { c.lease_grant(ttl, None).await }
            })
            .await?
            .id();
            let (mut keeper, mut stream) = c.lease_keep_alive(lease).await.map_err(unavailable)?;
            let period = Duration::from_millis(u64::try_from(ttl).unwrap_or(1) * 1000 / 3);
            tokio::spawn(async move {
                loop {
                    if keeper.keep_alive().await.is_err() || stream.message().await.is_err() {
                        return;
                    }
                    tokio::time::sleep(period).await;
                }
            });
            Ok::<_, Error>((client, lease))
        })?;
        Ok(DoubleBarrier { rt, client, lease, key: key.to_owned(), count, mine: None, round: 0 })
    }

    async fn wait_event(client: &Client, key: String, from: i64, kind: EventType) -> Result<()> {
        let mut c = client.clone();
        let (_w, mut s) =
            c.watch(key, Some(WatchOptions::new().with_start_revision(from))).await.map_err(unavailable)?;
        loop {
            match s.message().await.map_err(unavailable)? {
                Some(r) if r.events().iter().any(|e| e.event_type() == kind) => return Ok(()),
                Some(_) => {}
                None => return Err(Error::Unavailable("etcd watch ended".into())),
            }
        }
    }

    /// Enter: returns once `count` processes entered.
    pub fn enter(&mut self) -> Result<()> {
        let waiters = format!("{}/{}/waiters", self.key, self.round);
        let ready = format!("{}/{}/ready", self.key, self.round);
        let mut c = self.client.clone();
        let (lease, count) = (self.lease, self.count);
        let mine = self.rt.block_on(async move {
            let sorted = || GetOptions::new().with_prefix().with_sort(SortTarget::Create, SortOrder::Ascend);
            let n = c.get(waiters.clone(), Some(sorted())).await.map_err(unavailable)?.kvs().len();
            if n >= count {
                return Err(Error::Full("too many clients in the double barrier"));
            }
            // newUniqueEphemeralKey: a fresh key under the prefix, created only if absent.
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let my = format!("{waiters}/{nanos}-{}", std::process::id());
            let r = c
                .txn(
                    Txn::new()
                        .when(vec![Compare::create_revision(my.clone(), CompareOp::Equal, 0)])
                        .and_then(vec![TxnOp::put(my.clone(), "", Some(PutOptions::new().with_lease(lease)))]),
                )
                .await
                .map_err(unavailable)?;
            let rev = r.header().map_or(0, |h| h.revision());

            let all = c.get(waiters.clone(), Some(sorted())).await.map_err(unavailable)?;
            if all.kvs().len() >= count {
                let last = &all.kvs()[count - 1];
                if rev > last.create_revision() {
                    let _ = c.delete(my.clone(), None).await;
                    return Err(Error::Full("too many clients in the double barrier"));
                }
                if rev == last.create_revision() {
                    c.put(ready, "", None).await.map_err(unavailable)?;
                    return Ok((my, rev));
                }
            }

            Self::wait_event(&c, ready, rev, EventType::Put).await?;
            Ok((my, rev))
        })?;
        self.mine = Some(mine);
        Ok(())
    }

    /// Leave: returns once every process left.
    pub fn leave(&mut self) -> Result<()> {
        let Some((my, _)) = self.mine.take() else { return Err(Error::Misuse("leave without enter")) };
        let waiters = format!("{}/{}/waiters", self.key, self.round);
        let ready = format!("{}/{}/ready", self.key, self.round);
        self.round += 1;
        let c = self.client.clone();
        self.rt.block_on(async move {
            let mut c = c;
            loop {
                let r = c.get(waiters.clone(), Some(GetOptions::new().with_prefix())).await.map_err(unavailable)?;
                let kvs = r.kvs();
                let Some(first) = kvs.first() else { return Ok(()) };
                let (mut lowest, mut highest) = (first, first);
                for k in kvs {
                    if k.mod_revision() < lowest.mod_revision() {
                        lowest = k;
                    }
                    if k.mod_revision() > highest.mod_revision() {
                        highest = k;
                    }
                }
                let is_lowest = lowest.key() == my.as_bytes();
                if kvs.len() == 1 && is_lowest {
                    c.delete(ready.clone(), None).await.map_err(unavailable)?;
                    c.delete(my.clone(), None).await.map_err(unavailable)?;
                    return Ok(());
                }
                if is_lowest {
                    let (hk, hr) = (highest.key().to_vec(), highest.mod_revision());
                    Self::wait_event(&c, String::from_utf8_lossy(&hk).into_owned(), hr, EventType::Delete).await?;
                    continue;
                }
                let (lk, lr) = (lowest.key().to_vec(), lowest.mod_revision());
                // Our key may already be gone from an earlier round of this loop.
                c.delete(my.clone(), None).await.map_err(unavailable)?;
                Self::wait_event(&c, String::from_utf8_lossy(&lk).into_owned(), lr, EventType::Delete).await?;
            }
        })
    }
}
