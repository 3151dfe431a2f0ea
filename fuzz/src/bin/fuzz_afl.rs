//! AFL++ entry point (cargo-afl, persistent mode): `MUSTER_FUZZ_TARGET` names the target (see
//! `muster_fuzz::TARGETS`). Built by `scripts/fuzz.sh` with
//! `cargo afl build --release -p muster-fuzz --features afl`.

fn main() {
    let target = std::env::var("MUSTER_FUZZ_TARGET").unwrap_or_else(|_| "region_file".into());
    if !muster_fuzz::TARGETS.contains(&target.as_str()) {
        eprintln!("MUSTER_FUZZ_TARGET must be one of {:?}", muster_fuzz::TARGETS);
        std::process::exit(2);
    }
    // Build the template before the fork server starts, once.
    let _ = muster_fuzz::template();
    afl::fuzz!(|data: &[u8]| {
        muster_fuzz::run(&target, data);
    });
}
