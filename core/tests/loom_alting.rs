//! Model checks of the alting choice protocol under loom's C11 memory model.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p muster-core --release --test loom_alting`
#![cfg(loom)]

mod loom_support;

use loom::sync::Arc;
use loom_support::{model, sleepy_alt_policy as policy, LoomParker};
use muster_core::alting::{AgentId, Alt, AltCapacities, Guard, HeapAlting, InProcess, SelectMode};

static PARKER: LoomParker = LoomParker;

struct World {
    heap: HeapAlting,
}

impl World {
    fn new(agents: u32, barriers: u32, fe: u32) -> Arc<World> {
        let caps = AltCapacities { agents, barriers, frontends_per_barrier: fe, channels: 0, slots_per_channel: 0 };
        Arc::new(World { heap: HeapAlting::new(caps).unwrap() })
    }
    fn alt(&self) -> Alt<'_> {
        Alt::new(self.heap.tables(), &PARKER, &InProcess, policy())
    }
}

/// Registers `n` agents and returns them.
fn agents(w: &World, n: usize) -> Vec<AgentId> {
    (0..n).map(|_| w.alt().register_agent(1).unwrap()).collect()
}

/// Which barrier (by index in `fes`) the select fired, or None for a non-barrier guard.
fn run(w: &World, me: AgentId, guards: &[Guard]) -> (usize, Option<u32>) {
    let alt = w.alt();
    let i = alt.select(me, guards, SelectMode::Pri).unwrap();
    (i, alt.last_ticket(me).unwrap())
}

#[test]
fn two_agents_sync_one_barrier() {
    model(|| {
        let w = World::new(2, 1, 2);
        let ag = agents(&w, 2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (w, me, fe) = (w.clone(), ag[i], fes[i]);
                loom::thread::spawn(move || run(&w, me, &[Guard::Barrier(fe)]))
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), (0, Some(1)));
        }
        assert_eq!(w.alt().completions(bid).unwrap(), 1);
    });
}

#[test]
fn committed_sync_vs_polling_partner() {
    model(|| {
        let w = World::new(2, 1, 2);
        let ag = agents(&w, 2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let (w2, me, fe) = (w.clone(), ag[1], fes[1]);
        let h = loom::thread::spawn(move || run(&w2, me, &[Guard::Barrier(fe)]));
        // poll(0) until the barrier fires: the committed party must be woken, never split.
        let alt = w.alt();
        let mut polls = 0;
        while !alt.poll(ag[0], fes[0], 0).unwrap() {
            polls += 1;
            assert!(polls < 50);
            loom::thread::yield_now();
        }
        assert_eq!(alt.last_ticket(ag[0]).unwrap(), Some(1));
        assert_eq!(h.join().unwrap(), (0, Some(1)));
        assert_eq!(alt.completions(bid).unwrap(), 1);
    });
}

#[test]
fn barrier_vs_timeout_resolves_one_way() {
    model(|| {
        let w = World::new(2, 1, 2);
        let ag = agents(&w, 2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (w, me, fe) = (w.clone(), ag[i], fes[i]);
                loom::thread::spawn(move || run(&w, me, &[Guard::Barrier(fe), Guard::Timeout(0)]))
            })
            .collect();
        let r: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        let fired = w.alt().completions(bid).unwrap();
        if fired == 1 {
            assert_eq!(r, vec![(0, Some(1)), (0, Some(1))]);
        } else {
            assert_eq!(fired, 0);
            assert_eq!(r, vec![(1, None), (1, None)]);
        }
    });
}

#[test]
fn two_barriers_never_split() {
    // B0 = {A0, A1}, B1 = {A1, A2} (the topology of choice.pml); A1 offers both, everybody may
    // time out. A fired barrier is seen by both its parties; A1 commits to at most one.
    model(|| {
        let w = World::new(3, 2, 2);
        let ag = agents(&w, 3);
        let alt = w.alt();
        let (b0, f0) = alt.create_barrier(2).unwrap();
        let (b1, f1) = alt.create_barrier(2).unwrap();
        let guards: [Vec<Guard>; 3] = [
            vec![Guard::Barrier(f0[0]), Guard::Timeout(0)],
            vec![Guard::Barrier(f0[1]), Guard::Barrier(f1[0]), Guard::Timeout(0)],
            vec![Guard::Barrier(f1[1]), Guard::Timeout(0)],
        ];
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let (w, me, g) = (w.clone(), ag[i], guards[i].clone());
                loom::thread::spawn(move || run(&w, me, &g))
            })
            .collect();
        let r: Vec<_> = hs.into_iter().map(|h| h.join().unwrap().0).collect();
        let (c0, c1) = (alt.completions(b0).unwrap(), alt.completions(b1).unwrap());
        assert!(c0 + c1 <= 1, "A1 took part in two events");
        assert_eq!(r[0] == 0, c0 == 1);
        assert_eq!(r[2] == 0, c1 == 1);
        assert_eq!(
            r[1],
            if c0 == 1 {
                0
            } else if c1 == 1 {
                1
            } else {
                2
            }
        );
    });
}

#[test]
fn resign_racing_sync() {
    // One party commits to the barrier while the other resigns: the resign completes it.
    model(|| resign_race(1));
}

#[test]
fn resign_racing_two_syncs() {
    // JCSP deadlocks here: two parties commit to the barrier while the third resigns.
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(1);
    b.max_branches = 100_000;
    b.check(|| resign_race(2));
}

fn resign_race(n: usize) {
    {
        let w = World::new(n as u32 + 1, 1, n as u32 + 1);
        let ag = agents(&w, n + 1);
        let (bid, fes) = w.alt().create_barrier(n as u32 + 1).unwrap();
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let (w, me, fe) = (w.clone(), ag[i], fes[i]);
                loom::thread::spawn(move || run(&w, me, &[Guard::Barrier(fe)]))
            })
            .collect();
        w.alt().resign(fes[n], ag[n]).unwrap();
        for h in hs {
            assert_eq!(h.join().unwrap(), (0, Some(1)));
        }
        assert_eq!(w.alt().completions(bid).unwrap(), 1);
    }
}
