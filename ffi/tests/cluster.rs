//! The C ABI across (simulated) hosts, with libmuster built with the `cluster` feature
//! (`cargo test -p muster-ffi --release --features cluster --test cluster`, run by
//! `scripts/test.d/50-cluster.sh`; needs protoc to build, `etcd` and `cc` to run, and skips with a
//! message without the last two).
//!
//! * `tests/c/cluster.c`, a C program that uses only region and barrier calls, on 3 simulated
//!   hosts x 2 processes (one region per simulated host, `MUSTER_CLUSTER_NAME` naming them as one
//!   across hosts): hosts h0 and h1 get the cluster through the config fields, h2 through
//!   `MUSTER_CLUSTER` / `MUSTER_HOST_ID` with a NULL config. The program checks the phase
//!   invariant through shared counters.
//! * In this process, through the exported functions: a region whose etcd does not answer gives
//!   `MUSTER_EUNAVAILABLE` at the barrier open, within the lease TTL, never a hang.
#![cfg(feature = "cluster")]

// The kids guard shared with the root crate's multi-process tests.
#[path = "../../tests/common/kids.rs"]
mod kids;

use kids::Kids;
use muster::*;
use muster_cluster::testkit::{etcd_available, EtcdCluster};
use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);
const GENS: u32 = 200;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory holding the libmuster.so this test was built with (`target/<profile>`).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(|d| d.parent()).expect("target/<profile>/deps/<test>").to_path_buf()
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("mc-c-{tag}-{}-{nanos}", std::process::id())
}

/// Compiles tests/c/cluster.c against include/muster.h and the libmuster.so of this build.
fn compile(out: &std::path::Path) -> Option<PathBuf> {
    if Command::new("cc").arg("--version").stdout(Stdio::null()).status().map_or(true, |s| !s.success()) {
        println!("skipped: no C compiler (cc)");
        return None;
    }
    let built = lib_dir().join("libmuster.so");
    assert!(built.exists(), "{built:?} missing");
    // The program loads libmuster by its SONAME, which only an install creates.
    let lib = out.join("lib");
    std::fs::create_dir_all(&lib).expect("lib dir");
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    for link in ["libmuster.so".to_owned(), format!("libmuster.so.{major}")] {
        std::os::unix::fs::symlink(&built, lib.join(link)).expect("symlink libmuster");
    }
    let exe = out.join("cluster");
    let st = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1"])
        .arg("-I")
        .arg(repo().join("include"))
        .arg(repo().join("tests/c/cluster.c"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lmuster")
        .status()
        .expect("run cc");
    assert!(st.success(), "cc failed");
    Some(exe)
}

/// A temporary directory and regions, removed when dropped (also when the test panics).
struct Scratch(PathBuf, Vec<String>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for r in &self.1 {
            let _ = muster_shm::Region::unlink(r);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_c_program_spans_three_simulated_hosts_through_region_config_and_environment() {
    if !etcd_available() {
        println!("skipped: the etcd binary is not installed (Debian: apt-get install etcd-server)");
        return;
    }
    let dir = std::env::temp_dir().join(unique("dir"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut scratch = Scratch(dir.clone(), Vec::new());
    let Some(exe) = compile(&dir) else { return };
    let etcd = EtcdCluster::start(3).expect("start etcd");
    let eps = etcd.endpoints().join(",");
    let name = unique("phase");
    let hosts = ["h0", "h1", "h2"];
    let per_host = 2;
    let total = hosts.len() * per_host;
    let progress = dir.join("progress");
    let regions: Vec<String> = hosts.iter().map(|h| format!("{name}-{h}")).collect();
    scratch.1.clone_from(&regions);
    // `None`: the process closed its output (it exited), so the test fails at once instead of at
    // its watchdog.
    let (tx, rx) = channel::<(usize, Option<String>)>();
    let mut kids = Kids(Vec::new());
    for (h, host) in hosts.iter().enumerate() {
        for p in 0..per_host {
            let index = h * per_host + p;
            let mut cmd = Command::new(&exe);
            cmd.arg(&regions[h])
                .arg(GENS.to_string())
                .arg(index.to_string())
                .arg(total.to_string())
                .arg(&progress)
                .env("MUSTER_CLUSTER_NAME", &name)
                .env_remove("MUSTER_CLUSTER")
                .env_remove("MUSTER_HOST_ID")
                .env_remove("MUSTER_LEASE_MS");
            if *host == "h2" {
                cmd.arg("env").env("MUSTER_CLUSTER", &eps).env("MUSTER_HOST_ID", host);
            } else {
                cmd.args(["fields", &eps, host]);
            }
            let mut child =
                cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn");
            let out = child.stdout.take().expect("stdout");
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send((index, Some(line)));
                }
                let _ = tx.send((index, None));
            });
            kids.0.push(child);
        }
    }
    let start = Instant::now();
    let mut ready = 0;
    while ready < total {
        let left = LIMIT.checked_sub(start.elapsed()).expect("watchdog: waiting for ready");
        let (i, l) = rx.recv_timeout(left).expect("watchdog: no output");
        let l = l.unwrap_or_else(|| panic!("process {i} exited before it was ready: {:?}", kids.0[i].wait()));
        assert_eq!(l, "ready", "process {i}");
        ready += 1;
    }
    let t_go = Instant::now();
    for k in &mut kids.0 {
        let stdin = k.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").and_then(|()| stdin.flush()).expect("go");
    }
    let mut finished = vec![false; total];
    let mut done = 0;
    while done < total {
        let left = LIMIT.checked_sub(start.elapsed()).expect("watchdog: waiting for ok");
        let (i, l) = rx.recv_timeout(left).unwrap_or_else(|_| panic!("watchdog: {done} of {total} finished"));
        let Some(l) = l else {
            // A process closes its output after printing its result; before it, it died.
            assert!(finished[i], "process {i} exited before it finished: {:?}", kids.0[i].wait());
            continue;
        };
        assert_eq!(l, format!("ok {GENS}"), "process {i}");
        finished[i] = true;
        done += 1;
    }
    let took = t_go.elapsed();
    for (i, k) in kids.0.iter_mut().enumerate() {
        let st = k.wait().expect("wait");
        assert!(st.success(), "process {i}: {st:?}");
    }
    println!("{GENS} generations across 3 hosts x 2 C processes: {:?} per generation", took / GENS);
}

#[test]
fn an_unreachable_etcd_is_eunavailable_at_the_barrier_open() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let endpoints = CString::new(format!("127.0.0.1:{port}")).expect("cstring");
    let name = CString::new(unique("down")).expect("cstring");
    let mut cfg = std::mem::MaybeUninit::<muster_region_config>::uninit();
    // SAFETY: a writable config; `init` fills every field.
    assert_eq!(unsafe { muster_region_config_init(cfg.as_mut_ptr()) }, MUSTER_OK);
    // SAFETY: initialised just above.
    let mut cfg = unsafe { cfg.assume_init() };
    cfg.cluster_endpoints = endpoints.as_ptr();
    cfg.host_id = c"h-down".as_ptr();
    cfg.lease_ms = 1000;
    let mut r = std::ptr::null_mut();
    // SAFETY: valid name, config (strings live until the end of the test) and out-pointer.
    assert_eq!(unsafe { muster_region_create(name.as_ptr(), &cfg, &mut r) }, MUSTER_OK);
    let mut b = std::ptr::null_mut();
    let t = Instant::now();
    // SAFETY: live region, literal name, valid out-pointer.
    let rc = unsafe { muster_barrier_open(r, c"phase".as_ptr(), 0, &mut b) };
    let took = t.elapsed();
    assert_eq!(rc, MUSTER_EUNAVAILABLE);
    assert!(b.is_null());
    println!("barrier open with etcd down: EUNAVAILABLE after {took:?} (lease 1 s)");
    // SAFETY: live region handle, closed once; valid name.
    unsafe {
        assert_eq!(muster_region_close(r), MUSTER_OK);
        assert_eq!(muster_region_unlink(name.as_ptr()), MUSTER_OK);
    }
}
