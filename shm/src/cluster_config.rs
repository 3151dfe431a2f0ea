//! [`ClusterConfig`]: which etcd cluster a region's barriers meet through, as which host, and how
//! fast a dead host is noticed.
//!
//! This is plain data carried by [`crate::RegionConfig::cluster`] and by the region handle
//! ([`crate::Region::cluster_config`]); this crate never talks to etcd. The `muster-cluster`
//! crate (and libmuster built with its `cluster` feature) acts on it: a region opened with the
//! same name and cluster on every host spans the hosts. The environment variables
//! [`ENV_CLUSTER`], [`ENV_HOST_ID`] and [`ENV_LEASE_MS`] override the fields
//! ([`ClusterConfig::with_env`]), so a program needs no change to span hosts.

use crate::{Error, Result};
use std::time::Duration;

/// Environment variable: comma-separated etcd endpoints (`host:port` or `http://host:port`).
/// Overrides [`ClusterConfig::endpoints`]; set but empty means single host.
pub const ENV_CLUSTER: &str = "MUSTER_CLUSTER";
/// Environment variable: this host's id. Overrides [`ClusterConfig::host_id`].
pub const ENV_HOST_ID: &str = "MUSTER_HOST_ID";
/// Environment variable: lease TTL in milliseconds. Overrides [`ClusterConfig::lease_ttl`].
pub const ENV_LEASE_MS: &str = "MUSTER_LEASE_MS";
/// Environment variable: the name the region has across hosts (default: the region's own name).
/// Only needed to simulate several hosts on one machine, where each simulated host needs its own
/// local region (`/dev/shm` name) but all must meet under one cluster name.
pub const ENV_CLUSTER_NAME: &str = "MUSTER_CLUSTER_NAME";

/// Default lease TTL: a dead process (or host) is noticed by the others within about this long.
/// 3 s, so that an election of an etcd cluster with the default 1 s election timeout does not
/// make every process give up (see [`ClusterConfig::lease_ttl`]).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(3);

/// Longest host id, in bytes.
pub const MAX_HOST_ID: usize = 128;

/// Where and as whom a process meets the other hosts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClusterConfig {
    /// etcd client endpoints, `host:port` or `http://host:port`. Empty: single host (no etcd).
    pub endpoints: Vec<String>,
    /// This host's id: every process of one host must use the same id, and distinct hosts
    /// distinct ids. `None`: the hostname.
    pub host_id: Option<String>,
    /// TTL of this process's etcd lease (`None` or zero: [`DEFAULT_LEASE_TTL`]). etcd counts
    /// leases in whole seconds, so this is rounded up to a whole second. It bounds how long a
    /// cut-off host takes to be seen dead, and it must outlast an etcd leader election (during
    /// one no process can refresh its liveness, and one that could not for a whole TTL gives up
    /// with `Unavailable`): with etcd's default 1 s election timeout, use 3 s or more.
    pub lease_ttl: Option<Duration>,
}

impl ClusterConfig {
    /// A configuration for `endpoints` with the default host id and TTL.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> ClusterConfig {
        ClusterConfig { endpoints: endpoints.into_iter().map(Into::into).collect(), ..ClusterConfig::default() }
    }

    /// Parses a comma-separated endpoint list (the `MUSTER_CLUSTER` / C `cluster_endpoints`
    /// syntax): `host:port` or `http[s]://host:port` items, blanks around commas ignored. An empty
    /// item, a missing host or a port outside 1..=65535 is [`Error::InvalidArgument`].
    pub fn parse_endpoints(list: &str) -> Result<Vec<String>> {
        const BAD: &str = "cluster endpoints must be a comma-separated list of host:port (port 1..=65535)";
        let items: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
        for item in &items {
            let bare = item.strip_prefix("http://").or_else(|| item.strip_prefix("https://")).unwrap_or(item);
            let Some((host, port)) = bare.rsplit_once(':') else { return Err(Error::InvalidArgument(BAD)) };
            let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
            let host_ok = !host.is_empty() && !host.contains(['/', '@']) && !host.chars().any(char::is_whitespace);
            if !(port_ok && host_ok) {
                return Err(Error::InvalidArgument(BAD));
            }
        }
        Ok(items)
    }

    /// Checks what can be checked without the network: every endpoint parses (see
    /// [`parse_endpoints`](Self::parse_endpoints)) and the host id, if given, is valid.
    pub fn validate(&self) -> Result<()> {
        if !self.endpoints.is_empty() {
            Self::parse_endpoints(&self.endpoints.join(","))?;
        }
        if let Some(h) = &self.host_id {
            check_host_id(h)?;
        }
        Ok(())
    }

    /// This configuration with `MUSTER_CLUSTER`, `MUSTER_HOST_ID` and `MUSTER_LEASE_MS` applied
    /// (set variables win over the fields).
    pub fn with_env(mut self) -> Result<ClusterConfig> {
        if let Some(v) = std::env::var_os(ENV_CLUSTER) {
            let v = v.into_string().map_err(|_| Error::InvalidArgument("MUSTER_CLUSTER is not UTF-8"))?;
            self.endpoints = if v.trim().is_empty() { Vec::new() } else { Self::parse_endpoints(&v)? };
        }
        if let Some(v) = std::env::var_os(ENV_HOST_ID) {
            let v = v.into_string().map_err(|_| Error::InvalidName("MUSTER_HOST_ID is not UTF-8".into()))?;
            check_host_id(&v)?;
            self.host_id = Some(v);
        }
        if let Some(v) = std::env::var_os(ENV_LEASE_MS) {
            let ms: u64 = v
                .to_str()
                .and_then(|s| s.trim().parse().ok())
                .ok_or(Error::InvalidArgument("MUSTER_LEASE_MS must be a whole number of milliseconds"))?;
            self.lease_ttl = Some(Duration::from_millis(ms));
        }
        Ok(self)
    }

    /// `config` (or the default, single-host one) with the environment applied: the cluster
    /// configuration a region opened with `config` is in.
    pub fn effective(config: Option<&ClusterConfig>) -> Result<ClusterConfig> {
        config.cloned().unwrap_or_default().with_env()
    }

    /// Whether this configuration spans hosts (has endpoints).
    pub fn is_cluster(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// The host id in effect: the configured one (checked) or the hostname.
    pub fn effective_host_id(&self) -> Result<String> {
        let id = match &self.host_id {
            Some(h) => h.clone(),
            None => hostname()?,
        };
        check_host_id(&id)?;
        Ok(id)
    }

    /// The lease TTL in effect, in whole seconds (at least 1).
    pub fn effective_ttl_secs(&self) -> i64 {
        let ttl = self.lease_ttl.filter(|t| !t.is_zero()).unwrap_or(DEFAULT_LEASE_TTL);
        let secs = ttl.as_millis().div_ceil(1000).max(1);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }
}

/// The name a region has across hosts: `MUSTER_CLUSTER_NAME` if set, else `local` (the region's
/// own name).
pub fn cluster_name(local: &str) -> Result<String> {
    match std::env::var_os(ENV_CLUSTER_NAME) {
        Some(v) => {
            let v = v.into_string().map_err(|_| Error::InvalidName("MUSTER_CLUSTER_NAME is not UTF-8".into()))?;
            crate::name::check_region_name(&v)?;
            Ok(v)
        }
        None => Ok(local.to_owned()),
    }
}

/// Host ids become etcd key segments: 1..=128 bytes of `[A-Za-z0-9._-]`.
pub fn check_host_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_HOST_ID {
        return Err(Error::InvalidName(format!("host id must be 1..={MAX_HOST_ID} bytes, got {}", id.len())));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(Error::InvalidName(format!("host id may contain only [A-Za-z0-9._-], found {c:?}")));
    }
    Ok(())
}

fn hostname() -> Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is a writable buffer of the length passed; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(Error::Io(std::io::Error::last_os_error()));
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).map_err(|_| Error::InvalidName("hostname is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_reject_garbage() {
        assert_eq!(
            ClusterConfig::parse_endpoints("127.0.0.1:2379, http://10.0.0.2:2379").unwrap(),
            vec!["127.0.0.1:2379".to_owned(), "http://10.0.0.2:2379".to_owned()]
        );
        for bad in ["a:1,,b:2", "nohostport", ":2379", "h:0", "h:65536", "h:x", "a b:1", "h/p:1", ""] {
            assert!(matches!(ClusterConfig::parse_endpoints(bad), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
    }

    #[test]
    fn host_ids_are_checked() {
        assert!(check_host_id("node-7.rack_2").is_ok());
        assert!(check_host_id("").is_err());
        assert!(check_host_id("a/b").is_err());
        assert!(check_host_id(&"x".repeat(129)).is_err());
        assert!(ClusterConfig::default().effective_host_id().is_ok() || hostname().is_err());
        let bad = ClusterConfig { host_id: Some("a b".into()), ..ClusterConfig::new(["h:1"]) };
        assert!(bad.validate().is_err());
        assert!(ClusterConfig::new(["h:1", "k:2"]).validate().is_ok());
    }

    #[test]
    fn ttl_rounds_up_to_seconds() {
        let mut c = ClusterConfig::default();
        assert_eq!(c.effective_ttl_secs(), 3, "the default");
        c.lease_ttl = Some(Duration::ZERO);
        assert_eq!(c.effective_ttl_secs(), 3, "zero means the default");
        c.lease_ttl = Some(Duration::from_millis(1500));
        assert_eq!(c.effective_ttl_secs(), 2);
        c.lease_ttl = Some(Duration::from_millis(1));
        assert_eq!(c.effective_ttl_secs(), 1);
    }
}
