//! `fuzz-replay TARGET FILE...`: runs the target on each file (a failing one exits 1).
//! `fuzz-replay --mutate TARGET SECONDS [SEED]`: the std-only mutation loop of
//! `muster_fuzz::driver` over the target's seeds and regressions (CI, no cargo-afl); prints
//! `executions N failures M`.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

static BEAT: AtomicU64 = AtomicU64::new(0);

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    muster_fuzz::driver::watchdog(root.clone(), Duration::from_secs(20), &BEAT);
    // The harness asserts: keep panic messages, but a panic is a finding, not a crash here.
    match a.get(1).map(String::as_str) {
        Some("--mutate") if a.len() >= 4 => {
            let target = &a[2];
            let secs: u64 = a[3].parse().unwrap_or(10);
            let seed = a.get(4).and_then(|s| s.parse().ok()).unwrap_or_else(|| u64::from(std::process::id()));
            let (execs, bad) = muster_fuzz::driver::mutate_for(&root, target, Duration::from_secs(secs), seed, &BEAT);
            println!("{target}: executions {execs} failures {} (seed {seed})", bad.len());
            for b in &bad {
                println!("  failing input saved: {}", b.display());
            }
            std::process::exit(if bad.is_empty() { 0 } else { 1 });
        }
        Some(target) if a.len() >= 3 && muster_fuzz::TARGETS.contains(&target) => {
            let mut failed = 0;
            for f in &a[2..] {
                let data = std::fs::read(f).unwrap_or_else(|e| panic!("read {f}: {e}"));
                if muster_fuzz::driver::run_one(&root, target, &data).is_err() {
                    eprintln!("FAILED: {f}");
                    failed += 1;
                }
                BEAT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            std::process::exit(if failed == 0 { 0 } else { 1 });
        }
        _ => {
            eprintln!("usage: fuzz-replay TARGET FILE... | fuzz-replay --mutate TARGET SECONDS [SEED]");
            eprintln!("targets: {:?}", muster_fuzz::TARGETS);
            std::process::exit(2);
        }
    }
}
