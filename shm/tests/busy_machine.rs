//! Waiting beside CPU-bound work (the busy-machine policy of `muster_core::contention`), with
//! real threads, futexes and `/proc/loadavg`. Under a watchdog; no timing is asserted.

use muster_core::barrier::BarrierCell;
use muster_core::wait::Adaptive;
use muster_shm::futex::{monotonic_ns, process_policy, PrivateParker};
use muster_shm::load::process_contention;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const EPISODES: u64 = 300;

/// `parties` threads meet `EPISODES` times at one heap barrier; returns the episodes each did.
fn run_barrier(parties: u32) -> Vec<u64> {
    let cell = Arc::new(BarrierCell::new(parties, 0));
    let arrivals = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    for _ in 0..parties {
        let (cell, arrivals, tx) = (cell.clone(), arrivals.clone(), tx.clone());
        std::thread::spawn(move || {
            let adapt = Adaptive::new();
            let mut done = 0;
            for e in 0..EPISODES {
                arrivals.fetch_add(1, AcqRel);
                let t = cell.arrive(&PrivateParker).expect("arrive");
                cell.wait(&PrivateParker, process_policy(), &t, None, Some(&adapt), || ()).expect("wait");
                // Nobody leaves a generation before everyone arrived in it.
                assert!(arrivals.load(Acquire) >= (e + 1) * u64::from(parties), "released early");
                done += 1;
            }
            tx.send(done).unwrap();
        });
    }
    drop(tx);
    (0..parties)
        .map(|_| rx.recv_timeout(Duration::from_secs(120)).expect("watchdog: a party is stuck (lost wake-up?)"))
        .collect()
}

#[test]
fn waits_beside_busy_loops_mark_the_machine_busy_and_still_complete() {
    // Both detectors on, with a slow-yield threshold no scheduler's slice stays under: whether a
    // yield into a busy loop takes the default 300 µs depends on the scheduler (EEVDF sometimes
    // hands the CPU back sooner, and then not noticing is right). The defaults are measured in
    // BENCHMARKS.md; this test checks that the detectors fire and that the waits still complete.
    // Set before the process's contention memory is first used (it reads them once); this
    // binary's only test, so no other thread reads the environment meanwhile.
    std::env::set_var("MUSTER_LOAD_BUSY", "1");
    std::env::set_var("MUSTER_SLOW_YIELD_NS", "100000");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    // One busy loop per CPU: any yield hands a slice to one of them.
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..cpus)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    // More parties than CPUs: without the policy these waits would yield into the busy loops.
    let parties = (cpus + 2).min(16);
    let done = run_barrier(parties);
    let c = process_contention();
    let busy = c.busy_at(monotonic_ns()) || c.hold_ns() > 0;
    stop.store(true, Relaxed);
    for h in hogs {
        h.join().unwrap();
    }
    assert_eq!(done, vec![EPISODES; parties as usize]);
    if c.tuning().enabled {
        assert!(busy, "{cpus} busy loops beside {parties} parties were not noticed");
    }
}
