//! A seeded mutation loop for machines without cargo-afl (CI): not coverage-guided, it mutates
//! the seeds and regression inputs of a target (bit flips, interesting bytes, inserts, deletes,
//! splices) for a bounded time. The coverage-guided runs are AFL++'s (`scripts/fuzz.sh`).
//!
//! A failing input (a panic, or a case running past the watchdog) is written to
//! `fuzz/crashes/<target>/` before the driver fails, so it can become a regression input.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The input being run (for the watchdog to save when a case hangs).
static CURRENT: Mutex<(String, Vec<u8>)> = Mutex::new((String::new(), Vec::new()));

/// Where failing inputs of `target` go.
pub fn crash_dir(root: &Path, target: &str) -> PathBuf {
    root.join("crashes").join(target)
}

fn save(root: &Path, target: &str, data: &[u8]) -> PathBuf {
    let dir = crash_dir(root, target);
    let _ = std::fs::create_dir_all(&dir);
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let p = dir.join(format!("crash-{h:016x}"));
    let _ = std::fs::write(&p, data);
    p
}

/// Every input under `fuzz/seeds/<target>` and `fuzz/regressions/<target>`.
pub fn corpus(root: &Path, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut files: Vec<_> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for p in files {
            if let Ok(d) = std::fs::read(&p) {
                v.push((p, d));
            }
        }
    }
    v
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    const INTERESTING: [u8; 9] = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 0x10, 0x40];
    let mut d = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        let n = d.len();
        match rng.below(6) {
            0 if n > 0 => d[rng.below(n)] ^= 1 << rng.below(8),
            1 if n > 0 => d[rng.below(n)] = INTERESTING[rng.below(INTERESTING.len())],
            2 => d.insert(rng.below(n + 1), rng.next() as u8),
            3 if n > 1 => {
                let at = rng.below(n);
                d.drain(at..(at + 1 + rng.below(8)).min(n));
            }
            4 if !other.is_empty() => {
                let at = rng.below(n + 1);
                let from = rng.below(other.len());
                let len = 1 + rng.below(other.len() - from);
                d.splice(at..at, other[from..from + len].iter().copied());
            }
            _ if n > 0 => d[rng.below(n)] = rng.next() as u8,
            _ => d.push(rng.next() as u8),
        }
    }
    d.truncate(4096);
    d
}

/// Runs one case under a watchdog; `Err(path of the saved input)` if it panicked.
pub fn run_one(root: &Path, target: &str, data: &[u8]) -> Result<(), PathBuf> {
    if let Ok(mut c) = CURRENT.lock() {
        *c = (target.to_owned(), data.to_vec());
    }
    let r = std::panic::catch_unwind(|| crate::run(target, data));
    match r {
        Ok(true) => Ok(()),
        Ok(false) => panic!("no fuzz target {target:?}"),
        Err(_) => Err(save(root, target, data)),
    }
}

/// Starts the hang watchdog: if no case finishes for `limit`, saves the running input and
/// aborts.
pub fn watchdog(root: PathBuf, limit: Duration, beat: &'static std::sync::atomic::AtomicU64) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(100));
        let last = beat.load(std::sync::atomic::Ordering::Relaxed);
        std::thread::sleep(limit);
        if beat.load(std::sync::atomic::Ordering::Relaxed) == last {
            if let Ok(c) = CURRENT.lock() {
                let p = save(&root, &c.0, &c.1);
                eprintln!("muster-fuzz: a {} case hung for {limit:?}; input saved to {}", c.0, p.display());
            }
            std::process::abort();
        }
    });
}

/// Mutates the corpus of `target` for `time`; returns (executions, failures saved).
pub fn mutate_for(
    root: &Path,
    target: &str,
    time: Duration,
    seed: u64,
    beat: &std::sync::atomic::AtomicU64,
) -> (u64, Vec<PathBuf>) {
    let corpus: Vec<Vec<u8>> = corpus(root, target).into_iter().map(|c| c.1).collect();
    let corpus = if corpus.is_empty() { vec![vec![0u8; 16]] } else { corpus };
    let mut rng = Rng(seed);
    let (start, mut execs, mut bad) = (Instant::now(), 0u64, Vec::new());
    while start.elapsed() < time && bad.len() < 10 {
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base, other);
        if let Err(p) = run_one(root, target, &input) {
            bad.push(p);
        }
        execs += 1;
        beat.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    (execs, bad)
}
