//! Alting barriers with real threads over heap tables. Every test runs under a watchdog.
#![cfg(not(loom))]

use muster_core::alting::{
    AgentId, Alt, AltCapacities, AltError, AltPolicy, Alternative, ChannelConfig, DeathPolicy, FrontEnd, Guard,
    HeapAlting, InProcess, Misuse, SelectMode,
};
mod thread_support;

use muster_core::wait::Parker;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};
use thread_support::TestParker;

fn caps() -> AltCapacities {
    AltCapacities { agents: 32, barriers: 32, frontends_per_barrier: 16, channels: 4, slots_per_channel: 8 }
}

fn policy() -> AltPolicy {
    let mut p = AltPolicy::default();
    p.wait.check_ns = 5_000_000;
    p
}

/// Runs `f` on its own thread; panics if it does not finish within `secs`.
fn watchdog<F: FnOnce() + Send + 'static>(secs: u64, f: F) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => h.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e)
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("watchdog: test did not finish within {secs} s"),
    }
}

/// Heap tables, a parker and a context for one test.
struct World {
    heap: HeapAlting,
    parker: TestParker,
    policy: AltPolicy,
}

impl World {
    fn new() -> World {
        World { heap: HeapAlting::new(caps()).unwrap(), parker: TestParker::new(), policy: policy() }
    }
    fn alt(&self) -> Alt<'_> {
        Alt::new(self.heap.tables(), &self.parker, &InProcess, self.policy)
    }
}

fn deadline_in(parker: &TestParker, ms: u64) -> u64 {
    parker.now_ns() + ms * 1_000_000
}

#[test]
fn goldsmith_challenge() {
    goldsmith(20_000, policy());
}

#[test]
fn goldsmith_with_eager_stall_breaking() {
    // Claims are aborted (ABRT_S) almost as soon as anybody waits for them: exercises retries.
    goldsmith(5_000, AltPolicy { stall_ns: 0, stall_spins: 2, ..policy() });
}

fn goldsmith(events: u64, policy: AltPolicy) {
    watchdog(120, move || {
        let mut w = World::new();
        w.policy = policy;
        let w = w;
        let alt = w.alt();
        // a = {P, R}, b = {P, Q}, c = {Q, R}
        let (_, a) = alt.create_barrier(2).unwrap();
        let (_, b) = alt.create_barrier(2).unwrap();
        let (_, c) = alt.create_barrier(2).unwrap();
        let offers: [[(u8, FrontEnd); 2]; 3] = [[(0, a[0]), (1, b[0])], [(1, b[1]), (2, c[0])], [(2, c[1]), (0, a[1])]];
        let fired = AtomicU64::new(0);
        let t0 = Instant::now();
        let logs: Vec<Vec<(u8, u32)>> = std::thread::scope(|s| {
            let hs: Vec<_> = offers
                .iter()
                .map(|o| {
                    let (w, fired) = (&w, &fired);
                    s.spawn(move || {
                        let alt = w.alt();
                        let me = alt.register_agent(1).unwrap();
                        let mut alt_ = Alternative::new(
                            me,
                            vec![Guard::Barrier(o[0].1), Guard::Barrier(o[1].1), Guard::Timeout(0)],
                        );
                        let mut log = Vec::new();
                        while fired.load(Relaxed) < 2 * events {
                            alt_.guards_mut()[2] = Guard::Timeout(w.parker.now_ns() + 20_000_000);
                            let i = alt_.fair_select(&alt).unwrap();
                            if i < 2 {
                                let t = alt.last_ticket(me).unwrap().expect("barrier fire has a ticket");
                                log.push((o[i].0, t));
                                fired.fetch_add(1, Relaxed);
                            }
                        }
                        log
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let secs = t0.elapsed().as_secs_f64();
        let total: usize = logs.iter().map(Vec::len).sum();
        assert_eq!(total % 2, 0, "every event is seen by exactly two parties");
        let events = total / 2;
        println!(
            "goldsmith: {events} events in {secs:.3} s = {:.0} events/s ({} CPUs)",
            events as f64 / secs,
            w.parker.cpus()
        );
        // Per barrier: both parties saw the same tickets, consecutive from 1.
        let parties_of = [[0usize, 2], [0, 1], [1, 2]];
        for x in 0u8..3 {
            let seqs: Vec<Vec<u32>> = parties_of[x as usize]
                .iter()
                .map(|&p| logs[p].iter().filter(|e| e.0 == x).map(|e| e.1).collect())
                .collect();
            assert_eq!(seqs[0], seqs[1], "barrier {x}: parties disagree");
            assert!(seqs[0].iter().enumerate().all(|(i, t)| *t == i as u32 + 1), "barrier {x}: tickets not 1..n");
            let bid = alt.barrier_of([a[0], b[0], c[0]][x as usize]).unwrap();
            assert_eq!(alt.completions(bid).unwrap(), seqs[0].len() as u64);
        }
        // A consistent global order exists: the union of the per-agent orders is acyclic.
        let mut ids: HashMap<(u8, u32), usize> = HashMap::new();
        for l in &logs {
            for e in l {
                let n = ids.len();
                ids.entry(*e).or_insert(n);
            }
        }
        let mut indeg = vec![0usize; ids.len()];
        let mut succ = vec![Vec::new(); ids.len()];
        for l in &logs {
            for win in l.windows(2) {
                let (u, v) = (ids[&win[0]], ids[&win[1]]);
                succ[u].push(v);
                indeg[v] += 1;
            }
        }
        let mut stack: Vec<usize> = (0..ids.len()).filter(|&i| indeg[i] == 0).collect();
        let mut seen = 0;
        while let Some(u) = stack.pop() {
            seen += 1;
            for &v in &succ[u] {
                indeg[v] -= 1;
                if indeg[v] == 0 {
                    stack.push(v);
                }
            }
        }
        assert_eq!(seen, ids.len(), "the parties' logs admit no global order");
    });
}

#[test]
fn resign_racing_selects() {
    watchdog(120, || {
        const TRIALS: u32 = 10_000;
        let w = World::new();
        let alt = w.alt();
        let (bid, fes) = alt.create_barrier(3).unwrap();
        let gate = std::sync::Barrier::new(3);
        let tickets: [Mutex<Vec<u32>>; 2] = [Mutex::new(Vec::new()), Mutex::new(Vec::new())];
        std::thread::scope(|s| {
            for who in 0..3usize {
                let (w, gate, tickets, fe) = (&w, &gate, &tickets, fes[who]);
                s.spawn(move || {
                    let alt = w.alt();
                    let me = alt.register_agent(1).unwrap();
                    alt.attach(fe, me).unwrap();
                    for _ in 0..TRIALS {
                        gate.wait();
                        if who < 2 {
                            alt.sync(me, fe).unwrap();
                            tickets[who].lock().unwrap().push(alt.last_ticket(me).unwrap().unwrap());
                        } else {
                            alt.resign(fe, me).unwrap();
                        }
                        gate.wait();
                        if who == 2 {
                            alt.enroll(fe, me).unwrap();
                        }
                    }
                });
            }
        });
        let t0 = tickets[0].lock().unwrap();
        assert_eq!(*t0, *tickets[1].lock().unwrap());
        assert_eq!(t0.len() as u32, TRIALS);
        assert_eq!(alt.completions(bid).unwrap(), u64::from(TRIALS));
    });
}

/// Two agents sync once on a fresh 2-party barrier (proves the tables are still usable).
fn two_party_sync(w: &World) {
    let alt = w.alt();
    let (bid, fes) = alt.create_barrier(2).unwrap();
    std::thread::scope(|s| {
        for fe in fes.clone() {
            s.spawn(move || {
                let alt = w.alt();
                let me = alt.register_agent(2).unwrap();
                alt.sync(me, fe).unwrap();
                alt.unregister_agent(me).unwrap();
            });
        }
    });
    assert_eq!(alt.completions(bid).unwrap(), 1);
    alt.destroy_barrier(bid).unwrap();
}

#[test]
fn misuse_then_normal_operation() {
    watchdog(60, || {
        let w = World::new();
        let alt = w.alt();
        let mis = |m: Misuse| Err::<(), AltError>(AltError::Misuse(m));
        assert_eq!(alt.create_barrier(0).map(|_| ()), Err(AltError::InvalidArgument));
        let a = alt.register_agent(1).unwrap();
        let b = alt.register_agent(1).unwrap();
        let (bid, fes) = alt.create_barrier(2).unwrap();
        alt.attach(fes[0], a).unwrap();
        alt.attach(fes[1], b).unwrap();
        // Offering / marking a front-end owned by another live agent.
        assert_eq!(alt.select(b, &[Guard::Barrier(fes[0])], SelectMode::Pri).map(|_| ()), mis(Misuse::NotOwner));
        assert_eq!(alt.attach(fes[0], b), mis(Misuse::NotOwner));
        // Enroll while enrolled; resign while resigned; use while resigned.
        assert_eq!(alt.enroll(fes[0], a), mis(Misuse::AlreadyEnrolled));
        alt.resign(fes[0], a).unwrap();
        assert_eq!(alt.resign(fes[0], a), mis(Misuse::AlreadyResigned));
        assert_eq!(alt.sync(a, fes[0]), mis(Misuse::Resigned));
        assert_eq!(alt.poll(a, fes[0], 0).map(|_| ()), mis(Misuse::Resigned));
        assert_eq!(alt.expand(fes[0], a, 1).map(|_| ()), mis(Misuse::Resigned));
        assert_eq!(alt.attach(fes[0], b), mis(Misuse::Resigned));
        // With a resigned, b alone completes the barrier.
        alt.sync(b, fes[1]).unwrap();
        alt.enroll(fes[0], a).unwrap();
        // Duplicated front-end in one select; n == 0; too many guards.
        let dup = [Guard::Barrier(fes[0]), Guard::Skip, Guard::Barrier(fes[0])];
        assert_eq!(alt.select(a, &dup, SelectMode::Pri).map(|_| ()), mis(Misuse::DuplicateGuard));
        assert_eq!(alt.select(a, &[], SelectMode::Pri), Err(AltError::InvalidArgument));
        assert_eq!(alt.expand(fes[0], a, 0).map(|_| ()), Err(AltError::InvalidArgument));
        // Contract with front-ends that are not one expand of this barrier.
        let (_, other) = alt.create_barrier(1).unwrap();
        let other_x = alt.expand(other[0], a, 1).unwrap();
        let x = alt.expand(fes[0], a, 3).unwrap();
        assert_eq!(alt.contract(fes[0], a, &[fes[1]]), mis(Misuse::NotFromExpand));
        assert_eq!(alt.contract(fes[0], a, &other_x), mis(Misuse::NotFromExpand));
        assert_eq!(alt.contract(fes[0], a, &x[..2]), mis(Misuse::NotFromExpand));
        assert_eq!(alt.contract(fes[0], a, &[x[0], x[0], x[1]]), mis(Misuse::NotFromExpand));
        assert_eq!(alt.contract(fes[0], a, &[]), Err(AltError::InvalidArgument));
        alt.resign(fes[0], a).unwrap();
        assert_eq!(alt.contract(fes[0], a, &x), mis(Misuse::Resigned));
        alt.enroll(fes[0], a).unwrap();
        alt.contract(fes[0], a, &[x[2], x[0], x[1]]).unwrap();
        // Use after contract.
        assert_eq!(alt.attach(x[0], a), mis(Misuse::Stale));
        assert_eq!(alt.sync(a, x[1]), mis(Misuse::Stale));
        assert_eq!(alt.contract(fes[0], a, &x), mis(Misuse::Stale));
        // Everything still works: a and b sync on the original barrier, twice.
        for round in 1..=2u64 {
            std::thread::scope(|s| {
                s.spawn(|| alt.sync(b, fes[1]).unwrap());
                alt.sync(a, fes[0]).unwrap();
            });
            assert_eq!(alt.completions(bid).unwrap(), 1 + round);
        }
        assert_eq!(alt.unregister_agent(a), Ok(()));
        assert_eq!(alt.sync(a, fes[0]), mis(Misuse::Stale));
        two_party_sync(&w);
    });
}

#[test]
fn contract_of_expand_n() {
    watchdog(60, || {
        let w = World::new();
        let alt = w.alt();
        let a = alt.register_agent(1).unwrap();
        let (bid, fes) = alt.create_barrier(2).unwrap();
        alt.attach(fes[0], a).unwrap();
        let mut fired = 0u64;
        for n in 1..=8u32 {
            let x = alt.expand(fes[0], a, n).unwrap();
            assert_eq!(alt.enrolled(bid).unwrap(), 2 + n);
            // All n + 2 parties sync once; they all see the same completion.
            let tickets = Mutex::new(Vec::new());
            std::thread::scope(|s| {
                for fe in x.iter().copied().chain([fes[1]]) {
                    let (w, tickets) = (&w, &tickets);
                    s.spawn(move || {
                        let alt = w.alt();
                        let me = alt.register_agent(1).unwrap();
                        alt.attach(fe, me).unwrap();
                        alt.sync(me, fe).unwrap();
                        tickets.lock().unwrap().push(alt.last_ticket(me).unwrap().unwrap());
                        alt.unregister_agent(me).unwrap();
                    });
                }
                alt.sync(a, fes[0]).unwrap();
            });
            fired += 1;
            let t = tickets.into_inner().unwrap();
            assert_eq!(t.len(), n as usize + 1);
            assert!(t.iter().all(|&v| u64::from(v) == fired));
            alt.contract(fes[0], a, &x).unwrap();
            assert_eq!(alt.enrolled(bid).unwrap(), 2);
            assert_eq!(alt.contract(fes[0], a, &x), Err(AltError::Misuse(Misuse::Stale)));
            // The two original parties still synchronise.
            std::thread::scope(|s| {
                s.spawn(|| {
                    let alt = w.alt();
                    let me = alt.register_agent(1).unwrap();
                    alt.sync(me, fes[1]).unwrap();
                    alt.unregister_agent(me).unwrap();
                });
                alt.sync(a, fes[0]).unwrap();
            });
            fired += 1;
            assert_eq!(alt.completions(bid).unwrap(), fired);
        }
        // JCSP contract(): a sub-process discarding its own front-end completes the barrier.
        let x = alt.expand(fes[0], a, 1).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                let alt = w.alt();
                let me = alt.register_agent(1).unwrap();
                alt.sync(me, fes[1]).unwrap();
                alt.unregister_agent(me).unwrap();
            });
            s.spawn(|| {
                let alt = w.alt();
                let me = alt.register_agent(1).unwrap();
                std::thread::sleep(Duration::from_millis(20));
                alt.contract_self(x[0], me).unwrap();
                alt.unregister_agent(me).unwrap();
            });
            alt.sync(a, fes[0]).unwrap();
        });
        assert_eq!(alt.completions(bid).unwrap(), fired + 1);
    });
}

#[test]
fn poll_and_timeouts() {
    watchdog(60, || {
        let w = World::new();
        let alt = w.alt();
        let a = alt.register_agent(1).unwrap();
        let (_, fes) = alt.create_barrier(2).unwrap();
        // poll(0) with the other party absent: false at once.
        let t = Instant::now();
        assert!(!alt.poll(a, fes[0], 0).unwrap());
        assert!(t.elapsed() < Duration::from_secs(1));
        // poll(d) never returns early.
        for ms in [1u64, 5, 20] {
            let t0 = w.parker.now_ns();
            assert!(!alt.poll(a, fes[0], ms * 1_000_000).unwrap());
            assert!(w.parker.now_ns() >= t0 + ms * 1_000_000, "poll returned early");
        }
        // A lone timeout never fires early.
        for ms in [0u64, 2, 15] {
            let d = deadline_in(&w.parker, ms);
            assert_eq!(alt.select(a, &[Guard::Timeout(d)], SelectMode::Pri).unwrap(), 0);
            assert!(w.parker.now_ns() >= d);
        }
        // poll(0) fires once the other party is offering (it syncs).
        std::thread::scope(|s| {
            s.spawn(|| {
                let alt = w.alt();
                let b = alt.register_agent(1).unwrap();
                alt.sync(b, fes[1]).unwrap();
            });
            let mut tries = 0u64;
            while !alt.poll(a, fes[0], 0).unwrap() {
                tries += 1;
                std::thread::yield_now();
            }
            println!("poll(0) fired after {tries} failed polls");
        });
        // A timeout listed before a ready barrier wins in pri_select; after it, the barrier wins.
        let (_, solo) = alt.create_barrier(1).unwrap();
        let g = [Guard::Timeout(0), Guard::Barrier(solo[0])];
        assert_eq!(alt.pri_select(a, &g).unwrap(), 0);
        let g = [Guard::Barrier(solo[0]), Guard::Timeout(0)];
        assert_eq!(alt.pri_select(a, &g).unwrap(), 0);
        let g = [Guard::Skip, Guard::Barrier(solo[0])];
        assert_eq!(alt.pri_select(a, &g).unwrap(), 0);
    });
}

#[test]
fn channel_guard_vs_barrier() {
    watchdog(120, || {
        const ROUNDS: u32 = 4000;
        const VALUES: u64 = 1500;
        let w = World::new();
        let alt = w.alt();
        let (bid, fes) = alt.create_barrier(2).unwrap();
        let ch = alt.channel_create(ChannelConfig { capacity: 4, overwrite: false, one_to_one: true }).unwrap();
        let stop = AtomicBool::new(false);
        let b_fires = AtomicU32::new(0);
        let (mut a_fires, mut got) = (0u32, Vec::new());
        std::thread::scope(|s| {
            s.spawn(|| {
                let alt = w.alt();
                let me = alt.register_agent(1).unwrap();
                for v in 1..=VALUES {
                    alt.channel_write(ch, me, v, None).unwrap();
                    if v % 3 == 0 {
                        std::thread::yield_now();
                    }
                }
            });
            s.spawn(|| {
                let alt = w.alt();
                let me = alt.register_agent(1).unwrap();
                while !stop.load(Relaxed) {
                    let g = [Guard::Barrier(fes[1]), Guard::Timeout(w.parker.now_ns() + 2_000_000)];
                    if alt.select(me, &g, SelectMode::Arbitrary).unwrap() == 0 {
                        b_fires.fetch_add(1, Relaxed);
                    }
                }
            });
            let me = alt.register_agent(1).unwrap();
            let mut alt_a = Alternative::new(me, vec![Guard::Input(ch), Guard::Barrier(fes[0])]);
            for r in 0..ROUNDS {
                let i = if r % 2 == 0 { alt_a.pri_select(&alt).unwrap() } else { alt_a.fair_select(&alt).unwrap() };
                if i == 0 {
                    got.push(alt.channel_try_read(ch).unwrap().expect("input guard fired on an empty channel"));
                } else {
                    a_fires += 1;
                }
            }
            while (got.len() as u64) < VALUES {
                got.push(alt.channel_read(ch, None).unwrap());
            }
            stop.store(true, Relaxed);
        });
        assert_eq!(a_fires, b_fires.load(Relaxed), "a barrier fire was seen by one party only");
        assert_eq!(alt.completions(bid).unwrap(), u64::from(a_fires));
        assert_eq!(got, (1..=VALUES).collect::<Vec<_>>(), "channel lost, duplicated or reordered values");
        println!("channel vs barrier: {a_fires} barrier fires, {VALUES} values");
    });
}

#[test]
fn gadget_ring_span_3() {
    watchdog(120, || {
        const UNITS: usize = 12;
        const SPAN: usize = 3;
        const PLAYS: u32 = 300;
        let w = World::new();
        let alt = w.alt();
        // Barrier i groups units i, i+1, i+2 (mod 12); unit u holds front-end (u - i) of barrier i.
        let groups: Vec<Vec<FrontEnd>> = (0..UNITS).map(|_| alt.create_barrier(SPAN as u32).unwrap().1).collect();
        let playing: Vec<AtomicU32> = (0..UNITS).map(|_| AtomicU32::new(0)).collect();
        let plays = AtomicU32::new(0);
        let violations = AtomicU32::new(0);
        std::thread::scope(|s| {
            for u in 0..UNITS {
                let (w, groups, playing, plays, violations) = (&w, &groups, &playing, &plays, &violations);
                s.spawn(move || {
                    let alt = w.alt();
                    let me = alt.register_agent(1).unwrap();
                    let mine: Vec<(usize, FrontEnd)> =
                        (0..SPAN).map(|k| ((u + UNITS - k) % UNITS, groups[(u + UNITS - k) % UNITS][k])).collect();
                    let mut guards: Vec<Guard> = mine.iter().map(|m| Guard::Barrier(m.1)).collect();
                    guards.push(Guard::Timeout(0));
                    let mut alt_u = Alternative::new(me, guards);
                    let mut seed = u as u64 * 7919 + 1;
                    while plays.load(Relaxed) < PLAYS {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        let standby = 1 + (seed >> 40) % 4;
                        alt_u.guards_mut()[SPAN] = Guard::Timeout(w.parker.now_ns() + standby * 1_000_000);
                        let i = alt_u.fair_select(&alt).unwrap();
                        if i == SPAN {
                            std::thread::yield_now(); // "off"
                            continue;
                        }
                        let (g, fe) = mine[i];
                        playing[u].store(g as u32 + 1, SeqCst);
                        for k in 0..SPAN {
                            let v = (g + k) % UNITS;
                            let p = playing[v].load(SeqCst);
                            if p != 0 && p != g as u32 + 1 {
                                violations.fetch_add(1, Relaxed);
                            }
                        }
                        if (u + UNITS - g).is_multiple_of(UNITS) {
                            plays.fetch_add(1, Relaxed);
                        }
                        std::thread::yield_now();
                        // End of the game: the whole group syncs again, then leaves it.
                        alt.sync(me, fe).unwrap();
                        playing[u].store(0, SeqCst);
                    }
                });
            }
        });
        assert_eq!(violations.load(Relaxed), 0, "a unit played in two groups at once");
        println!("gadget ring: {} plays", plays.load(Relaxed));
    });
}

#[test]
fn crash_cleanup_policies() {
    watchdog(60, || {
        let w = World::new();
        let alt = w.alt();
        let cleaner = alt.register_agent(1).unwrap();
        for policy in [DeathPolicy::Resign, DeathPolicy::LeaveEnrolled] {
            let (bid, fes) = alt.create_barrier(3).unwrap();
            // The "dead" agent is offering (asleep in sync) when its process is declared dead.
            let dead: AgentId = std::thread::scope(|s| {
                let h = s.spawn(|| {
                    let alt = w.alt();
                    let me = alt.register_agent(99).unwrap();
                    alt.attach(fes[0], me).unwrap();
                    (me, alt.sync(me, fes[0]))
                });
                std::thread::sleep(Duration::from_millis(30));
                let idx = (0..32).find(|&i| alt.agent_token(i) == Some(99)).unwrap();
                let r = alt.cleanup_agent(idx, 99, cleaner, policy).unwrap();
                assert!(r.cleaned && r.frontends == 1);
                let (me, res) = h.join().unwrap();
                assert_eq!(res, Err(AltError::AgentDead));
                me
            });
            assert_eq!(alt.sync(dead, fes[0]), Err(AltError::Misuse(Misuse::Stale)));
            let sync_two = || {
                std::thread::scope(|s| {
                    for fe in [fes[1], fes[2]] {
                        let w = &w;
                        s.spawn(move || {
                            let alt = w.alt();
                            let me = alt.register_agent(1).unwrap();
                            alt.sync(me, fe).unwrap();
                            alt.unregister_agent(me).unwrap();
                        });
                    }
                })
            };
            match policy {
                DeathPolicy::Resign => {
                    sync_two();
                    assert_eq!(alt.completions(bid).unwrap(), 1);
                }
                DeathPolicy::LeaveEnrolled => {
                    // Blocked until somebody takes the dead agent's front-end over (reset + attach).
                    let g = [Guard::Barrier(fes[1]), Guard::Timeout(w.parker.now_ns() + 10_000_000)];
                    assert_eq!(alt.select(cleaner, &g, SelectMode::Pri).unwrap(), 1);
                    alt.detach(fes[1], cleaner).unwrap();
                    alt.reset_frontend(fes[0]).unwrap();
                    std::thread::scope(|s| {
                        s.spawn(sync_two);
                        alt.sync(cleaner, fes[0]).unwrap();
                    });
                    assert_eq!(alt.completions(bid).unwrap(), 1);
                }
            }
            alt.destroy_barrier(bid).unwrap();
        }
    });
}

#[test]
fn tables_from_raw_region() {
    watchdog(60, || {
        let caps =
            AltCapacities { agents: 4, barriers: 2, frontends_per_barrier: 4, channels: 1, slots_per_channel: 2 };
        let layout = caps.layout().unwrap();
        let mem = std::alloc::Layout::from_size_align(layout.total, 128).unwrap();
        // SAFETY: non-zero size; freed below with the same layout.
        let base = unsafe { std::alloc::alloc_zeroed(mem) };
        assert!(!base.is_null());
        {
            // SAFETY: `base` is 128-aligned, zeroed, `layout.total` bytes, only used through the view.
            let tables = unsafe { muster_core::alting::AltTables::from_raw(base, &layout) }.unwrap();
            let parker = TestParker::new();
            let alt = Alt::new(tables, &parker, &InProcess, policy());
            let (bid, fes) = alt.create_barrier(2).unwrap();
            std::thread::scope(|s| {
                s.spawn(|| {
                    let me = alt.register_agent(1).unwrap();
                    alt.sync(me, fes[1]).unwrap();
                });
                let me = alt.register_agent(1).unwrap();
                alt.sync(me, fes[0]).unwrap();
            });
            assert_eq!(alt.completions(bid).unwrap(), 1);
            assert!(alt.create_barrier(5).is_err());
        }
        // SAFETY: allocated above with `mem`; the view is gone.
        unsafe { std::alloc::dealloc(base, mem) };
    });
}
