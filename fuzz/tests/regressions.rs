//! Replays every input in `fuzz/regressions/<target>/` (inputs that once crashed, hung or
//! misbehaved, each kept with the fix) and `fuzz/seeds/<target>/` through its target: each must
//! now run to completion without a panic. Also a short run of the mutation driver per target, so
//! `cargo test` exercises the harnesses themselves.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_regression_and_seed_input_passes() {
    let mut n = 0;
    for t in muster_fuzz::TARGETS {
        for (path, data) in muster_fuzz::driver::corpus(root(), t) {
            let r =
                muster_fuzz::with_watchdog(Duration::from_secs(60), || muster_fuzz::driver::run_one(root(), t, &data));
            assert!(r.is_ok(), "{t}: {} fails again (saved as {:?})", path.display(), r.err());
            n += 1;
        }
    }
    assert!(n >= 9, "only {n} inputs found under fuzz/seeds and fuzz/regressions");
}

#[test]
fn mutation_driver_runs_every_target() {
    static BEAT: AtomicU64 = AtomicU64::new(0);
    for t in muster_fuzz::TARGETS {
        let (execs, bad) = muster_fuzz::with_watchdog(Duration::from_secs(120), || {
            muster_fuzz::driver::mutate_for(root(), t, Duration::from_secs(2), 13, &BEAT)
        });
        assert!(bad.is_empty(), "{t}: failing inputs {bad:?}");
        assert!(execs > 0, "{t}: no executions");
    }
}

#[test]
fn harness_checks_fire() {
    // The region_file target must reject a patched header with a specific error, not accept it:
    // a wrong layout version in an otherwise valid image.
    let mut image = muster_fuzz::template().to_vec();
    assert!(image.len() > 4096, "template region image missing");
    image[8] ^= 0xff; // layout_version
    let name = muster_fuzz::unique_name("h");
    std::fs::write(format!("/dev/shm/{name}"), &image).unwrap();
    let r = muster::Region::open(&name);
    let _ = muster::Region::unlink(&name);
    assert!(matches!(r, Err(muster::Error::Version { .. } | muster::Error::Corrupt(_))), "{r:?}");
    // The c_abi checker refuses MUSTER_EINTERNAL.
    assert!(std::panic::catch_unwind(|| muster_fuzz::c_abi::check_code("x", -32)).is_err());
}
