//! [`ClusterConfig`]: which etcd cluster to meet through, as whom, and how fast a dead host is
//! noticed. Plain data; environment variables override it so a program needs no change to span
//! hosts.

use muster_shm::{Error, Result};
use std::time::Duration;

/// Environment variable: comma-separated etcd endpoints (`host:port` or `http://host:port`).
/// Overrides [`ClusterConfig::endpoints`].
pub const ENV_CLUSTER: &str = "MUSTER_CLUSTER";
/// Environment variable: this host's id. Overrides [`ClusterConfig::host_id`].
pub const ENV_HOST_ID: &str = "MUSTER_HOST_ID";
/// Environment variable: lease TTL in milliseconds. Overrides [`ClusterConfig::lease_ttl`].
pub const ENV_LEASE_MS: &str = "MUSTER_LEASE_MS";

/// Default lease TTL: a dead process (or host) is noticed by the others within about this long.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(2);

/// Longest host id, in bytes.
pub const MAX_HOST_ID: usize = 128;

/// Where and as whom a process meets the other hosts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClusterConfig {
    /// etcd client endpoints, `host:port` or `http://host:port`. Empty: single host (no etcd);
    /// [`crate::Cluster::connect`] then refuses with [`Error::InvalidArgument`].
    pub endpoints: Vec<String>,
    /// This host's id: every process of one host must use the same id, and distinct hosts
    /// distinct ids. `None`: the hostname.
    pub host_id: Option<String>,
    /// TTL of this process's etcd lease (zero: [`DEFAULT_LEASE_TTL`]). etcd counts leases in
    /// whole seconds and raises very short ones to its minimum (1.5 election timeouts), so this
    /// is rounded up to a whole second.
    pub lease_ttl: Duration,
}

impl ClusterConfig {
    /// A configuration for `endpoints` with the default host id and TTL.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> ClusterConfig {
        ClusterConfig { endpoints: endpoints.into_iter().map(Into::into).collect(), ..ClusterConfig::default() }
    }

    /// Parses a comma-separated endpoint list (the `MUSTER_CLUSTER` / C `cluster_endpoints`
    /// syntax); blanks around commas are ignored, empty items are an error.
    pub fn parse_endpoints(list: &str) -> Result<Vec<String>> {
        let items: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
        if items.iter().any(String::is_empty) {
            return Err(Error::InvalidArgument("cluster endpoint list has an empty item (want host:port,host:port)"));
        }
        if let Some(bad) = items.iter().find(|s| !s.contains(':') || s.chars().any(char::is_whitespace)) {
            return Err(Error::InvalidName(format!("cluster endpoint {bad:?} is not host:port")));
        }
        Ok(items)
    }

    /// This configuration with `MUSTER_CLUSTER`, `MUSTER_HOST_ID` and `MUSTER_LEASE_MS` applied
    /// (set variables win over the fields).
    pub fn with_env(mut self) -> Result<ClusterConfig> {
        if let Some(v) = std::env::var_os(ENV_CLUSTER) {
            let v = v.into_string().map_err(|_| Error::InvalidName("MUSTER_CLUSTER is not UTF-8".into()))?;
            self.endpoints = if v.trim().is_empty() { Vec::new() } else { Self::parse_endpoints(&v)? };
        }
        if let Some(v) = std::env::var_os(ENV_HOST_ID) {
            let v = v.into_string().map_err(|_| Error::InvalidName("MUSTER_HOST_ID is not UTF-8".into()))?;
            self.host_id = Some(v);
        }
        if let Some(v) = std::env::var_os(ENV_LEASE_MS) {
            let ms: u64 = v
                .to_str()
                .and_then(|s| s.trim().parse().ok())
                .ok_or(Error::InvalidArgument("MUSTER_LEASE_MS must be a whole number of milliseconds"))?;
            self.lease_ttl = Duration::from_millis(ms);
        }
        Ok(self)
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
        let ttl = if self.lease_ttl.is_zero() { DEFAULT_LEASE_TTL } else { self.lease_ttl };
        let secs = ttl.as_millis().div_ceil(1000).max(1);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    /// Endpoints as URLs (`http://` added where no scheme is given).
    pub(crate) fn urls(&self) -> Vec<String> {
        self.endpoints.iter().map(|e| if e.contains("://") { e.clone() } else { format!("http://{e}") }).collect()
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
            ClusterConfig::parse_endpoints("127.0.0.1:2379, 10.0.0.2:2379").unwrap(),
            vec!["127.0.0.1:2379".to_owned(), "10.0.0.2:2379".to_owned()]
        );
        assert!(matches!(ClusterConfig::parse_endpoints("a:1,,b:2"), Err(Error::InvalidArgument(_))));
        assert!(matches!(ClusterConfig::parse_endpoints("nohostport"), Err(Error::InvalidName(_))));
    }

    #[test]
    fn host_ids_are_checked() {
        assert!(check_host_id("node-7.rack_2").is_ok());
        assert!(check_host_id("").is_err());
        assert!(check_host_id("a/b").is_err());
        assert!(check_host_id(&"x".repeat(129)).is_err());
        assert!(ClusterConfig::default().effective_host_id().is_ok() || hostname().is_err());
    }

    #[test]
    fn ttl_rounds_up_to_seconds() {
        let mut c = ClusterConfig::default();
        assert_eq!(c.effective_ttl_secs(), 2);
        c.lease_ttl = Duration::from_millis(1500);
        assert_eq!(c.effective_ttl_secs(), 2);
        c.lease_ttl = Duration::from_millis(1);
        assert_eq!(c.effective_ttl_secs(), 1);
        assert_eq!(ClusterConfig::new(["a:1"]).urls(), vec!["http://a:1".to_owned()]);
    }
}
