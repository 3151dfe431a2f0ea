//! Runs the examples in `examples/` (built by `cargo test` next to the test binaries) and checks
//! what they print: they are documentation that must keep working.

mod common;

use common::{wait_bounded_status, WATCHDOG};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `target/<profile>/examples/<name>`: the test binary lives in `target/<profile>/deps/`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>");
    profile_dir.join("examples").join(name)
}

/// Runs an example with a watchdog; returns its stdout, asserting success.
fn run(name: &str, args: &[&str]) -> String {
    let path = example(name);
    assert!(path.exists(), "{} not built (cargo test builds examples)", path.display());
    let mut child = Command::new(&path).args(args).stdout(Stdio::piped()).spawn().expect("spawn example");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let status = wait_bounded_status(&mut child, WATCHDOG);
    let stdout = reader.join().expect("reader");
    assert!(status.success(), "example {name} failed ({status}); stdout:\n{stdout}");
    stdout
}

#[test]
fn phases_example_runs() {
    let out = run("phases", &["3", "4"]);
    for step in 0..4 {
        assert!(out.contains(&format!("phase {step} complete")), "{out}");
    }
    assert!(out.contains("3 processes went through 4 phases together"), "{out}");
}

#[test]
fn worker_pool_example_runs() {
    let out = run("worker_pool", &["3", "3"]);
    assert_eq!(out.lines().filter(|l| l.starts_with("round ")).count(), 3, "{out}");
    for l in out.lines().filter(|l| l.starts_with("round ")) {
        let nums: Vec<&str> = l.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).collect();
        // "round R: N workers summed TOTAL (expected EXPECTED)"
        assert_eq!(nums.len(), 4, "{l}");
        assert_eq!(nums[2], nums[3], "{l}");
    }
}

#[test]
fn goldsmith_example_runs() {
    let out = run("goldsmith", &["300"]);
    // Each barrier's two parties saw the same number of events.
    for b in ["pq", "qr", "rp"] {
        let line = out.lines().find(|l| l.starts_with(&format!("{b}: "))).unwrap_or_else(|| panic!("{out}"));
        let counts: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("count"))
            .collect();
        assert!(counts.len() == 2 && counts[0] == counts[1], "{line}");
    }
    let total: u64 = ["P ", "Q ", "R "]
        .iter()
        .map(|p| {
            let l = out.lines().find(|l| l.starts_with(p)).unwrap_or_else(|| panic!("{out}"));
            let f: Vec<&str> = l.split_whitespace().collect();
            f[2].parse::<u64>().expect("count") + f[4].parse::<u64>().expect("count")
        })
        .sum();
    assert!(total > 0, "no events at all:\n{out}");
}
