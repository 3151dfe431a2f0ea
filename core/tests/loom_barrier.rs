//! Model test of the plain barrier under loom (all interleavings, C11 memory model):
//! `RUSTFLAGS="--cfg loom" cargo test -p muster-core --release --test loom_barrier`
#![cfg(loom)]

mod loom_support;

use loom::sync::atomic::AtomicU32;
use loom::sync::Arc;
use loom::thread;
use loom_support::{FutexModel, LoomParker};
use muster_core::barrier::{Arrive, BarrierCell, BreakReason, MemberOp, MemberTable, Ticket, WaitError};
use muster_core::wait::{Parker, WaitPolicy};

/// Sleep at once: no spinning, no yielding (exercises the eventcount path).
const SLEEPY: WaitPolicy =
    WaitPolicy { spin_ns: 0, busy_spin_ns: 0, oversubscribed_spins: 0, yield_ns: 0, check_ns: u64::MAX };

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

const POLICY: WaitPolicy =
    WaitPolicy { spin_ns: 0, busy_spin_ns: 0, oversubscribed_spins: 1, yield_ns: 0, check_ns: u64::MAX };

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
        cell.remove_party(&LoomParker);
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

#[test]
fn split_phase_await_is_never_lost_and_never_early() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let fx = FutexModel::new();
        let data = Arc::new(AtomicU32::new(0));
        let (c, f, d) = (cell.clone(), fx.clone(), data.clone());
        let h = thread::spawn(move || {
            d.store(7, loom::sync::atomic::Ordering::Relaxed);
            let t = c.arrive(&f).unwrap();
            c.wait(&f, &SLEEPY, &t, None, None, || ()).unwrap();
        });
        // Arrive, "do other work", then await with only the generation kept (a ticket).
        let t = cell.arrive(&fx).unwrap();
        let kept = Ticket::for_generation(t.generation, 2);
        cell.wait(&fx, &SLEEPY, &kept, None, None, || ()).unwrap();
        // Released only after the peer arrived: its write before arriving is visible.
        assert_eq!(data.load(loom::sync::atomic::Ordering::Relaxed), 7);
        h.join().unwrap();
    });
}

#[test]
fn completion_action_runs_before_anyone_is_released() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(2, 0));
        let fx = FutexModel::new();
        let before = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
        let action_saw = Arc::new(AtomicU32::new(0));
        let run =
            |me: usize, cell: Arc<BarrierCell>, fx: FutexModel, before: Arc<[AtomicU32; 2]>, saw: Arc<AtomicU32>| {
                before[me].store(1, loom::sync::atomic::Ordering::Relaxed);
                let t = cell.arrive_with(&fx, None, Arrive::WithAction, None).unwrap();
                if t.tripping {
                    // The action sees both parties' writes made before arriving.
                    let sum = before[0].load(loom::sync::atomic::Ordering::Relaxed)
                        + before[1].load(loom::sync::atomic::Ordering::Relaxed);
                    saw.store(sum + 10, loom::sync::atomic::Ordering::Relaxed);
                    assert!(cell.complete_trip(&fx, &t, Ok(())));
                } else {
                    cell.wait(&fx, &SLEEPY, &t, None, None, || ()).unwrap();
                }
                // Nobody leaves before the action finished.
                assert_eq!(saw.load(loom::sync::atomic::Ordering::Relaxed), 12);
            };
        let (c, f, b, s) = (cell.clone(), fx.clone(), before.clone(), action_saw.clone());
        let h = thread::spawn(move || run(1, c, f, b, s));
        run(0, cell.clone(), fx, before, action_saw);
        h.join().unwrap();
        assert_eq!(cell.state().generation, 1);
        assert_eq!(cell.episodes(), 1);
    });
}

/// A member table of three process slots; `dead[i]` is the liveness token.
struct Table {
    me: u32,
    counters: Arc<[AtomicU32; 3]>,
    dead: Arc<[loom::sync::atomic::AtomicBool; 3]>,
}

impl MemberTable for Table {
    fn me(&self) -> u32 {
        self.me
    }
    fn counter(&self, slot: u32) -> Option<&AtomicU32> {
        self.counters.get(slot as usize)
    }
    fn is_dead(&self, slot: u32) -> bool {
        self.dead.get(slot as usize).is_some_and(|d| d.load(loom::sync::atomic::Ordering::SeqCst))
    }
}

fn tables(n: u32) -> Vec<Table> {
    let counters = Arc::new([AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)]);
    let dead = Arc::new([
        loom::sync::atomic::AtomicBool::new(false),
        loom::sync::atomic::AtomicBool::new(false),
        loom::sync::atomic::AtomicBool::new(false),
    ]);
    (0..n).map(|me| Table { me, counters: counters.clone(), dead: dead.clone() }).collect()
}

#[test]
fn member_killed_mid_enroll_never_hangs_nor_releases_early() {
    // Process 0 is a member and waits; process 1 enrolls and dies after its word step (a
    // phantom party unless recovered); process 2 is the survivor that cleans up.
    for after_word in [false, true] {
        model(move || {
            let cell = Arc::new(BarrierCell::new(0, 0));
            let fx = FutexModel::new();
            let mut t = tables(3).into_iter();
            let (t0, t1, t2) = (t.next().unwrap(), t.next().unwrap(), t.next().unwrap());
            cell.member_op(&fx, &t0, MemberOp::Enroll, 0).unwrap();
            let (c, f) = (cell.clone(), fx.clone());
            let dying = thread::spawn(move || {
                c.enroll_then_die_for_test(&f, &t1, after_word);
                t1.dead[1].store(true, loom::sync::atomic::Ordering::SeqCst);
            });
            let (c, f) = (cell.clone(), fx.clone());
            let waiter = thread::spawn(move || match c.arrive(&f) {
                Ok(t) => (t.released, c.wait(&f, &SLEEPY, &t, None, None, || ())),
                // Arrived after the cleanup broke the generation.
                Err(muster_core::barrier::StateError::Broken(r)) => (false, Err(WaitError::Broken(r))),
                Err(e) => panic!("arrival failed: {e:?}"),
            });
            dying.join().unwrap();
            // The survivor's liveness hook: recover the dead owner's lock, then clean it up.
            assert!(cell.recover_member_lock(&t2, Some(1)));
            let _ = cell.member_op(&fx, &t2, MemberOp::Clean { pid: 41 }, 1);
            let (released_by_me, r) = waiter.join().unwrap();
            match r {
                // Released: only if the waiter's own arrival completed the generation (it arrived
                // while the barrier had one party), never by anybody else.
                Ok(()) => assert!(released_by_me),
                Err(e) => assert_eq!(e, WaitError::Broken(BreakReason::PeerDied(41))),
            }
            let s = cell.state();
            assert_eq!(s.parties, 1, "the dead process's party is gone");
            assert_eq!(t2.counters[1].load(loom::sync::atomic::Ordering::SeqCst) & 0xffff, 0);
            assert_eq!(t2.counters[0].load(loom::sync::atomic::Ordering::SeqCst) & 0xffff, 1);
            assert_eq!(cell.member_lock_owner(), None);
        });
    }
}

#[test]
fn concurrent_membership_changes_keep_counts_consistent() {
    model(|| {
        let cell = Arc::new(BarrierCell::new(0, 0));
        let mut t = tables(2).into_iter();
        let (t0, t1) = (t.next().unwrap(), t.next().unwrap());
        cell.member_op(&LoomParker, &t0, MemberOp::Enroll, 0).unwrap();
        let c = cell.clone();
        let h = thread::spawn(move || {
            c.member_op(&LoomParker, &t1, MemberOp::Enroll, 1).unwrap();
            c.member_op(&LoomParker, &t1, MemberOp::Resign, 1).unwrap();
            t1
        });
        cell.member_op(&LoomParker, &t0, MemberOp::Enroll, 0).unwrap();
        let t1 = h.join().unwrap();
        let s = cell.state();
        let count = |t: &Table, i: usize| t.counters[i].load(loom::sync::atomic::Ordering::SeqCst) & 0xffff;
        assert_eq!(s.parties, count(&t1, 0) + count(&t1, 1));
        assert_eq!((count(&t1, 0), count(&t1, 1)), (2, 0));
        assert_eq!(cell.member_lock_owner(), None);
    });
}

/// The futex model on a machine with no CPU to spare: every wait takes the oversubscribed path,
/// whose spin count `SLEEPY` sets to 0. Needed where a barrier has fewer parties than the model's
/// one CPU would allow to spin for: loom's spin hint is a yield that lets the awaited thread run
/// first, so a waiter that spins never reaches its sleep in the model.
#[derive(Clone)]
struct NoSpareCpu(FutexModel);

impl Parker for NoSpareCpu {
    fn park(&self, word: &AtomicU32, expected: u32, deadline_ns: Option<u64>) {
        self.0.park(word, expected, deadline_ns)
    }
    fn unpark_all(&self, word: &AtomicU32) {
        self.0.unpark_all(word)
    }
    fn now_ns(&self) -> u64 {
        0
    }
    fn yield_now(&self) {
        thread::yield_now();
    }
    fn cpus(&self) -> u32 {
        0
    }
}

#[test]
fn next_generation_arrival_sleeping_in_wait_trip_is_woken() {
    // A one-party barrier whose every arrival trips: whoever arrives while the other's
    // completion action runs gets `Tripping`, sleeps in `wait_trip` (futex model, no yield) and
    // must be woken by `complete_trip`'s publish; actions never overlap and both generations
    // are released. The waiters take the oversubscribed path (see `NoSpareCpu`), so a waiter
    // really sleeps while the trip is still running.
    model(|| {
        let cell = Arc::new(BarrierCell::new(1, 0));
        let fx = NoSpareCpu(FutexModel::new());
        let in_action = Arc::new(AtomicU32::new(0));
        let run = |cell: Arc<BarrierCell>, fx: NoSpareCpu, in_action: Arc<AtomicU32>| loop {
            match cell.arrive_with(&fx, None, Arrive::WithAction, None) {
                Ok(t) => {
                    assert!(t.tripping);
                    assert_eq!(in_action.swap(1, loom::sync::atomic::Ordering::Relaxed), 0, "two actions at once");
                    in_action.store(0, loom::sync::atomic::Ordering::Relaxed);
                    assert!(cell.complete_trip(&fx, &t, Ok(())));
                    return t.generation;
                }
                Err(muster_core::barrier::StateError::Tripping) => assert!(cell.wait_trip(&fx, &SLEEPY, None, || ())),
                Err(e) => panic!("arrival failed: {e:?}"),
            }
        };
        let (c, f, a) = (cell.clone(), fx.clone(), in_action.clone());
        let h = thread::spawn(move || run(c, f, a));
        let mine = run(cell.clone(), fx, in_action);
        let theirs = h.join().unwrap();
        assert_eq!(mine + theirs, 1, "generations 0 and 1, one each");
        assert_eq!(cell.state().generation, 2);
        assert_eq!(cell.episodes(), 2);
    });
}

#[test]
fn resign_wakes_a_sleeping_member() {
    // Two member processes; process 0 arrives and sleeps (futex model), process 1 resigns
    // through the membership lock. Before the waiter's arrival the resign leaves one party (the
    // arrival releases itself); after it the resign completes the generation and must wake the
    // sleeper.
    model(|| {
        let cell = Arc::new(BarrierCell::new(0, 0));
        let fx = FutexModel::new();
        let mut t = tables(2).into_iter();
        let (t0, t1) = (t.next().unwrap(), t.next().unwrap());
        cell.member_op(&fx, &t0, MemberOp::Enroll, 0).unwrap();
        cell.member_op(&fx, &t1, MemberOp::Enroll, 1).unwrap();
        let (c, f) = (cell.clone(), fx.clone());
        let waiter = thread::spawn(move || {
            let t = c.arrive(&f).unwrap();
            c.wait(&f, &SLEEPY, &t, None, None, || ())
        });
        cell.member_op(&fx, &t1, MemberOp::Resign, 1).unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(()));
        let s = cell.state();
        assert_eq!((s.parties, s.arrived, s.generation), (1, 0, 1));
        assert_eq!(cell.member_lock_owner(), None);
    });
}
