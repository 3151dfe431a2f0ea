//! The in-process heap barrier (private futexes): phases across threads, timeouts, abort/reset.

use muster::{Error, HeapBarrier};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn threads_step_together_with_one_leader_per_generation() {
    const N: u32 = 6;
    const ROUNDS: u32 = 3000;
    let b = Arc::new(HeapBarrier::new(N).unwrap());
    let progress: Arc<Vec<AtomicU32>> = Arc::new((0..N).map(|_| AtomicU32::new(0)).collect());
    let leaders = Arc::new(AtomicU32::new(0));
    let hs: Vec<_> = (0..N as usize)
        .map(|me| {
            let (b, p, l) = (b.clone(), progress.clone(), leaders.clone());
            std::thread::spawn(move || {
                for k in 0..ROUNDS {
                    p[me].store(k + 1, Ordering::Relaxed);
                    let r = b.wait_timeout(Duration::from_secs(120)).expect("wait");
                    // Relaxed stores before the barrier are visible after it.
                    for q in p.iter() {
                        let v = q.load(Ordering::Relaxed);
                        assert!(v == k + 1 || v == k + 2, "round {k}: peer at {v}");
                    }
                    if r.is_leader() {
                        l.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::Relaxed), ROUNDS);
}

#[test]
fn timeout_breaks_abort_and_reset_recover() {
    assert!(matches!(HeapBarrier::new(0), Err(Error::InvalidArgument(_))));
    let b = Arc::new(HeapBarrier::new(2).unwrap());
    let t0 = Instant::now();
    assert!(matches!(b.wait_timeout(Duration::from_millis(25)), Err(Error::Timeout)));
    assert!(t0.elapsed() >= Duration::from_millis(25));
    assert!(b.is_broken());
    assert!(matches!(b.wait(), Err(Error::Broken)));
    b.reset();
    let b2 = b.clone();
    let h = std::thread::spawn(move || b2.wait_timeout(Duration::from_secs(60)));
    let mine = b.wait_timeout(Duration::from_secs(60)).unwrap();
    let theirs = h.join().unwrap().unwrap();
    assert_eq!(mine.index + theirs.index, 1);
    let b3 = b.clone();
    let h = std::thread::spawn(move || b3.wait_timeout(Duration::from_secs(60)));
    std::thread::sleep(Duration::from_millis(10));
    b.abort();
    assert!(matches!(h.join().unwrap(), Err(Error::Broken)));
    assert_eq!(b.parties(), 2);
}
