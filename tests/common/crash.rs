//! Shared pieces of the random-instant SIGKILL tests (`tests/crash_alting.rs`,
//! `tests/crash_region.rs`): a seeded PRNG, the statistics each scenario prints, the shared log
//! file, and how many kills a run does (`MUSTER_CRASH_SCALE` multiplies them; `scripts/soak-alting.sh`
//! sets it).
#![allow(dead_code)]

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// A step that needs no peer, or a peer that is alive, must finish within this; otherwise the
/// scenario counts a hang (and the test fails).
pub const HANG: Duration = Duration::from_secs(10);

/// splitmix64, seeded from the clock (the seed is printed, `MUSTER_CRASH_SEED` replays one).
pub struct Rng(u64);

impl Rng {
    pub fn new(tag: u64) -> Rng {
        let seed = std::env::var("MUSTER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
        });
        eprintln!("crash seed {seed} (MUSTER_CRASH_SEED={seed} replays the schedule)");
        Rng(seed ^ tag.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn micros(&mut self, max: u64) -> Duration {
        Duration::from_micros(self.below(max + 1))
    }
}

/// `MUSTER_CRASH_SCALE` (default 1): the soak script runs the same scenarios with more kills.
pub fn scale() -> usize {
    std::env::var("MUSTER_CRASH_SCALE").ok().and_then(|s| s.parse().ok()).filter(|&s| s > 0).unwrap_or(1)
}

/// `MUSTER_CRASH_KEEP_GOING=1` (the soak script): count hangs and inconsistencies and go on with
/// the next batch instead of stopping at the first (the test still fails at the end).
pub fn keep_going() -> bool {
    std::env::var_os("MUSTER_CRASH_KEEP_GOING").is_some_and(|v| v == "1")
}

/// What one scenario saw.
#[derive(Default)]
pub struct Stats {
    pub trials: usize,
    pub kills: usize,
    pub hangs: usize,
    pub inconsistencies: Vec<String>,
    /// Kill → progress of the survivors that do not need the dead process.
    pub detect: Vec<Duration>,
    /// Kill → progress again with a replacement (where the survivors needed the dead process).
    pub recover: Vec<Duration>,
    /// Events that fired with a party that was killed before it could log them.
    pub hidden: usize,
    /// Channel values read by survivors (the Gadget1-style circle).
    pub channel_reads: u64,
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn summary(v: &mut [Duration]) -> String {
    if v.is_empty() {
        return "n/a".into();
    }
    v.sort();
    let over = v.iter().filter(|d| **d > Duration::from_millis(100)).count();
    format!(
        "median {} p99 {} max {} (n={}, {} over 100 ms)",
        fmt_ms(v[v.len() / 2]),
        fmt_ms(v[(v.len() * 99 / 100).min(v.len() - 1)]),
        fmt_ms(v[v.len() - 1]),
        v.len(),
        over
    )
}

impl Stats {
    /// Prints the scenario's line (the soak script collects these) and fails the test if
    /// anything hung or was inconsistent.
    pub fn finish(mut self, what: &str, started: Instant) {
        eprintln!(
            "CRASH {what}: trials {} kills {} hangs {} inconsistencies {} in {:.1} s; detection {}; recovery {}; events with a killed party {}; channel reads {}",
            self.trials,
            self.kills,
            self.hangs,
            self.inconsistencies.len(),
            started.elapsed().as_secs_f64(),
            summary(&mut self.detect),
            summary(&mut self.recover),
            self.hidden,
            self.channel_reads
        );
        for i in self.inconsistencies.iter().take(20) {
            eprintln!("  inconsistency: {i}");
        }
        assert_eq!(self.hangs, 0, "{what}: survivors hung");
        assert!(self.inconsistencies.is_empty(), "{what}: inconsistent: {:?}", &self.inconsistencies[..1]);
    }
}

/// A zeroed shared log file of u32 words for the workers (sparse; removed on drop).
pub struct LogFile {
    pub path: String,
    file: std::fs::File,
}

impl LogFile {
    pub fn new(tag: &str, words: usize) -> LogFile {
        let path = format!("/dev/shm/{tag}.log");
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        file.set_len((words * 4) as u64).unwrap();
        LogFile { path, file }
    }
    pub fn get(&self, i: usize) -> u32 {
        let mut b = [0u8; 4];
        self.file.read_exact_at(&mut b, (i * 4) as u64).unwrap();
        u32::from_le_bytes(b)
    }
    pub fn range(&self, from: usize, n: usize) -> Vec<u32> {
        let mut b = vec![0u8; n * 4];
        self.file.read_exact_at(&mut b, (from * 4) as u64).unwrap();
        b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
    }
    pub fn set(&self, i: usize, v: u32) {
        self.file.write_all_at(&v.to_le_bytes(), (i * 4) as u64).unwrap();
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Polls `cond` every 20 µs until it holds (`Some(elapsed since from)`) or `limit` passes.
pub fn wait_for(from: Instant, limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    loop {
        if cond() {
            return Some(from.elapsed());
        }
        if from.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// The first stdout line of `child` within `limit` (`None` if it exited or stayed silent).
pub fn first_line(child: &mut std::process::Child, limit: Duration) -> Option<String> {
    use std::io::BufRead;
    let out = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut l = String::new();
        if std::io::BufReader::new(out).read_line(&mut l).is_ok() {
            let _ = tx.send(l.trim_end().to_owned());
        }
    });
    rx.recv_timeout(limit).ok()
}
