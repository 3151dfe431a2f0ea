//! Split-phase arrivals and completion actions through the Rust API (threads of one process
//! sharing a region; the cross-process forms are in tests/c/split_phase.c and
//! tests/party_identity.rs).

mod common;

use common::{bounded, TempName, WATCHDOG};
use muster::{Error, Region, RegionConfig};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn region(tag: &str) -> (TempName, Region) {
    let n = TempName::new(tag);
    let r = Region::create(&n.0, &RegionConfig::default()).unwrap();
    (n, r)
}

#[test]
fn await_timeout_changes_nothing_and_tickets_are_checked() {
    let (_n, r) = region("sp-timeout");
    let a = r.barrier("b", 2).unwrap();
    let b = r.barrier("b", 2).unwrap();
    let other = r.barrier("other", 2).unwrap();
    let arr = a.arrive().unwrap();
    assert!(arr.is_leader());
    assert!(!a.is_complete(arr.ticket).unwrap());
    let t0 = Instant::now();
    assert!(matches!(a.await_ticket(arr.ticket, Some(Duration::from_millis(20))), Err(Error::Timeout)));
    assert!(t0.elapsed() >= Duration::from_millis(20), "timeout fired early");
    assert!(!a.is_broken());
    assert_eq!(a.waiting(), 1, "the arrival stands");
    assert!(matches!(other.await_ticket(arr.ticket, None), Err(Error::InvalidArgument(_))));
    assert!(matches!(a.await_ticket(arr.ticket + 1, None), Err(Error::InvalidArgument(_))));
    assert!(matches!(a.is_complete(7), Err(Error::InvalidArgument(_))));
    let second = b.arrive().unwrap();
    assert_eq!(second.index, 1);
    assert_eq!(second.ticket, arr.ticket);
    a.await_ticket(arr.ticket, Some(Duration::ZERO)).unwrap();
    assert!(a.is_complete(arr.ticket).unwrap());
    assert_eq!(a.episodes(), 1);
}

#[test]
fn split_phase_across_threads_many_generations() {
    let (_n, r) = region("sp-threads");
    let parties = 4u32;
    let data = Arc::new((0..parties).map(|_| AtomicU32::new(0)).collect::<Vec<_>>());
    let hs: Vec<_> = (0..parties)
        .map(|me| {
            let (r, data) = (r.clone(), data.clone());
            std::thread::spawn(move || {
                let b = r.barrier("b", parties).unwrap();
                for round in 1..=500u32 {
                    data[me as usize].store(round, Ordering::Relaxed);
                    let a = b.arrive().unwrap();
                    // "Other work" between arrive and await.
                    std::hint::black_box((0..50).sum::<u32>());
                    b.await_ticket(a.ticket, Some(WATCHDOG)).unwrap();
                    for d in data.iter() {
                        assert!(d.load(Ordering::Relaxed) >= round, "released before everyone arrived");
                    }
                    // Keep anyone from racing a round ahead before all checked.
                    b.wait().unwrap();
                }
            })
        })
        .collect();
    bounded(WATCHDOG, move || hs.into_iter().for_each(|h| h.join().unwrap()));
}

#[test]
fn action_runs_once_per_generation_before_release() {
    let (_n, r) = region("sp-action");
    let parties = 3u32;
    let arrived = Arc::new(AtomicU32::new(0));
    let actions = Arc::new(AtomicU32::new(0));
    let hs: Vec<_> = (0..parties)
        .map(|_| {
            let (r, arrived, actions) = (r.clone(), arrived.clone(), actions.clone());
            std::thread::spawn(move || {
                let (ar, ac) = (arrived.clone(), actions.clone());
                let b = r.barrier("b", parties).unwrap().with_action(move || {
                    // Everyone's arrival of this round is visible to the action.
                    let gens = ac.fetch_add(1, Ordering::SeqCst) + 1;
                    if ar.load(Ordering::SeqCst) != gens * 3 {
                        return Err(format!("action of generation {gens} saw {} arrivals", ar.load(Ordering::SeqCst)));
                    }
                    Ok(())
                });
                for round in 1..=200u32 {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    b.wait().unwrap();
                    // The action of this round ran before anyone was released.
                    assert!(actions.load(Ordering::SeqCst) >= 2 * round - 1);
                    arrived.fetch_add(1, Ordering::SeqCst);
                    b.wait().unwrap();
                }
            })
        })
        .collect();
    bounded(WATCHDOG, move || hs.into_iter().for_each(|h| h.join().unwrap()));
    // Two generations per round, one action each.
    assert_eq!(actions.load(Ordering::SeqCst), 400);
}

#[test]
fn try_arrive_does_not_wait_for_a_running_action_and_poll_ticket_spins_as_asked() {
    let (_n, r) = region("sp-try");
    let first = r.barrier("b", 2).unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (in_tx, in_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let last = r.barrier("b", 2).unwrap().with_action(move || {
        in_tx.send(()).map_err(|e| e.to_string())?;
        go_rx.lock().map_err(|e| e.to_string())?.recv().map_err(|e| e.to_string())
    });
    let a = first.try_arrive().unwrap().expect("nothing is running: the arrival happens");
    assert!(!first.poll_ticket(a.ticket, Duration::ZERO).unwrap());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t0 = Instant::now();
    assert!(!first.poll_ticket(a.ticket, Duration::from_millis(5)).unwrap());
    if cpus >= 2 {
        assert!(t0.elapsed() >= Duration::from_millis(5), "poll_ticket gave up before its spin ended");
    }
    assert_eq!(first.waiting(), 1, "polling changes nothing");
    // More parties than CPUs: no spin at all (the parties waited for need this CPU).
    let crowd = r.barrier("crowd", u32::try_from(cpus + 1).unwrap()).unwrap();
    let c = crowd.try_arrive().unwrap().unwrap();
    let t0 = Instant::now();
    assert!(!crowd.poll_ticket(c.ticket, Duration::from_secs(2)).unwrap());
    assert!(t0.elapsed() < Duration::from_secs(1), "poll_ticket spun on an oversubscribed barrier");
    // The last arrival runs its (blocking) action in another thread.
    let runner = std::thread::spawn(move || last.wait().map(|w| w.index));
    in_rx.recv_timeout(WATCHDOG).unwrap();
    let t0 = Instant::now();
    assert!(first.try_arrive().unwrap().is_none(), "an arrival during the action would have to wait");
    assert!(t0.elapsed() < Duration::from_millis(500), "try_arrive waited");
    assert!(!first.poll_ticket(a.ticket, Duration::from_micros(100)).unwrap(), "released before the action ended");
    go_tx.send(()).unwrap();
    assert!(first.poll_ticket(a.ticket, WATCHDOG).unwrap());
    assert_eq!(runner.join().unwrap().unwrap(), 1);
    // The refused arrival did nothing: the next generation starts empty, and a break is reported.
    assert_eq!(first.waiting(), 0);
    let b = first.try_arrive().unwrap().unwrap();
    assert_eq!(b.index, 0);
    first.abort().unwrap();
    assert!(matches!(first.poll_ticket(b.ticket, Duration::from_micros(100)), Err(Error::Broken)));
    assert!(matches!(first.try_arrive(), Err(Error::Broken)));
}

#[test]
fn failing_or_panicking_action_breaks_the_generation_for_all() {
    let (_n, r) = region("sp-fail");
    for panics in [false, true] {
        let name = if panics { "panics" } else { "fails" };
        let waiter = r.barrier(name, 2).unwrap();
        let last = r.barrier(name, 2).unwrap().with_action(move || {
            if panics {
                panic!("deliberate panic in a completion action");
            }
            Err("deliberate failure".to_owned())
        });
        let w = std::thread::spawn(move || waiter.wait().map(|_| ()));
        while last.waiting() < 1 {
            std::thread::yield_now();
        }
        match last.wait() {
            Err(Error::ActionFailed(msg)) => {
                assert!(msg.contains(if panics { "panicked" } else { "deliberate failure" }), "{msg}")
            }
            other => panic!("the party running the action got {other:?}"),
        }
        assert!(matches!(w.join().unwrap(), Err(Error::ActionFailed(_))));
        assert!(last.is_broken());
        last.reset().unwrap();
        assert!(!last.is_broken());
    }
}

#[test]
fn arrive_and_drop_on_counted_and_membership_barriers() {
    let (_n, r) = region("sp-drop");
    // Counted: parties - 1 from the next generation; the dropper takes the highest index.
    let a = r.barrier("c", 3).unwrap();
    let d = r.barrier("c", 3).unwrap();
    let first = a.arrive().unwrap();
    assert_eq!(d.arrive_and_drop().unwrap().index, 2);
    assert!(matches!(d.await_ticket(first.ticket, None), Err(Error::Misuse(_))));
    assert!(matches!(d.arrive(), Err(Error::Misuse(_))));
    assert_eq!(a.parties(), 2);
    assert_eq!(a.arrive().unwrap().index, 1);
    a.await_ticket(first.ticket, None).unwrap();
    // Membership: a member that drops completes the generation if it was the last one.
    let m1 = r.join("m").unwrap();
    let m2 = r.join("m").unwrap();
    let t = m1.arrive().unwrap();
    assert!(matches!(m1.arrive(), Err(Error::Misuse(_))), "arriving twice in one generation");
    assert!(matches!(m1.resign(), Err(Error::Misuse(_))), "resign with a pending arrival");
    assert_eq!(m2.arrive_and_drop().unwrap().index, 1);
    assert!(!m2.is_member());
    m1.await_ticket(t.ticket, None).unwrap();
    assert_eq!(m1.parties(), 1);
    m2.enroll().unwrap();
    assert_eq!(m1.parties(), 2);
}

#[test]
fn dropping_a_member_with_a_pending_arrival_withdraws_it() {
    let (_n, r) = region("sp-pending");
    let m1 = r.join("m").unwrap();
    let m2 = r.join("m").unwrap();
    let m3 = r.join("m").unwrap();
    let t = m1.arrive().unwrap();
    drop(m1); // its arrival must not release m2 and m3 one party short
    assert_eq!(m2.parties(), 2);
    assert_eq!(m2.waiting(), 0);
    let t2 = m2.arrive().unwrap();
    assert!(!m2.is_complete(t2.ticket).unwrap());
    m3.arrive().unwrap();
    m2.await_ticket(t2.ticket, None).unwrap();
    assert!(m2.is_complete(t.ticket).unwrap() || t.ticket != t2.ticket);
}

#[test]
fn forked_child_handles_refuse_split_phase() {
    let (_n, r) = region("sp-fork");
    let b = r.barrier("b", 2).unwrap();
    let a = b.arrive().unwrap();
    // SAFETY: the child only calls async-signal-safe-enough code paths of this library that
    // return Misuse before touching shared state, then _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = matches!(b.arrive(), Err(Error::Misuse(_)))
            && matches!(b.await_ticket(a.ticket, Some(Duration::ZERO)), Err(Error::Misuse(_)))
            && matches!(b.is_complete(a.ticket), Err(Error::Misuse(_)))
            && matches!(b.arrive_and_drop(), Err(Error::Misuse(_)));
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status:#x}");
}
