//! The cluster barrier's API in one process (one simulated host) against a one-member etcd:
//! generations, values, membership rules, timeout and cancel, configuration errors, and etcd
//! going away (a clear error within the caller's timeout, not a hang).

mod common;
use common::*;
use muster_cluster::{Cluster, ClusterConfig};
use muster_shm::{Error, Region, RegionConfig};
use std::time::{Duration, Instant};

fn config(etcd: &muster_cluster::testkit::EtcdCluster, host: &str) -> ClusterConfig {
    ClusterConfig { host_id: Some(host.into()), ..ClusterConfig::new(etcd.endpoints()) }
}

#[test]
fn generations_values_and_membership_rules() {
    let _g = serial();
    let Some(etcd) = etcd(1) else { return };
    let name = unique("api");
    let regions = Regions(vec![name.clone()]);
    let region = Region::create(&regions.0[0], &RegionConfig::default()).expect("region");
    let cluster = Cluster::connect(&region, &name, &config(&etcd, "solo")).expect("connect");
    assert_eq!(cluster.host_id(), "solo");
    let b = cluster.join("Phase 1").expect("join");
    assert!(b.is_member());
    let mut last = None;
    for i in 0..20u64 {
        let w = b.wait_with(None, || format!("v{i}").into_bytes()).expect("wait");
        assert!(w.host_leader, "a lone member leads its host");
        assert_eq!(w.values.get("solo").map(Vec::as_slice), Some(format!("v{i}").as_bytes()));
        if let Some(l) = last {
            assert_eq!(w.generation, l + 1);
        }
        last = Some(w.generation);
    }
    assert!(matches!(b.enroll(), Err(Error::Misuse(_))));

    // Two members (threads) of one host: one leader per generation, same generation for both.
    let b2 = cluster.join("Phase 1").expect("second member");
    let t = std::thread::spawn(move || (0..30).map(|_| b2.wait().expect("wait 2")).collect::<Vec<_>>());
    let mine: Vec<_> = (0..30).map(|_| b.wait().expect("wait 1")).collect();
    let theirs = t.join().expect("thread");
    for (a, c) in mine.iter().zip(&theirs) {
        assert_eq!(a.generation, c.generation);
        assert!(a.host_leader ^ c.host_leader, "exactly one host leader per generation");
    }

    // A member that never arrives: the waiter's timeout cancels it, and it leaves the barrier.
    let idle = cluster.join("Phase 1").expect("idle member");
    assert!(matches!(b.wait_timeout(Duration::from_millis(300)), Err(Error::Timeout)));
    assert!(matches!(b.wait(), Err(Error::Cancelled)));
    assert!(!b.is_member());
    let w = idle.wait_timeout(Duration::from_secs(30)).expect("the idle member alone completes");
    assert_eq!(w.values.len(), 1);
    b.enroll().expect("enroll again");
    idle.resign().expect("resign");
    assert!(matches!(idle.resign(), Err(Error::Misuse(_))));
    assert!(matches!(idle.wait(), Err(Error::Cancelled)));
    b.wait_timeout(Duration::from_secs(30)).expect("alone again after the resign");

    let outsider = cluster.barrier("Phase 1").expect("open without enrolling");
    assert!(matches!(outsider.wait(), Err(Error::Misuse(_))));
}

#[test]
fn configuration_errors_are_clear() {
    let _g = serial();
    let name = unique("cfg");
    let regions = Regions(vec![name.clone()]);
    let region = Region::create(&regions.0[0], &RegionConfig::default()).expect("region");
    std::env::remove_var("MUSTER_CLUSTER");
    std::env::remove_var("MUSTER_HOST_ID");
    assert!(matches!(Cluster::connect(&region, &name, &ClusterConfig::default()), Err(Error::InvalidArgument(_))));
    let bad_host = ClusterConfig { host_id: Some("a/b".into()), ..ClusterConfig::new(["127.0.0.1:1"]) };
    assert!(matches!(Cluster::connect(&region, &name, &bad_host), Err(Error::InvalidName(_))));
    // Nothing listens there: a clear error within the lease TTL.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let dead = ClusterConfig {
        host_id: Some("h".into()),
        lease_ttl: Some(Duration::from_secs(1)),
        ..ClusterConfig::new([format!("127.0.0.1:{port}")])
    };
    let t = Instant::now();
    let r = Cluster::connect(&region, &name, &dead);
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    println!("connect to a dead endpoint: {:?} after {:?}", r.err().map(|e| e.to_string()), t.elapsed());

    // Environment overrides.
    std::env::set_var("MUSTER_CLUSTER", "10.1.1.1:2379,10.1.1.2:2379");
    std::env::set_var("MUSTER_HOST_ID", "node-9");
    let c = ClusterConfig::new(["x:1"]).with_env().expect("env");
    std::env::remove_var("MUSTER_CLUSTER");
    std::env::remove_var("MUSTER_HOST_ID");
    assert_eq!(c.endpoints, vec!["10.1.1.1:2379".to_owned(), "10.1.1.2:2379".to_owned()]);
    assert_eq!(c.host_id.as_deref(), Some("node-9"));
}

#[test]
fn etcd_down_gives_unavailable_within_the_timeout() {
    let _g = serial();
    let Some(mut etcd) = etcd(1) else { return };
    let name = unique("down");
    let regions = Regions(vec![name.clone()]);
    let region = Region::create(&regions.0[0], &RegionConfig::default()).expect("region");
    let cluster = Cluster::connect(&region, &name, &config(&etcd, "solo")).expect("connect");
    let b = cluster.join("Phase 1").expect("join");
    b.wait().expect("wait while etcd is up");
    etcd.kill(0);
    let t = Instant::now();
    let r = b.wait_timeout(Duration::from_millis(1500));
    let took = t.elapsed();
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    println!("etcd down: `{}` after {took:?} (timeout 1.5 s)", r.err().map(|e| e.to_string()).unwrap_or_default());
    assert!(took < Duration::from_secs(60), "not a hang");
    assert!(matches!(b.wait(), Err(Error::Broken)));
    // Without a timeout: bounded by the lease TTL.
    b.reset().expect("reset");
    let t = Instant::now();
    let r = b.wait();
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    println!("etcd down, no timeout: `{}` after {:?}", r.err().map(|e| e.to_string()).unwrap_or_default(), t.elapsed());
}

#[test]
fn a_region_carries_its_cluster_and_from_region_meets_through_it() {
    let _g = serial();
    let Some(etcd) = etcd(1) else { return };
    let name = unique("fromregion");
    let regions = Regions(vec![name.clone()]);
    let cfg = RegionConfig { cluster: Some(config(&etcd, "carried")), ..RegionConfig::default() };
    let region = Region::create(&regions.0[0], &cfg).expect("region");
    assert_eq!(region.cluster_config(), cfg.cluster.as_ref());
    // Another handle opened without a config spans no cluster (unless the environment says so).
    let plain = Region::open(&regions.0[0]).expect("open");
    assert_eq!(plain.cluster_config(), None);
    assert!(matches!(Cluster::from_region(&plain), Err(Error::InvalidArgument(_))));
    // Its plain barrier calls refuse instead of quietly staying on this host.
    assert!(matches!(region.barrier("p", 0), Err(Error::Unavailable(_))));
    assert!(matches!(region.barrier("c", 2), Err(Error::InvalidArgument(_))));
    assert!(region.host_barrier("local-only", 2).is_ok());
    assert!(plain.barrier("plain", 0).is_ok(), "a handle without the cluster is single-host");
    let cluster = Cluster::from_region(&region).expect("from_region");
    assert_eq!(cluster.host_id(), "carried");
    let b = cluster.join("p").expect("join");
    let w = b.wait_with(None, || b"x".to_vec()).expect("wait");
    assert_eq!(w.values.get("carried").map(Vec::as_slice), Some(&b"x"[..]));
    // A malformed cluster config is refused before the region file is touched.
    let bad = RegionConfig { cluster: Some(ClusterConfig::new(["no-port"])), ..RegionConfig::default() };
    assert!(matches!(Region::create(&unique("badcfg"), &bad), Err(Error::InvalidArgument(_))));
}

#[test]
fn split_phase_arrive_then_await_on_one_host() {
    let _g = serial();
    let Some(etcd) = etcd(1) else { return };
    let name = unique("split");
    let regions = Regions(vec![name.clone()]);
    let region = Region::create(&regions.0[0], &RegionConfig::default()).expect("region");
    let cluster = Cluster::connect(&region, &name, &config(&etcd, "solo")).expect("connect");
    let b1 = cluster.join("p").expect("join 1");
    let b2 = cluster.join("p").expect("join 2");
    let a = b1.arrive().expect("arrive");
    // One pending arrival per handle; no wait or resign meanwhile.
    assert!(matches!(b1.arrive(), Err(Error::Misuse(_))));
    assert!(matches!(b1.wait(), Err(Error::Misuse(_))));
    assert!(matches!(b1.resign(), Err(Error::Misuse(_))));
    assert!(matches!(b1.await_arrival(a.ticket ^ 1, Some(Duration::ZERO)), Err(Error::InvalidArgument(_))));
    // b2 has not arrived: the await times out and the arrival stands.
    assert!(matches!(b1.await_arrival(a.ticket, Some(Duration::from_millis(300))), Err(Error::Timeout)));
    assert!(b1.is_member());
    let t = std::thread::spawn(move || {
        let ws: Vec<_> = (0..21).map(|_| b2.wait().expect("blocking member")).collect();
        (b2, ws)
    });
    let mut mine = vec![b1.await_arrival(a.ticket, Some(Duration::from_secs(30))).expect("await")];
    assert_eq!(mine[0].host_leader, a.is_leader());
    for _ in 0..20 {
        let a = b1.arrive().expect("arrive again");
        mine.push(b1.await_with(a.ticket, Some(Duration::from_secs(30)), || b"s".to_vec()).expect("await"));
    }
    let (b2, theirs) = t.join().expect("thread");
    for (m, o) in mine.iter().zip(&theirs) {
        assert_eq!(m.generation, o.generation);
        assert!(m.host_leader ^ o.host_leader, "exactly one host leader per generation");
    }
    assert!(mine.windows(2).all(|w| w[1].generation == w[0].generation + 1));
    b1.resign().expect("resign after the await");
    b2.resign().expect("resign");
    assert!(matches!(b1.arrive(), Err(Error::Cancelled)));
}
