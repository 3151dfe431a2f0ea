//! The cluster configuration is plain data defined in `muster-shm` (so a
//! [`muster_shm::RegionConfig`] can carry it without depending on etcd); this crate re-exports it
//! and adds what only the etcd client needs.

pub use muster_shm::cluster_config::{
    check_host_id, cluster_name, ClusterConfig, DEFAULT_LEASE_TTL, ENV_CLUSTER, ENV_CLUSTER_NAME, ENV_HOST_ID,
    ENV_LEASE_MS,
};

/// Endpoints as URLs (`http://` added where no scheme is given).
pub(crate) fn urls(config: &ClusterConfig) -> Vec<String> {
    config.endpoints.iter().map(|e| if e.contains("://") { e.clone() } else { format!("http://{e}") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_a_scheme() {
        assert_eq!(
            urls(&ClusterConfig::new(["a:1", "https://b:2"])),
            vec!["http://a:1".to_owned(), "https://b:2".into()]
        );
    }
}
