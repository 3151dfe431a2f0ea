//! Party identity and crash-anywhere on plain barriers: a process SIGKILLed at a random instant
//! while every party runs the barrier loop at full speed (counted and membership barriers,
//! N = 2..8). The survivors must get PeerDied or Broken (never hang: every step is
//! watchdog-bounded), nobody may be released before every party arrived, and membership
//! survivors reset and pass again with one party less.
//!
//! `MUSTER_KILL_TRIALS` sets the trials per kind (default 500, so 1,000 kills per run);
//! `scripts/soak.sh` runs 10,000 of each and prints the summary this test prints.

mod common;

use common::{worker, Lines, TempName};
use muster::{Region, RegionConfig};
use std::time::{Duration, Instant};

const WORDS: usize = 32;
const STEP: Duration = Duration::from_secs(20);

/// xorshift64*: deterministic per seed, printed on failure.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Summary {
    trials: u32,
    hangs: u32,
    early: u32,
    detect_ns: Vec<u64>,
}

/// One trial: `n` workers on a fresh barrier, one SIGKILLed after a random delay. Returns the
/// detection time (kill to the last survivor's error), or a failure message.
fn trial(kind: &str, n: usize, rng: &mut Rng) -> Result<u64, (bool, String)> {
    let name = TempName::new("kill");
    let _region = Region::create(&name.0, &RegionConfig::default()).expect("create region");
    let log_path = format!("/dev/shm/{}.log", name.0);
    std::fs::File::create(&log_path).and_then(|f| f.set_len((WORDS * 4) as u64)).expect("log file");
    let ns = n.to_string();
    let mut kids: Vec<_> =
        (0..n).map(|p| worker(&["plain-kill", &name.0, "b", kind, &ns, &p.to_string(), &log_path])).collect();
    let lines: Vec<Lines> = kids.iter_mut().map(Lines::of).collect();
    for l in &lines {
        assert_eq!(l.next_line(STEP), "ready");
    }
    // A random instant: anywhere in the loop (arriving, waiting, between two waits).
    let delay = rng.below(3000);
    std::thread::sleep(Duration::from_micros(delay));
    let victim = rng.below(n as u64) as usize;
    let killed_at = muster_shm::futex::monotonic_ns();
    kids[victim].kill().expect("kill");
    let _ = kids[victim].wait();
    let start = Instant::now();
    let mut hang = false;
    let mut failed = None;
    for (p, k) in kids.iter_mut().enumerate() {
        if p == victim {
            continue;
        }
        loop {
            match k.try_wait().expect("try_wait") {
                Some(st) => {
                    if !st.success() {
                        failed = Some(format!("worker {p} exited with {st}"));
                    }
                    break;
                }
                None if start.elapsed() > STEP => {
                    hang = true;
                    let _ = k.kill();
                    let _ = k.wait();
                    break;
                }
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
    if hang {
        return Err((true, format!("{kind} n={n}: survivors still waiting {STEP:?} after the kill")));
    }
    if let Some(f) = failed {
        return Err((false, format!("{kind} n={n} victim={victim} delay={delay}us: {f}")));
    }
    let bytes = std::fs::read(&log_path).expect("read log");
    let _ = std::fs::remove_file(&log_path);
    let word = |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    let mut last = 0u64;
    for p in (0..n).filter(|p| *p != victim) {
        if word(24 + p) != 1 {
            return Err((false, format!("{kind} n={n}: worker {p} did not finish")));
        }
        let at = u64::from(word(8 + 2 * p)) | (u64::from(word(9 + 2 * p)) << 32);
        last = last.max(at.saturating_sub(killed_at));
    }
    Ok(last)
}

fn run(kind: &str, trials: u32, seed: u64) -> Summary {
    let mut rng = Rng(seed);
    let mut s = Summary { trials: 0, hangs: 0, early: 0, detect_ns: Vec::new() };
    for t in 0..trials {
        let n = 2 + (t as usize % 7);
        s.trials += 1;
        match trial(kind, n, &mut rng) {
            Ok(d) => s.detect_ns.push(d),
            Err((hang, msg)) => {
                eprintln!("trial {t} (seed {seed}): {msg}");
                if hang {
                    s.hangs += 1;
                } else {
                    s.early += 1;
                }
            }
        }
    }
    s.detect_ns.sort_unstable();
    let ms = |v: u64| v as f64 / 1e6;
    let median = s.detect_ns.get(s.detect_ns.len() / 2).copied().unwrap_or(0);
    let max = s.detect_ns.last().copied().unwrap_or(0);
    println!(
        "plain-kill {kind}: trials {} hangs {} failures {} detection median {:.1} ms max {:.1} ms",
        s.trials,
        s.hangs,
        s.early,
        ms(median),
        ms(max)
    );
    s
}

fn trials() -> u32 {
    std::env::var("MUSTER_KILL_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(500)
}

#[test]
fn counted_barrier_survives_random_instant_kills() {
    let s = run("counted", trials(), 0x9e37_79b9_7f4a_7c15);
    assert_eq!((s.hangs, s.early), (0, 0), "see the trial messages above");
    assert_eq!(s.detect_ns.len() as u32, s.trials);
}

#[test]
fn membership_barrier_survives_random_instant_kills() {
    let s = run("member", trials(), 0xd1b5_4a32_d192_ed03);
    assert_eq!((s.hangs, s.early), (0, 0), "see the trial messages above");
    assert_eq!(s.detect_ns.len() as u32, s.trials);
}
