//! Criterion micro-benchmarks of Muster's barriers (results stay in the target directory, out of git).
//!
//! * `arrive_1_party/{heap,region}`: an uncontended arrival on a 1-party barrier (every wait
//!   completes a generation on its own): the fixed cost of one arrival.
//! * `round_2_threads/{heap,region}`: one barrier round between two threads of this process,
//!   on a `HeapBarrier` and on a counted barrier in a shared-memory region.
//!
//! Run: `cargo bench -p muster-benches --bench barrier` (with `CARGO_TARGET_DIR` as you like).

use criterion::{criterion_group, criterion_main, Criterion};
use muster::{HeapBarrier, Region, RegionConfig};
use std::time::{Duration, Instant};

/// A region for this benchmark process, unlinked when dropped.
struct TempRegion {
    name: String,
    region: Region,
}

impl TempRegion {
    fn new(tag: &str) -> TempRegion {
        let name = format!("muster-crit-{tag}-{}", std::process::id());
        let _ = Region::unlink(&name);
        let region = Region::create(&name, &RegionConfig::default()).expect("Region::create");
        TempRegion { name, region }
    }
}

impl Drop for TempRegion {
    fn drop(&mut self) {
        let _ = Region::unlink(&self.name);
    }
}

fn arrive_1_party(c: &mut Criterion) {
    let mut g = c.benchmark_group("arrive_1_party");
    let heap = HeapBarrier::new(1).expect("HeapBarrier::new");
    g.bench_function("heap", |b| b.iter(|| heap.wait().expect("wait")));
    let r = TempRegion::new("arrive");
    let bar = r.region.barrier("one", 1).expect("barrier");
    g.bench_function("region", |b| b.iter(|| bar.wait().expect("wait")));
    g.finish();
}

/// Times `iters` rounds of `wait` between this thread and a helper thread.
fn rounds(iters: u64, wait: &(impl Fn() + Sync)) -> Duration {
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..=iters {
                wait();
            }
        });
        wait(); // both threads running before the clock starts
        let t = Instant::now();
        for _ in 0..iters {
            wait();
        }
        t.elapsed()
    })
}

fn round_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_2_threads");
    let heap = HeapBarrier::new(2).expect("HeapBarrier::new");
    g.bench_function("heap", |b| {
        b.iter_custom(|iters| {
            rounds(iters, &|| {
                heap.wait().expect("wait");
            })
        })
    });
    let r = TempRegion::new("round");
    let bar = r.region.barrier("two", 2).expect("barrier");
    g.bench_function("region", |b| {
        b.iter_custom(|iters| {
            rounds(iters, &|| {
                bar.wait().expect("wait");
            })
        })
    });
    g.finish();
}

criterion_group!(benches, arrive_1_party, round_2_threads);
criterion_main!(benches);
