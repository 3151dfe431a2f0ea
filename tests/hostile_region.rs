//! A corrupt or hostile region must give errors, never a panic, a crash or a hang: every word of
//! a region's tables (the header stays valid, so `open` succeeds) is overwritten with seeded random
//! garbage, then every kind of operation runs against it with short timeouts.

use muster::{Region, RegionConfig, Select};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const SMALL: RegionConfig = RegionConfig {
    max_barriers: 8,
    max_processes: 4,
    mode: 0o600,
    max_agents: 8,
    max_alting_barriers: 4,
    max_frontends_per_barrier: 4,
    max_channels: 4,
    max_channel_capacity: 4,
    cluster: None,
};

/// Overwrites the tables (everything after the 4 KiB header) of the region file `name`.
/// `density` of 1 in N words are replaced; the rest keep their valid contents.
fn scribble(name: &str, seed: u64, one_in: u64) {
    let path = format!("/dev/shm/{name}");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut rng = XorShift(seed | 1);
    for chunk in bytes[4096..].chunks_exact_mut(8) {
        if rng.next().is_multiple_of(one_in) {
            let v = match rng.next() % 4 {
                0 => rng.next(),
                1 => rng.next() & 0xff,
                2 => u64::MAX,
                _ => rng.next() & 0xffff_0000_ffff,
            };
            chunk.copy_from_slice(&v.to_le_bytes());
        }
    }
    // Write in place (the file stays the same size; peers mapped it).
    std::fs::write(&path, &bytes).unwrap();
}

fn exercise(name: &str) {
    let t = Duration::from_millis(1);
    let Ok(r) = Region::open(name) else { return };
    for b in ["p0", "p1", "m0"] {
        if let Ok(h) = r.barrier(b, if b == "m0" { 0 } else { 2 }) {
            let _ = h.wait_timeout(t);
            let _ = (h.parties(), h.waiting(), h.is_broken(), h.generation());
            let _ = h.enroll();
            let _ = h.wait_timeout(t);
            let _ = h.resign();
            let _ = h.abort();
            let _ = h.reset();
        }
    }
    for i in 0..4 {
        if let Ok(fe) = r.alting_attach("a0", i) {
            let _ = fe.poll(Duration::ZERO);
            let _ = fe.poll(t);
            let _ = fe.resign();
            let _ = fe.enroll();
            if let Ok(idx) = fe.expand(1) {
                let _ = fe.contract(&idx);
            }
            let _ = fe.completions();
            if let Ok(mut alt) = r.alternative() {
                let _ = alt.add_alting(&fe);
                let _ = alt.select(Select::Fair, Some(t));
                let _ = alt.select(Select::Priority, Some(t));
                let _ = alt.ticket();
            }
        }
        let _ = r.alting_reset("a0", i);
    }
    if let Ok(c) = r.channel("c0", 4, false) {
        let _ = c.try_write(7);
        let _ = c.try_read();
        let _ = c.read(Some(t));
        if let Ok(mut alt) = r.alternative() {
            let _ = alt.add_channel(&c);
            alt.add_skip();
            let _ = alt.select(Select::Arbitrary, Some(t));
        }
    }
    let _ = r.barrier("fresh", 3).and_then(|b| b.wait_timeout(t));
    let _ = r.alting_create("fresh-a", 2);
}

#[test]
fn scribbled_regions_give_errors_not_panics() {
    let started = Instant::now();
    for seed in 1..=40u64 {
        let name = format!("mt-hostile-{}-{seed}", std::process::id());
        let r = Region::create(&name, &SMALL).unwrap();
        // Populate every table, so the garbage lands on live objects too.
        let p = r.barrier("p0", 2).unwrap();
        let _ = r.barrier("p1", 2).unwrap();
        let m = r.join("m0").unwrap();
        r.alting_create("a0", 2).unwrap();
        let fe = r.alting_attach("a0", 0).unwrap();
        let c = r.channel("c0", 4, false).unwrap();
        c.try_write(1).unwrap();
        let one_in = [1, 2, 8, 64][(seed % 4) as usize];
        scribble(&name, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), one_in);
        let result = catch_unwind(AssertUnwindSafe(|| {
            exercise(&name);
            // The handles opened before the damage must cope too (including their drops).
            let _ = p.wait_timeout(Duration::from_millis(1));
            let _ = fe.poll(Duration::ZERO);
            let _ = c.try_read();
            drop((p, m, fe, c, r));
        }));
        let _ = Region::unlink(&name);
        assert!(result.is_ok(), "seed {seed} (1 in {one_in} words): an operation panicked");
    }
    eprintln!("40 scribbled regions exercised in {:?}", started.elapsed());
}
