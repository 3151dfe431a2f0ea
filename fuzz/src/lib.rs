//! Fuzz targets for Muster (issue 13). Each target takes arbitrary bytes and must return: no
//! panic may escape the library, nothing may hang (every blocking call here has a timeout, and
//! the drivers abort a case that runs too long), and bad input gets a specific error.
//!
//! * [`region_file`]: the bytes are a region file (raw, or a valid region image patched at
//!   fuzzer-chosen offsets), opened and validated, then driven through every operation.
//! * [`live_scribble`]: a live region is rewritten by a hostile thread (the fuzzer's bytes say
//!   where and what) while two threads run operations on it.
//! * [`c_abi`]: the bytes are a program of C ABI calls (names of any bytes and lengths, NULL
//!   pointers, `muster_region_config` of any `size` and contents, stale handles).
//!
//! Entry points: `src/bin/fuzz_afl.rs` (AFL++ through cargo-afl: coverage-guided), and
//! [`driver`] (a seeded mutation loop over the seeds and regressions, std only, for machines
//! without cargo-afl; not coverage-guided). `tests/regressions.rs` replays every input under
//! `fuzz/regressions/` and `fuzz/seeds/`.

pub mod c_abi;
pub mod driver;
pub mod live;
pub mod region_file;

use muster::{Region, RegionConfig};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

pub use c_abi::c_abi;
pub use live::live_scribble;
pub use region_file::region_file;

/// The targets by name (the first argument of the binaries, the folder names under `fuzz/`).
pub const TARGETS: [&str; 3] = ["region_file", "live_scribble", "c_abi"];

/// Runs target `name` on `data`; false if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "region_file" => region_file(data),
        "live_scribble" => live_scribble(data),
        "c_abi" => c_abi(data),
        _ => return false,
    }
    true
}

/// A region name unique to this process and call (`mfz-PID-N`).
pub fn unique_name(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("mfz{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Small capacities: a region image of a few hundred KiB, so every byte is within the fuzzer's
/// reach.
pub fn small_config() -> RegionConfig {
    RegionConfig {
        max_barriers: 8,
        max_processes: 4,
        max_agents: 4,
        max_alting_barriers: 4,
        max_frontends_per_barrier: 4,
        max_channels: 2,
        max_channel_capacity: 4,
        ..RegionConfig::default()
    }
}

/// Fills a fresh region with one object of every kind: counted barrier `b` (2 parties),
/// membership barrier `m` (joined), alting barrier `a` (2 front-ends), channel `c` (2 values).
/// (On a fresh region nothing is scribbled, so joining cannot hit the known hangs.)
pub fn populate(r: &Region) {
    let _ = r.barrier("b", 2);
    let _ = r.join("m");
    let _ = r.alting_create("a", 2);
    if let Ok(c) = r.channel("c", 4, false) {
        let _ = c.try_write(7);
        let _ = c.try_write(8);
    }
}

/// The bytes of a populated region file with [`small_config`] (built once per process).
pub fn template() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let name = unique_name("t");
        let bytes = Region::create(&name, &small_config()).map(|r| {
            populate(&r);
            std::fs::read(format!("/dev/shm/{name}")).unwrap_or_default()
        });
        let _ = Region::unlink(&name);
        bytes.unwrap_or_default()
    })
}

/// Whether the targets run plain-barrier waits and membership changes (join, enroll, resign):
/// on unless `MUSTER_FUZZ_PLAIN_WAITS=0`. (They were off while a scribbled tripping bit or
/// membership-lock word could block them for ever; both now end in `Timeout` / `Corrupt`, and
/// the inputs that found them are regressions in `fuzz/regressions/region_file/`.) A scribbled
/// membership lock takes its 2 s stuck bound to report, so switch these off for AFL runs that
/// should not spend their timeouts there.
pub fn plain_waits() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MUSTER_FUZZ_PLAIN_WAITS").is_none_or(|v| v != "0"))
}

/// A short timeout for every blocking operation the targets run.
pub const SHORT: Duration = Duration::from_micros(20);

/// Runs every operation of the Rust API on `r` (results are ignored: each may fail, none may
/// panic or block for longer than its timeout).
pub fn exercise(r: &Region) {
    let _ = r.capacities();
    for name in ["b", "m", "a", "c", "new"] {
        if let Ok(b) = r.barrier(name, 2) {
            let _ = (b.parties(), b.waiting(), b.is_broken(), b.generation(), b.is_member());
            let _ = b.abort();
            let _ = b.reset();
            if plain_waits() {
                let _ = b.wait_timeout(SHORT);
                let _ = b.resign();
                let _ = b.enroll();
            }
        }
        if plain_waits() {
            if let Ok(b) = r.join(name) {
                let _ = b.wait_timeout(SHORT);
                let _ = b.resign();
            }
        }
        let _ = r.alting_create(name, 2);
        for i in 0..3 {
            let _ = r.alting_reset(name, i);
            if let Ok(f) = r.alting_attach(name, i) {
                let _ = f.poll(Duration::ZERO);
                let _ = f.completions();
                if let Ok(x) = f.expand(1) {
                    let _ = f.contract(&x);
                }
                let _ = f.resign();
                let _ = f.enroll();
                if let Ok(mut alt) = r.alternative() {
                    let _ = alt.add_alting(&f);
                    let _ = alt.select(muster::Select::Fair, Some(SHORT));
                    let _ = alt.ticket();
                }
            }
        }
        for one_to_one in [false, true] {
            let c = if one_to_one { r.channel_one_to_one(name, 2, false) } else { r.channel(name, 2, true) };
            if let Ok(c) = c {
                let _ = c.try_write(1);
                let _ = c.try_read();
                let _ = c.read(Some(SHORT));
                if let Ok(mut alt) = r.alternative() {
                    let _ = alt.add_channel(&c);
                    alt.add_skip();
                    let _ = alt.select(muster::Select::Priority, Some(SHORT));
                }
            }
        }
    }
}

/// Runs `f`, and aborts the process (a crash the fuzzer records) if it takes longer than
/// `limit`: a hang is a bug like a panic.
pub fn with_watchdog<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    let dog = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while !d.load(Ordering::Acquire) {
            if start.elapsed() > limit {
                eprintln!("muster-fuzz: case hung for more than {limit:?}");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let r = f();
    done.store(true, Ordering::Release);
    let _ = dog.join();
    r
}
