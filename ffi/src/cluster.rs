//! Barriers across hosts in the C ABI.
//!
//! A region handle whose configuration names an etcd cluster (`cluster_endpoints` in
//! `muster_region_config`, or `MUSTER_CLUSTER` in the environment, which wins) spans hosts: its
//! membership barriers (`parties == 0`) are `muster_cluster::ClusterBarrier`s, so a program that
//! only calls the region and barrier functions meets the same barrier on every host. The etcd
//! session is opened at the first barrier open of the handle (so region functions never touch
//! the network) and shared by the handle's barriers.
//!
//! The cluster code sits behind the cargo feature `cluster` (etcd-client needs protoc to build).
//! Without it a configuration that names a cluster is refused with `MUSTER_EUNAVAILABLE`, never
//! silently served by this host alone. Without the feature [`RegionCluster`] and [`Remote`] are
//! uninhabited, so the routing in `barrier.rs` compiles to the single-host path.

use muster_shm::{ClusterConfig, Error, Region, Result};

/// Why a barrier call is refused on a cluster barrier.
pub(crate) fn not_across_hosts(what: &'static str) -> Error {
    Error::Misuse(what)
}

/// The cluster a region handle opened with `config` is in: the config with the environment
/// applied; `None` when it names no endpoints (this host only). Checked before the region is
/// opened, so a refused configuration leaves no region behind.
///
/// Errors: bad environment values; without the `cluster` feature, a configuration that names a
/// cluster ([`Error::Unavailable`]).
pub(crate) fn for_region(config: Option<&ClusterConfig>) -> Result<Option<RegionCluster>> {
    let c = ClusterConfig::effective(config)?;
    if !c.is_cluster() {
        return Ok(None);
    }
    c.validate()?;
    c.effective_host_id()?;
    #[cfg(feature = "cluster")]
    {
        Ok(Some(RegionCluster::new(c)))
    }
    #[cfg(not(feature = "cluster"))]
    {
        Err(Error::Unavailable(
            "this libmuster was built without the `cluster` feature, so its barriers cannot span hosts; \
             rebuild with `cargo build -p muster-ffi --features cluster`, or unset MUSTER_CLUSTER / \
             cluster_endpoints"
                .into(),
        ))
    }
}

#[cfg(feature = "cluster")]
mod imp {
    use super::*;
    use std::sync::Mutex;

    /// A cluster barrier handle.
    pub(crate) type Remote = muster_cluster::ClusterBarrier;

    /// A region handle's cluster: where to meet, and the session once connected.
    pub(crate) struct RegionCluster {
        config: ClusterConfig,
        session: Mutex<Option<muster_cluster::Cluster>>,
    }

    impl RegionCluster {
        pub(crate) fn new(config: ClusterConfig) -> RegionCluster {
            RegionCluster { config, session: Mutex::new(None) }
        }

        /// Opens the cluster barrier `name` of `region` (connecting first if needed).
        pub(crate) fn barrier(&self, region: &Region, name: &str, parties: u32) -> Result<Remote> {
            if parties != 0 {
                return Err(Error::InvalidArgument(
                    "counted barriers do not span hosts: on a region with a cluster, use a membership barrier \
                     (parties = 0) whose members enroll on any host",
                ));
            }
            let mut s = self.session.lock().unwrap_or_else(|p| p.into_inner());
            let cluster = match &*s {
                Some(c) => c.clone(),
                None => {
                    let name = muster_cluster::cluster_name(region.name())?;
                    let c = muster_cluster::Cluster::connect(region, &name, &self.config)?;
                    *s = Some(c.clone());
                    c
                }
            };
            cluster.barrier(name)
        }
    }
}

#[cfg(not(feature = "cluster"))]
mod imp {
    use super::*;
    use std::time::Duration;

    /// Uninhabited without the `cluster` feature: no handle is ever a cluster barrier.
    pub(crate) enum Remote {}

    /// The wait result of a cluster barrier (never made without the feature).
    pub(crate) struct Wait {
        pub(crate) local: muster_shm::WaitResult,
    }

    #[allow(clippy::unused_self)]
    impl Remote {
        pub(crate) fn enroll(&self) -> Result<()> {
            match *self {}
        }
        pub(crate) fn resign(&self) -> Result<()> {
            match *self {}
        }
        pub(crate) fn wait(&self) -> Result<Wait> {
            match *self {}
        }
        pub(crate) fn wait_timeout(&self, _: Duration) -> Result<Wait> {
            match *self {}
        }
        pub(crate) fn reset(&self) -> Result<()> {
            match *self {}
        }
        pub(crate) fn is_member(&self) -> bool {
            match *self {}
        }
        pub(crate) fn is_broken(&self) -> bool {
            match *self {}
        }
        pub(crate) fn arrive(&self) -> Result<muster_shm::Arrival> {
            match *self {}
        }
        pub(crate) fn await_arrival(&self, _: u64, _: Option<Duration>) -> Result<Wait> {
            match *self {}
        }
    }

    /// Uninhabited without the `cluster` feature ([`for_region`] refuses cluster configs).
    pub(crate) enum RegionCluster {}

    impl RegionCluster {
        pub(crate) fn barrier(&self, _: &Region, _: &str, _: u32) -> Result<Remote> {
            match *self {}
        }
    }
}

pub(crate) use imp::{RegionCluster, Remote};

#[cfg(all(test, not(feature = "cluster")))]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_config_is_refused_without_the_feature() {
        if std::env::var_os(muster_shm::cluster_config::ENV_CLUSTER).is_some() {
            return; // the environment decides; nothing to check here
        }
        assert!(matches!(for_region(None), Ok(None)));
        assert!(matches!(for_region(Some(&ClusterConfig::default())), Ok(None)));
        let c = ClusterConfig::new(["127.0.0.1:2379"]);
        assert!(matches!(for_region(Some(&c)), Err(Error::Unavailable(_))));
    }
}
