//! Model test of the plain barrier under loom (all interleavings, C11 memory model):
//! `RUSTFLAGS="--cfg loom" cargo test -p muster-core --release --test loom_barrier`
#![cfg(loom)]

use loom::sync::atomic::AtomicU32;
use loom::sync::Arc;
use loom::thread;
use muster_core::barrier::{BarrierCell, BreakReason, WaitError};
use muster_core::wait::{Parker, WaitPolicy};

/// Futex model: parking is a yield (a spurious wake-up the caller must tolerate); there is no
/// clock, so no deadline ever passes.
struct LoomParker;

impl Parker for LoomParker {
    fn park(&self, _word: &AtomicU32, _expected: u32, _deadline_ns: Option<u64>) {
        thread::yield_now();
    }
    fn unpark_all(&self, _word: &AtomicU32) {}
    fn now_ns(&self) -> u64 {
        0
    }
    fn yield_now(&self) {
        thread::yield_now();
    }
    fn cpus(&self) -> u32 {
        1
    }
}

/// A faithful futex model: `park` checks the word and blocks under one mutex, `unpark_all`
/// notifies under it, so check-and-sleep is atomic with respect to wake. A lost wake-up leaves a
/// thread blocked forever, which loom reports as a deadlock.
#[derive(Clone)]
struct FutexModel(Arc<(loom::sync::Mutex<()>, loom::sync::Condvar)>);

impl FutexModel {
    fn new() -> Self {
        FutexModel(Arc::new((loom::sync::Mutex::new(()), loom::sync::Condvar::new())))
    }
}

impl Parker for FutexModel {
    fn park(&self, word: &AtomicU32, expected: u32, _deadline_ns: Option<u64>) {
        let g = self.0 .0.lock().unwrap();
        if word.load(loom::sync::atomic::Ordering::SeqCst) == expected {
            drop(self.0 .1.wait(g).unwrap());
        }
    }
    fn unpark_all(&self, _word: &AtomicU32) {
        let _g = self.0 .0.lock().unwrap();
        self.0 .1.notify_all();
    }
    fn now_ns(&self) -> u64 {
        0
    }
    fn yield_now(&self) {
        thread::yield_now();
    }
    fn cpus(&self) -> u32 {
        1
    }
}

/// Sleep at once: no spinning, no yielding (exercises the eventcount path).
const SLEEPY: WaitPolicy = WaitPolicy { spin_ns: 0, oversubscribed_spins: 0, yield_ns: 0, check_ns: u64::MAX };

#[test]
fn sleeping_waiter_is_never_lost() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let fx = FutexModel::new();
        let (c, f) = (cell.clone(), fx.clone());
        let h = thread::spawn(move || {
            let t = c.arrive(&f).unwrap();
            c.wait(&f, &SLEEPY, &t, None, None, || ()).unwrap();
        });
        let t = cell.arrive(&fx).unwrap();
        cell.wait(&fx, &SLEEPY, &t, None, None, || ()).unwrap();
        h.join().unwrap();
    });
}

#[test]
fn sleeping_waiter_is_woken_by_abort() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let fx = FutexModel::new();
        let (c, f) = (cell.clone(), fx.clone());
        let h = thread::spawn(move || {
            let t = c.arrive(&f).map_err(|_| WaitError::Broken(BreakReason::Aborted))?;
            c.wait(&f, &SLEEPY, &t, None, None, || ())
        });
        cell.abort(&fx);
        let r = h.join().unwrap();
        assert_eq!(r, Err(WaitError::Broken(BreakReason::Aborted)));
    });
}

const POLICY: WaitPolicy = WaitPolicy { spin_ns: 0, oversubscribed_spins: 1, yield_ns: 0, check_ns: u64::MAX };

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn two_parties_release_with_distinct_indices_and_publish_data() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let data = Arc::new(AtomicU32::new(0));
        let (c, d) = (cell.clone(), data.clone());
        let h = thread::spawn(move || {
            d.store(7, loom::sync::atomic::Ordering::Relaxed);
            let t = c.arrive(&LoomParker).unwrap();
            c.wait(&LoomParker, &POLICY, &t, None, None, || ()).unwrap();
            t.index
        });
        let t = cell.arrive(&LoomParker).unwrap();
        cell.wait(&LoomParker, &POLICY, &t, None, None, || ()).unwrap();
        // Happens-before through the barrier: the peer's relaxed store is visible.
        assert_eq!(data.load(loom::sync::atomic::Ordering::Relaxed), 7);
        let other = h.join().unwrap();
        assert_ne!(t.index, other);
        assert_eq!(cell.state().generation, 1);
    });
}

#[test]
fn abort_racing_the_last_arrival_resolves_one_way() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let c = cell.clone();
        let h = thread::spawn(move || {
            let t = c.arrive(&LoomParker);
            t.map(|t| c.wait(&LoomParker, &POLICY, &t, None, None, || ()))
        });
        cell.abort(&LoomParker);
        let r = h.join().unwrap();
        // The waiter either could not arrive (already broken) or was broken while waiting; it is
        // never released, because only one party arrived.
        match r {
            Err(_) => {}
            Ok(Err(WaitError::Broken(BreakReason::Aborted))) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(cell.state().broken);
    });
}

#[test]
fn resign_completes_the_generation_of_a_waiter() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let c = cell.clone();
        let h = thread::spawn(move || {
            let t = c.arrive(&LoomParker).unwrap();
            c.wait(&LoomParker, &POLICY, &t, None, None, || ())
        });
        cell.remove_parties(&LoomParker, 1, None);
        assert_eq!(h.join().unwrap(), Ok(()));
        let s = cell.state();
        assert_eq!((s.parties, s.arrived), (1, 0));
    });
}

#[test]
fn reset_breaks_current_waiter_only() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let c = cell.clone();
        let h = thread::spawn(move || {
            let t = c.arrive(&LoomParker).unwrap();
            (t, c.wait(&LoomParker, &POLICY, &t, None, None, || ()))
        });
        // Reset until the waiter has been broken out (reset is a no-op before it arrives).
        loop {
            cell.reset(&LoomParker);
            if cell.state().generation == 1 {
                break;
            }
            thread::yield_now();
        }
        let (t, r) = h.join().unwrap();
        assert_eq!(t.generation, 0);
        assert!(matches!(r, Err(WaitError::Broken(_))));
        assert!(!cell.state().broken);
    });
}

#[test]
fn two_generations_nobody_leaves_early() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let progress = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
        let run = |me: usize, cell: Arc<BarrierCell>, progress: Arc<[AtomicU32; 2]>| {
            for round in 1..=2u32 {
                progress[me].store(round, loom::sync::atomic::Ordering::Relaxed);
                let t = cell.arrive(&LoomParker).unwrap();
                cell.wait(&LoomParker, &POLICY, &t, None, None, || ()).unwrap();
                // The peer arrived in this round before anyone left it.
                assert!(progress[1 - me].load(loom::sync::atomic::Ordering::Relaxed) >= round);
            }
        };
        let (c, p) = (cell.clone(), progress.clone());
        let h = thread::spawn(move || run(1, c, p));
        run(0, cell.clone(), progress);
        h.join().unwrap();
        assert_eq!(cell.state().generation, 2);
    });
}
