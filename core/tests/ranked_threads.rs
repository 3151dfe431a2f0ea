//! The ranked barrier (per-party arrival lines) with real threads: data visibility, breaks and
//! their races, reset, wrap-around, bad ranks.
#![cfg(not(loom))]

mod thread_support;

use muster_core::barrier::BreakReason;
use muster_core::ranked::{BreakOutcome, RankedCell, RankedError, RankedWaitError, MAX_RANKS};
use muster_core::sync::Ordering::{Acquire, Relaxed, Release};
use muster_core::wait::{Parker, WaitPolicy};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use thread_support::TestParker;

fn parker() -> Arc<TestParker> {
    Arc::new(TestParker::new())
}

fn policy() -> WaitPolicy {
    WaitPolicy::default()
}

/// `parties` threads run `episodes` generations; before each arrival a rank writes its episode
/// number, after each wait it checks every rank's number reached the episode.
fn run(parties: u32, episodes: u32, start: u32) {
    let cell = Arc::new(RankedCell::new(parties));
    assert!(cell.set_generation(start));
    let fx = parker();
    let marks: Arc<Vec<AtomicU64>> = Arc::new((0..parties).map(|_| AtomicU64::new(0)).collect());
    let threads: Vec<_> = (0..parties)
        .map(|rank| {
            let (cell, fx, marks) = (cell.clone(), fx.clone(), marks.clone());
            std::thread::spawn(move || {
                for ep in 1..=u64::from(episodes) {
                    marks[rank as usize].store(ep, Relaxed);
                    let t = cell.arrive(&*fx, rank).unwrap();
                    assert_eq!(t.generation, start.wrapping_add(ep as u32 - 1));
                    assert_eq!(t.is_leader(), rank == 0);
                    cell.wait(&*fx, &policy(), &t, None, None, || ()).unwrap();
                    for m in marks.iter() {
                        assert!(m.load(Relaxed) >= ep, "a rank's write before arriving is visible after the wait");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(cell.current_generation().unwrap(), start.wrapping_add(episodes));
}

#[test]
fn ranks_meet_and_see_each_others_writes() {
    run(2, 20_000, 0);
    run(4, 5_000, 0);
    run(MAX_RANKS, 300, 0);
}

#[test]
fn generations_wrap_around() {
    run(3, 2_000, u32::MAX - 1000);
}

#[test]
fn a_bad_rank_is_an_error() {
    let cell = RankedCell::new(2);
    let fx = parker();
    assert_eq!(cell.arrive(&*fx, 2), Err(RankedError::BadRank));
    assert_eq!(cell.arrive(&*fx, u32::MAX), Err(RankedError::BadRank));
}

#[test]
fn a_timed_out_rank_breaks_the_generation_for_everyone_until_reset() {
    let cell = RankedCell::new(2);
    let fx = parker();
    let t0 = cell.arrive(&*fx, 0).unwrap();
    let deadline = fx.now_ns() + 2_000_000;
    assert_eq!(cell.wait(&*fx, &policy(), &t0, Some(deadline), None, || ()), Err(RankedWaitError::TimedOut));
    // Split-phase semantics: the arrival stands until someone breaks the generation.
    assert_eq!(
        cell.break_generation(&*fx, t0.generation, BreakReason::TimedOut),
        BreakOutcome::Broken(BreakReason::TimedOut)
    );
    assert!(cell.is_broken());
    assert_eq!(cell.arrive(&*fx, 1), Err(RankedError::Broken(BreakReason::TimedOut)));
    assert!(matches!(
        cell.wait(&*fx, &policy(), &t0, None, None, || ()),
        Err(RankedWaitError::Failed(RankedError::Broken(_)))
    ));
    assert!(cell.reset(&*fx));
    assert!(!cell.reset(&*fx), "a barrier that is not broken is left alone");
    // Both ranks go on at the next generation, whichever of them had arrived.
    let (a, b) = (cell.arrive(&*fx, 0).unwrap(), cell.arrive(&*fx, 1).unwrap());
    assert_eq!((a.generation, b.generation), (1, 1));
    cell.wait(&*fx, &policy(), &a, None, None, || ()).unwrap();
    cell.wait(&*fx, &policy(), &b, None, None, || ()).unwrap();
    // The broken generation stays broken for a waiter that looks only now.
    assert!(matches!(
        cell.wait(&*fx, &policy(), &t0, None, None, || ()),
        Err(RankedWaitError::Failed(RankedError::Broken(_)))
    ));
}

#[test]
fn a_break_after_completion_changes_nothing() {
    let cell = RankedCell::new(2);
    let fx = parker();
    let a = cell.arrive(&*fx, 0).unwrap();
    let b = cell.arrive(&*fx, 1).unwrap();
    assert_eq!(cell.break_generation(&*fx, a.generation, BreakReason::Aborted), BreakOutcome::Completed);
    assert!(!cell.is_broken());
    cell.wait(&*fx, &policy(), &a, None, None, || ()).unwrap();
    cell.wait(&*fx, &policy(), &b, None, None, || ()).unwrap();
}

#[test]
fn a_sleeping_waiter_is_woken_by_abort_and_by_the_last_arrival() {
    let sleepy = WaitPolicy { spin_ns: 0, busy_spin_ns: 0, oversubscribed_spins: 0, yield_ns: 0, ..policy() };
    let cell = Arc::new(RankedCell::new(2));
    let fx = parker();
    for round in 0..50u32 {
        let (c, f) = (cell.clone(), fx.clone());
        let (arrived, told) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            let t = c.arrive(&*f, 0).unwrap();
            arrived.send(()).unwrap();
            c.wait(&*f, &sleepy, &t, None, None, || ())
        });
        told.recv().unwrap();
        std::thread::sleep(Duration::from_micros(200));
        if round % 2 == 0 {
            let t = cell.arrive(&*fx, 1).unwrap();
            cell.wait(&*fx, &sleepy, &t, None, None, || ()).unwrap();
            assert_eq!(h.join().unwrap(), Ok(()));
        } else {
            let out = cell.abort(&*fx, BreakReason::Aborted).unwrap();
            assert_eq!(out, BreakOutcome::Broken(BreakReason::Aborted));
            assert_eq!(h.join().unwrap(), Err(RankedWaitError::Failed(RankedError::Broken(BreakReason::Aborted))));
            assert!(cell.reset(&*fx));
        }
    }
}

/// Breaks race completions: every rank of a generation reports the same outcome.
#[test]
fn breaks_racing_arrivals_give_every_rank_one_outcome() {
    let parties = 3u32;
    let cell = Arc::new(RankedCell::new(parties));
    let fx = parker();
    let outcomes: Arc<Vec<AtomicU64>> = Arc::new((0..parties).map(|_| AtomicU64::new(0)).collect());
    for round in 0..300u32 {
        let threads: Vec<_> = (0..parties)
            .map(|rank| {
                let (c, f, o) = (cell.clone(), fx.clone(), outcomes.clone());
                std::thread::spawn(move || {
                    let r = match c.arrive(&*f, rank) {
                        Ok(t) => match c.wait(&*f, &policy(), &t, None, None, || ()) {
                            Ok(()) => 1,
                            Err(_) => 2,
                        },
                        Err(_) => 2,
                    };
                    o[rank as usize].store(r, Release);
                })
            })
            .collect();
        if round % 3 != 0 {
            let g = cell.current_generation().unwrap();
            cell.break_generation(&*fx, g, BreakReason::Aborted);
        }
        for t in threads {
            t.join().unwrap();
        }
        let first = outcomes[0].load(Acquire);
        assert!(outcomes.iter().all(|o| o.load(Acquire) == first), "round {round}: ranks disagree");
        // (All may succeed and the barrier still be broken: a break that read the generation in
        // progress after every rank had arrived breaks the next one.)
        if first == 2 {
            assert!(cell.is_broken());
        }
        cell.reset(&*fx);
    }
}

/// A breaker of a generation that completed, seen mid-decision by a waiter of the next one:
/// pending for that waiter, and undone.
#[test]
fn a_slow_breaker_of_a_completed_generation_is_undone() {
    let cell = RankedCell::new(2);
    let fx = parker();
    let (a, b) = (cell.arrive(&*fx, 0).unwrap(), cell.arrive(&*fx, 1).unwrap());
    let next = cell.arrive(&*fx, 0).unwrap();
    assert_eq!(cell.break_generation(&*fx, b.generation, BreakReason::TimedOut), BreakOutcome::Completed);
    assert!(!cell.is_broken());
    assert!(matches!(cell.outcome(a.generation), muster_core::wait::Poll::Ready(Ok(()))));
    assert!(matches!(cell.outcome(next.generation), muster_core::wait::Poll::Pending));
    let last = cell.arrive(&*fx, 1).unwrap();
    cell.wait(&*fx, &policy(), &next, None, None, || ()).unwrap();
    cell.wait(&*fx, &policy(), &last, None, None, || ()).unwrap();
}
