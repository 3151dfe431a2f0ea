//! Plain barriers across real processes and through the public API: phases, leaders, timeouts,
//! abort/reset, resign/enroll, racing creators, a SIGKILLed member, wrap-around, capacities.
//! Every step is bounded by a watchdog (`common::WATCHDOG`).

mod common;

use common::{bounded, wait_all_bounded, wait_bounded, worker, Lines, TempName, WATCHDOG};
use muster::{Error, Region, RegionConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn region(tag: &str) -> (TempName, Region) {
    let name = TempName::new(tag);
    let r = Region::create(&name.0, &RegionConfig::default()).expect("create region");
    (name, r)
}

fn run_phases(n: u32, episodes: u32) {
    let (name, _region) = region(&format!("ph{n}"));
    let log_path = format!("/dev/shm/{}.log", name.0);
    let words = 16 * n as u64 + u64::from(episodes) * u64::from(n);
    std::fs::File::create(&log_path).and_then(|f| f.set_len(words * 4)).expect("log file");
    let (ns, es) = (n.to_string(), episodes.to_string());
    let mut kids: Vec<_> =
        (0..n).map(|p| worker(&["phases", &name.0, "phases", &ns, &es, &log_path, &p.to_string()])).collect();
    assert!(wait_all_bounded(&mut kids, WATCHDOG), "a phases worker failed (see its stderr)");
    // Exactly one leader (index 0) and distinct indices 0..n per generation.
    let bytes = std::fs::read(&log_path).expect("read log");
    let word = |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());
    let base = 16 * n as usize;
    for k in 0..episodes as usize {
        let mut seen = vec![false; n as usize];
        for p in 0..n as usize {
            let idx = word(base + k * n as usize + p);
            assert!(idx >= 1 && idx <= n, "generation {k}: process {p} recorded index {}", idx.wrapping_sub(1));
            assert!(!seen[idx as usize - 1], "generation {k}: index {} given twice", idx - 1);
            seen[idx as usize - 1] = true;
        }
    }
}

#[test]
fn two_processes_10k_generations() {
    run_phases(2, 10_000);
}

#[test]
fn three_processes_10k_generations() {
    run_phases(3, 10_000);
}

#[test]
fn eight_processes_10k_generations() {
    run_phases(8, 10_000);
}

#[test]
fn racing_creators_get_the_same_region_and_barrier() {
    let name = TempName::new("race");
    let mut kids: Vec<_> = (0..6).map(|_| worker(&["open-barrier", &name.0, "Phase 1", "6"])).collect();
    assert!(wait_all_bounded(&mut kids, WATCHDOG), "a racing creator failed");
}

#[test]
fn member_timeout_cancels_the_instance() {
    let (_n, r) = region("mto");
    let a = r.join("Phase 1").unwrap();
    let b = r.join("Phase 1").unwrap();
    assert_eq!(a.parties(), 2);
    let t0 = Instant::now();
    assert!(matches!(a.wait_timeout(Duration::from_millis(30)), Err(Error::Timeout)));
    assert!(t0.elapsed() >= Duration::from_millis(30), "timeout fired early");
    assert!(matches!(a.wait(), Err(Error::Cancelled)));
    assert_eq!(a.parties(), 1, "the cancelled member no longer counts");
    assert_eq!(a.waiting(), 0);
    // The other member is now alone and passes at once.
    let r1 = b.wait_timeout(Duration::from_secs(10)).unwrap();
    assert!(r1.is_leader());
    a.enroll().unwrap();
    assert_eq!(b.parties(), 2);
    let a = Arc::new(a);
    let a2 = a.clone();
    let t = std::thread::spawn(move || a2.wait_timeout(WATCHDOG));
    let rb = b.wait_timeout(WATCHDOG).unwrap();
    let ra = t.join().unwrap().unwrap();
    assert_eq!(ra.generation, rb.generation);
    assert_ne!(ra.index, rb.index);
}

#[test]
fn non_member_timeout_breaks_the_barrier() {
    let (_n, r) = region("nmto");
    let b = Arc::new(r.barrier("b", 3).unwrap());
    let b2 = b.clone();
    let waiter = std::thread::spawn(move || b2.wait_timeout(WATCHDOG));
    while b.waiting() < 1 {
        std::thread::yield_now();
    }
    assert!(matches!(b.wait_timeout(Duration::from_millis(20)), Err(Error::Timeout)));
    assert!(matches!(waiter.join().unwrap(), Err(Error::Broken)));
    assert!(b.is_broken());
    assert!(matches!(b.wait(), Err(Error::Broken)), "stays broken until reset");
    b.reset().unwrap();
    assert!(!b.is_broken());
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || b.wait_timeout(WATCHDOG))
        })
        .collect();
    let me = b.wait_timeout(WATCHDOG).unwrap();
    let mut idx = vec![me.index];
    for h in hs {
        idx.push(h.join().unwrap().unwrap().index);
    }
    idx.sort();
    assert_eq!(idx, vec![0, 1, 2]);
}

#[test]
fn abort_breaks_waiters_and_reset_recovers() {
    let (_n, r) = region("abort");
    let b = Arc::new(r.barrier("b", 2).unwrap());
    let b2 = b.clone();
    let w = std::thread::spawn(move || b2.wait_timeout(WATCHDOG));
    while b.waiting() < 1 {
        std::thread::yield_now();
    }
    b.abort().unwrap();
    assert!(matches!(w.join().unwrap(), Err(Error::Broken)));
    assert!(matches!(b.wait(), Err(Error::Broken)));
    b.reset().unwrap();
    // Reset while someone waits: that waiter gets Broken, later arrivals meet normally.
    let b3 = b.clone();
    let w = std::thread::spawn(move || b3.wait_timeout(WATCHDOG));
    while b.waiting() < 1 {
        std::thread::yield_now();
    }
    let g = b.generation();
    b.reset().unwrap();
    assert!(matches!(w.join().unwrap(), Err(Error::Broken)));
    assert!(!b.is_broken());
    assert_eq!(b.generation(), g + 1);
    let b4 = b.clone();
    let w = std::thread::spawn(move || b4.wait_timeout(WATCHDOG));
    let r1 = b.wait_timeout(WATCHDOG).unwrap();
    let r2 = w.join().unwrap().unwrap();
    assert_eq!(r1.generation, r2.generation);
    assert_eq!(r1.index + r2.index, 1);
}

#[test]
fn resign_completes_the_phase_for_those_waiting() {
    let (_n, r) = region("resign");
    let m: Vec<_> = (0..3).map(|_| Arc::new(r.join("g").unwrap())).collect();
    let hs: Vec<_> = m[..2]
        .iter()
        .map(|b| {
            let b = b.clone();
            std::thread::spawn(move || b.wait_timeout(WATCHDOG))
        })
        .collect();
    while m[2].waiting() < 2 {
        std::thread::yield_now();
    }
    m[2].resign().unwrap();
    for h in hs {
        h.join().unwrap().expect("released by the resign");
    }
    assert_eq!(m[0].parties(), 2);
    assert!(matches!(m[2].resign(), Err(Error::Misuse(_))), "resign twice");
    assert!(matches!(m[2].wait(), Err(Error::Cancelled)));
}

#[test]
fn enroll_during_a_phase_joins_that_phase() {
    let (_n, r) = region("enroll");
    let m1 = Arc::new(r.join("g").unwrap());
    let m2 = r.join("g").unwrap();
    let a = m1.clone();
    let h = std::thread::spawn(move || a.wait_timeout(WATCHDOG));
    while m2.waiting() < 1 {
        std::thread::yield_now();
    }
    let m3 = Arc::new(r.join("g").unwrap());
    assert_eq!(m3.parties(), 3);
    let c = m3.clone();
    let h3 = bounded(WATCHDOG, move || {
        // m2 arrives; the phase now also waits for m3.
        let h2 = std::thread::spawn(move || m2.wait_timeout(WATCHDOG));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(c.waiting(), 2, "m1 and m2 wait for the newly enrolled m3");
        h2
    });
    let r3 = m3.wait_timeout(WATCHDOG).unwrap();
    let r1 = h.join().unwrap().unwrap();
    let r2 = h3.join().unwrap().unwrap();
    assert_eq!((r1.generation, r2.generation), (r3.generation, r3.generation));
    let mut idx = [r1.index, r2.index, r3.index];
    idx.sort();
    assert_eq!(idx, [0, 1, 2]);
}

#[test]
fn sigkilled_member_breaks_waiters_with_peer_died() {
    let (name, r) = region("kill");
    let mut hang = worker(&["join-and-hang", &name.0, "g"]);
    let hang_lines = Lines::of(&mut hang);
    assert_eq!(hang_lines.next_line(WATCHDOG), "ready");
    let mut peer = worker(&["member-until-ok", &name.0, "g"]);
    let peer_lines = Lines::of(&mut peer);
    assert_eq!(peer_lines.next_line(WATCHDOG), "ready");
    let me = Arc::new(r.join("g").unwrap());
    assert_eq!(me.parties(), 3);
    let m = me.clone();
    let mine = std::thread::spawn(move || m.wait_timeout(WATCHDOG));
    while me.waiting() < 2 {
        std::thread::yield_now();
    }
    let dead_pid = hang.id();
    let killed_at = Instant::now();
    hang.kill().expect("SIGKILL");
    let _ = hang.wait();
    let res = mine.join().unwrap();
    let detected = killed_at.elapsed();
    eprintln!("peer death detected after {detected:?}");
    match res {
        Err(Error::PeerDied { pid }) => assert_eq!(pid, dead_pid),
        other => panic!("expected PeerDied, got {other:?}"),
    }
    assert!(detected < Duration::from_secs(5), "death noticed only after {detected:?}");
    assert_eq!(peer_lines.next_line(WATCHDOG), format!("err peer process {dead_pid} died"));
    assert_eq!(me.parties(), 2, "the dead member was resigned");
    // Survivors reset and go on.
    me.reset().unwrap();
    let r2 = me.wait_timeout(WATCHDOG).expect("survivors meet again");
    // The peer retries every millisecond; retries before the reset still find the generation
    // broken by the same death (and say so again). Nothing else may come before its "ok".
    let died = format!("err peer process {dead_pid} died");
    let line = loop {
        let line = peer_lines.next_line(WATCHDOG);
        if line != died {
            break line;
        }
    };
    assert!(line.starts_with("ok "), "peer: {line}");
    assert_eq!(line, format!("ok {} {}", r2.generation, 1 - r2.index));
    assert!(wait_bounded(&mut peer, WATCHDOG));
}

#[test]
fn generation_wraps_around() {
    let (_n, r) = region("wrap");
    let b = Arc::new(r.barrier("w", 2).unwrap());
    b.set_generation_for_test(u32::MAX - 2).unwrap();
    let b2 = b.clone();
    let h =
        std::thread::spawn(move || (0..5).map(|_| b2.wait_timeout(WATCHDOG).unwrap().generation).collect::<Vec<_>>());
    let mine: Vec<u64> = (0..5).map(|_| b.wait_timeout(WATCHDOG).unwrap().generation).collect();
    let theirs = h.join().unwrap();
    let m = u64::from(u32::MAX);
    assert_eq!(mine, vec![m - 2, m - 1, m, 0, 1]);
    assert_eq!(theirs, mine);
}

#[test]
fn mismatch_misuse_and_capacity_errors() {
    let name = TempName::new("caps");
    let r = Region::create(&name.0, &RegionConfig { max_barriers: 2, max_processes: 2, ..RegionConfig::default() })
        .unwrap();
    let b = r.barrier("x", 2).unwrap();
    assert!(matches!(r.barrier("x", 3), Err(Error::Mismatch { existing: 2, requested: 3 })));
    assert!(matches!(r.barrier("x", 0), Err(Error::Mismatch { existing: 2, requested: 0 })));
    let m = r.barrier("m", 0).unwrap();
    assert!(matches!(m.wait(), Err(Error::Misuse(_))), "non-members may not wait on a membership barrier");
    assert!(matches!(m.resign(), Err(Error::Misuse(_))));
    m.enroll().unwrap();
    assert!(matches!(m.enroll(), Err(Error::Misuse(_))));
    assert!(matches!(r.barrier("third", 1), Err(Error::Full(_))));
    assert!(matches!(r.barrier("x", 40_000), Err(Error::InvalidArgument(_))));
    let r2 = Region::open(&name.0).unwrap();
    assert!(matches!(Region::open(&name.0), Err(Error::Full(_))), "process table holds 2");
    drop(r2);
    let r3 = Region::open(&name.0).expect("slot freed by detach");
    assert_eq!(r3.barrier("x", 2).unwrap().parties(), b.parties());
    assert!(matches!(Region::create(&name.0, &RegionConfig::default()), Err(Error::Exists)));
}

#[test]
fn bad_names_are_rejected() {
    for bad in ["", ".hidden", "a/b", "../etc", "sp ace", "x\u{e9}", &"n".repeat(65)] {
        assert!(matches!(Region::create(bad, &RegionConfig::default()), Err(Error::InvalidName(_))), "{bad:?}");
        assert!(matches!(Region::open(bad), Err(Error::InvalidName(_))), "{bad:?}");
        assert!(matches!(Region::unlink(bad), Err(Error::InvalidName(_))), "{bad:?}");
    }
    let (_n, r) = region("names");
    for bad in ["", "line\nbreak", "nul\0", &"n".repeat(65)] {
        assert!(matches!(r.barrier(bad, 2), Err(Error::InvalidName(_))), "{bad:?}");
    }
    r.barrier("Phase 1", 2).expect("the seed's name works");
    r.barrier(&"é".repeat(32), 2).expect("64 bytes of UTF-8");
    assert!(matches!(Region::open("mt-does-not-exist-here"), Err(Error::NotFound)));
}

fn write_region_file(name: &str, bytes: &[u8]) {
    std::fs::write(format!("/dev/shm/{name}"), bytes).unwrap();
}

#[test]
fn malformed_region_files_give_specific_errors() {
    let name = TempName::new("bad");
    write_region_file(&name.0, b"");
    assert!(matches!(Region::open(&name.0), Err(Error::Corrupt(_))), "empty");
    write_region_file(&name.0, &[0u8; 100]);
    assert!(matches!(Region::open(&name.0), Err(Error::Corrupt(_))), "truncated below a header");
    write_region_file(&name.0, &[0xABu8; 8192]);
    assert!(matches!(Region::open(&name.0), Err(Error::Corrupt(_))), "wrong magic");

    // Start from a valid region and damage one field at a time.
    let good = TempName::new("good");
    drop(Region::create(&good.0, &RegionConfig::default()).unwrap());
    let image = std::fs::read(format!("/dev/shm/{}", good.0)).unwrap();
    let patch = |off: usize, val: &[u8]| {
        let mut img = image.clone();
        img[off..off + val.len()].copy_from_slice(val);
        img
    };
    write_region_file(&name.0, &patch(8, &99u32.to_le_bytes()));
    assert!(matches!(Region::open(&name.0), Err(Error::Version { found: 99, .. })), "wrong version");
    write_region_file(&name.0, &patch(32, &4096u32.to_le_bytes()));
    assert!(matches!(Region::open(&name.0), Err(Error::Corrupt(_))), "capacities that don't fit the size");
    write_region_file(&name.0, &patch(32, &0u32.to_le_bytes()));
    assert!(matches!(Region::open(&name.0), Err(Error::Corrupt(_))), "zero capacity");
    write_region_file(&name.0, &image[..image.len() / 2]);
    assert!(matches!(Region::open(&name.0), Err(Error::Corrupt(_))), "truncated tables");
    // A corrupt name-table entry state is reported, not trusted.
    let l = muster_shm::layout::Layout::new(RegionConfig::default().capacities()).unwrap();
    let mut img = image.clone();
    for i in 0..1024u64 {
        let off = (l.name(i as u32)) as usize;
        img[off..off + 4].copy_from_slice(&7u32.to_le_bytes());
    }
    write_region_file(&name.0, &img);
    let r = Region::open(&name.0).expect("header is fine");
    assert!(matches!(r.barrier("x", 2), Err(Error::Corrupt(_))), "garbage entry state");
    drop(r);
    // A symbolic link is refused.
    let _ = std::fs::remove_file(format!("/dev/shm/{}", name.0));
    std::os::unix::fs::symlink(format!("/dev/shm/{}", good.0), format!("/dev/shm/{}", name.0)).unwrap();
    assert!(matches!(Region::open(&name.0), Err(Error::InvalidName(_))), "symlink");
}

#[test]
fn handles_inherited_across_fork_refuse_to_act() {
    let (name, _r) = region("fork");
    let mut w = worker(&["fork-misuse", &name.0, "g"]);
    let lines = Lines::of(&mut w);
    assert_eq!(lines.next_line(WATCHDOG), "ok");
    assert!(wait_bounded(&mut w, WATCHDOG));
}
