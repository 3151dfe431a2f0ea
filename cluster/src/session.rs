//! [`Cluster`]: one process's session with etcd for one region: a client, a lease and a beat
//! kept alive in the background (the process's liveness as seen from other hosts, see
//! `liveness.rs`), and bounded, retried etcd calls.
//!
//! Every etcd call goes through [`Session::call`], which retries transport errors (an etcd member
//! that died, a leader election) until a deadline and then fails with [`Error::Unavailable`], so
//! no call can hang. Without a caller's deadline the bound is the lease TTL: a process that cannot
//! reach etcd for that long has been declared dead by the others anyway.

use crate::config::ClusterConfig;
use crate::liveness;
use etcd_client::{Client, ConnectOptions, PutOptions};
use muster_shm::{Error, Region, Result};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::watch;

/// Pause between retries of a failed etcd call.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// A process's etcd session for one region (cheap to clone). Open cluster barriers with
/// [`Cluster::join`] / [`Cluster::barrier`].
#[derive(Clone)]
pub struct Cluster {
    pub(crate) s: Arc<Session>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("prefix", &self.s.prefix).field("host", &self.s.host).finish()
    }
}

pub(crate) struct Session {
    pub(crate) rt: Runtime,
    pub(crate) client: Client,
    pub(crate) lease: i64,
    pub(crate) host: String,
    pub(crate) pid: u32,
    /// `/muster/<name>/`: every key of this cluster region lives under it.
    pub(crate) prefix: String,
    pub(crate) region: Region,
    pub(crate) ttl: Duration,
    /// Set (to the reason) once the lease is lost or etcd was unreachable for a whole TTL.
    pub(crate) lost: watch::Receiver<Option<String>>,
    pub(crate) seq: AtomicU64,
    /// This process's successful beats so far (see `liveness.rs`).
    pub(crate) beats: Arc<AtomicU64>,
    keeper: tokio::task::JoinHandle<()>,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("etcd {what}: {e}"))
}

impl Cluster {
    /// Connects this process to the etcd cluster of `config` (after applying the environment
    /// overrides, see [`ClusterConfig::with_env`]) for the cluster region `name`: every process on
    /// every host that uses the same `name` and etcd cluster meets at its barriers. On a real
    /// cluster `name` is usually `region.name()`; it may differ from the local region's name
    /// (simulating several hosts on one machine with one region per simulated host).
    ///
    /// Grants this process a lease of `lease_ttl` and keeps it alive from a background thread.
    /// Fails with [`Error::Unavailable`] if etcd does not answer within the lease TTL.
    pub fn connect(region: &Region, name: &str, config: &ClusterConfig) -> Result<Cluster> {
        let config = config.clone().with_env()?;
        if !config.is_cluster() {
            return Err(Error::InvalidArgument("cluster config has no etcd endpoints (set MUSTER_CLUSTER)"));
        }
        muster_shm::name::check_region_name(name)?;
        let host = config.effective_host_id()?;
        let ttl_secs = config.effective_ttl_secs();
        let ttl = Duration::from_secs(ttl_secs.unsigned_abs());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("muster-cluster")
            .enable_all()
            .build()
            .map_err(Error::Io)?;
        let urls = crate::config::urls(&config);
        let deadline = Instant::now() + ttl;
        let prefix = format!("/muster/{name}/");
        let (client, lease, key) = rt.block_on(async {
            // A request stuck on a dead etcd member gives up after a quarter of the TTL, so the
            // retry reaches a live member well within the step's deadline.
            let opts = ConnectOptions::new()
                .with_connect_timeout(per_try(ttl))
                .with_timeout(per_try(ttl))
                .with_keep_alive(Duration::from_millis(500), ttl);
            let client = tokio::time::timeout(ttl, Client::connect(urls.clone(), Some(opts)))
                .await
                .map_err(|_| unavailable("connect", format_args!("no answer from {urls:?} within {ttl:?}")))?
                .map_err(|e| unavailable("connect", format_args!("{urls:?}: {e}")))?;
            let lease = retry_until(deadline, "lease grant", || {
                let mut c = client.clone();
                async move { c.lease_grant(ttl_secs, None).await }
            })
            .await?
            .id();
            // The first beat before any enroll: every member has one (see liveness.rs).
            let key = liveness::beat_key(&prefix, &host, std::process::id(), lease);
            retry_until(deadline, "beat", || {
                let (mut c, k) = (client.clone(), key.clone());
                async move { c.put(k, "0", Some(PutOptions::new().with_lease(lease))).await }
            })
            .await?;
            Ok::<_, Error>((client, lease, key))
        })?;
        let (tx, lost) = watch::channel(None);
        let beats = Arc::new(AtomicU64::new(1));
        let keeper = rt.spawn(liveness::keep_alive(client.clone(), lease, key, ttl, beats.clone(), tx));
        Ok(Cluster {
            s: Arc::new(Session {
                rt,
                client,
                lease,
                host,
                pid: std::process::id(),
                prefix,
                region: region.clone(),
                ttl,
                lost,
                seq: AtomicU64::new(0),
                beats,
                keeper,
            }),
        })
    }

    /// Connects for `region` as configured: its [`muster_shm::RegionConfig::cluster`] (given at
    /// create / open_or_create), overridden by `MUSTER_CLUSTER`, `MUSTER_HOST_ID` and
    /// `MUSTER_LEASE_MS`, under the cluster name `MUSTER_CLUSTER_NAME` or else the region's
    /// name. So a program that opens the same region on every host with the same cluster (or
    /// runs under the same `MUSTER_CLUSTER`) meets across hosts without naming etcd itself.
    ///
    /// Errors: [`Error::InvalidArgument`] if neither the region's config nor the environment
    /// names endpoints; otherwise as [`connect`](Self::connect).
    pub fn from_region(region: &Region) -> Result<Cluster> {
        let config = ClusterConfig::effective(region.cluster_config())?;
        let name = crate::config::cluster_name(region.name())?;
        Cluster::connect(region, &name, &config)
    }

    /// This process's host id.
    pub fn host_id(&self) -> &str {
        &self.s.host
    }

    /// The lease TTL in effect (whole seconds).
    pub fn lease_ttl(&self) -> Duration {
        self.s.ttl
    }

    /// The local region this session's barriers meet in.
    pub fn region(&self) -> &Region {
        &self.s.region
    }
}

impl Session {
    /// Fails if the session is lost (lease expired or etcd unreachable for a TTL).
    pub(crate) fn check_lost(&self) -> Result<()> {
        match &*self.lost.borrow() {
            Some(why) => Err(Error::Unavailable(why.clone())),
            None => Ok(()),
        }
    }

    /// Runs one etcd call, retrying transport failures until `deadline`.
    pub(crate) async fn call<T, F, Fut>(&self, deadline: Instant, what: &str, f: F) -> Result<T>
    where
        F: FnMut(Client) -> Fut,
        Fut: Future<Output = std::result::Result<T, etcd_client::Error>>,
    {
        self.check_lost()?;
        let client = self.client.clone();
        let mut f = f;
        retry_until(deadline, what, move || f(client.clone())).await
    }

    /// A fresh deadline for an etcd step of a wait without the caller's deadline.
    pub(crate) fn step_deadline(&self, caller: Option<Instant>) -> Instant {
        let own = Instant::now() + self.ttl;
        caller.map_or(own, |c| c.min(own))
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.keeper.abort();
        // Revoking the lease deletes this process's member keys at once (others need not wait
        // for the TTL); best effort, bounded.
        let mut c = self.client.clone();
        let lease = self.lease;
        let _ = self
            .rt
            .block_on(async move { tokio::time::timeout(Duration::from_millis(500), c.lease_revoke(lease)).await });
    }
}

/// How long one try of an etcd call may take: a quarter of the TTL, at least 250 ms.
pub(crate) fn per_try(ttl: Duration) -> Duration {
    (ttl / 4).max(Duration::from_millis(250))
}

/// Retries `f` on failure until `deadline`, each try bounded by what is left.
pub(crate) async fn retry_until<T, F, Fut>(deadline: Instant, what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, etcd_client::Error>>,
{
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            // Out of time before the first try: the caller's timeout, not etcd's fault.
            let Some(last) = last else { return Err(Error::Timeout) };
            return Err(unavailable(what, format_args!("gave up at the deadline: {last}")));
        }
        match tokio::time::timeout(left, f()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => last = Some(e.to_string()),
            Err(_) => last = Some("no answer before the deadline".into()),
        }
        tokio::time::sleep(RETRY_PAUSE.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}
