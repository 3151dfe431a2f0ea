//! Model checks of the alting module's *blocking* paths under loom, with a faithful futex: a
//! lost wake-up leaves a thread blocked forever, which loom reports as a deadlock.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p muster-core --release --test loom_alting_futex`
//!
//! Every agent here waits with a sleepy policy (no spin, no yield, a liveness period so long that
//! nothing wakes by it), so each wait goes straight to the eventcount's announce, re-check, sleep
//! sequence, and every interleaving of it against the waker's "change state, look for sleepers"
//! is explored (up to the preemption bound). Covered: the channel's blocking read and write
//! (data and space eventcounts) and a destroy under a blocked reader; a select whose input guard
//! must be woken by a write (the reader-registration Dekker); a select whose input guard races
//! a barrier completion (two and three threads); a timed `poll` (a modelled clock that a timer
//! thread advances, waking sleepers whose deadline passed, as the kernel's futex timeout does)
//! beside a committed partner; a resign, a dead peer's cleanup, two and three committed parties,
//! and two partners competing for one chooser (the helper's wake in `help_finish`).
//!
//! Three-thread models run with preemption bound 2, the others with 3 (`model`); the file takes
//! about a minute on two idle cores. Each model was checked to deadlock with the wake it relies
//! on removed (a no-op `unpark_all`, the writer's fence before it reads `reader`, the
//! completer's or the helper's `wake_fired`).
#![cfg(loom)]

mod loom_support;

use loom::sync::Arc;
use loom_support::{model, model_bounded, sleepy_alt_policy as sleepy, FutexModel};
use muster_core::alting::{
    AgentId, Alt, AltCapacities, AltError, ChannelConfig, ChannelId, DeathPolicy, Guard, HeapAlting, InProcess, Misuse,
    SelectMode,
};

/// Alting tables with one barrier of `fe` front-ends and one channel of capacity 1, and a
/// futex model shared by everybody.
struct World {
    heap: HeapAlting,
    fx: FutexModel,
}

impl World {
    fn new(agents: u32, fe: u32, fx: FutexModel) -> Arc<World> {
        Self::with_barriers(agents, 1, fe, fx)
    }
    fn with_barriers(agents: u32, barriers: u32, fe: u32, fx: FutexModel) -> Arc<World> {
        let caps = AltCapacities { agents, barriers, frontends_per_barrier: fe, channels: 1, slots_per_channel: 1 };
        Arc::new(World { heap: HeapAlting::new(caps).unwrap(), fx })
    }
    fn alt(&self) -> Alt<'_> {
        Alt::new(self.heap.tables(), &self.fx, &InProcess, sleepy())
    }
    fn agents(&self, n: usize) -> Vec<AgentId> {
        (0..n).map(|_| self.alt().register_agent(1).unwrap()).collect()
    }
    fn channel(&self) -> ChannelId {
        self.alt().channel_create(ChannelConfig { capacity: 1, overwrite: false, one_to_one: false }).unwrap()
    }
}

fn spawn<T: Send + 'static>(
    w: &Arc<World>,
    f: impl FnOnce(&World) -> T + Send + 'static,
) -> loom::thread::JoinHandle<T> {
    let w = w.clone();
    loom::thread::spawn(move || f(&w))
}

#[test]
fn a_sleeping_reader_is_woken_by_the_writer() {
    // `channel_read` on an empty channel sleeps on the channel's data eventcount; the writer's
    // publish and its general-form wake (an RMW on the eventcount) must meet the reader's
    // announce and re-check in every order.
    model(|| {
        let w = World::new(1, 1, FutexModel::new());
        let wr = w.agents(1)[0];
        let ch = w.channel();
        let reader = spawn(&w, move |w| w.alt().channel_read(ch, None).unwrap());
        w.alt().channel_write(ch, wr, 7, None).unwrap();
        assert_eq!(reader.join().unwrap(), 7);
        assert_eq!(w.alt().channel_try_read(ch).unwrap(), None);
    });
}

#[test]
fn a_writer_sleeping_on_a_full_channel_is_woken_by_the_reader() {
    // Capacity 1, already full: the writer sleeps on the space eventcount until the reader's
    // first read frees the slot; the reader's second read sleeps on the data eventcount until
    // that write lands. Both sides sleep, in every order against the other's wake.
    model(|| {
        let w = World::new(1, 1, FutexModel::new());
        let wr = w.agents(1)[0];
        let ch = w.channel();
        assert!(w.alt().channel_try_write(ch, wr, 1).unwrap());
        let writer = spawn(&w, move |w| w.alt().channel_write(ch, wr, 2, None));
        let alt = w.alt();
        let got = [alt.channel_read(ch, None).unwrap(), alt.channel_read(ch, None).unwrap()];
        writer.join().unwrap().unwrap();
        assert_eq!(got, [1, 2]);
    });
}

/// What the selecting agent of the input-and-barrier models saw.
#[derive(Debug, PartialEq, Eq)]
struct Selector {
    /// The guard each select fired, in order.
    fired: Vec<usize>,
    /// The value it read from the channel.
    value: u64,
    /// The barrier's ticket in its barrier select.
    ticket: Option<u32>,
}

/// Agent `me` selects `[Barrier(fe), Input(ch)]` until the barrier has fired, reading the channel
/// whenever its input guard fires, and afterwards reads the value with a blocking read if it has
/// not yet had it.
fn select_until_barrier(w: &World, me: AgentId, fe: muster_core::alting::FrontEnd, ch: ChannelId) -> Selector {
    let alt = w.alt();
    let guards = [Guard::Barrier(fe), Guard::Input(ch)];
    let mut s = Selector { fired: Vec::new(), value: 0, ticket: None };
    while s.ticket.is_none() {
        assert!(s.fired.len() < 2, "selected {:?} and the barrier did not fire", s.fired);
        let g = alt.select(me, &guards, SelectMode::Pri).unwrap();
        s.fired.push(g);
        if g == 0 {
            s.ticket = alt.last_ticket(me).unwrap();
            assert!(s.ticket.is_some());
        } else {
            // Input fired: the single reader cannot find the channel empty.
            assert_eq!(s.value, 0, "the input guard fired twice for one value");
            s.value = alt.channel_try_read(ch).unwrap().expect("input fired on an empty channel");
        }
    }
    if s.value == 0 {
        s.value = alt.channel_read(ch, None).unwrap();
    }
    s
}

#[test]
fn a_sleeping_selector_is_woken_by_a_channel_write() {
    // A selects [barrier, input]; the barrier cannot fire (its partner never offers), so only
    // the write can end the select: registering as reader, fence, ring check (selector) against
    // publish, fence, reader load, wake_agent (writer), with the selector asleep or not.
    model(|| {
        let w = World::new(2, 2, FutexModel::new());
        let ag = w.agents(2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let ch = w.channel();
        let (a, fe) = (ag[0], fes[0]);
        let sel = spawn(&w, move |w| w.alt().select(a, &[Guard::Barrier(fe), Guard::Input(ch)], SelectMode::Pri));
        assert!(w.alt().channel_try_write(ch, ag[1], 7).unwrap());
        assert_eq!(sel.join().unwrap(), Ok(1));
        assert_eq!(w.alt().channel_try_read(ch).unwrap(), Some(7));
        assert_eq!(w.alt().completions(bid).unwrap(), 0);
    });
}

#[test]
fn a_selector_with_an_input_guard_is_woken_by_the_barrier_or_the_write() {
    // A selects [barrier, input] until the barrier fires; B writes the channel and then syncs on
    // the barrier (committed). A's first select may end by the write (A asleep or not) or by
    // B's completion (which claims A's word while A may be waking for the write: the input's
    // commit and the claim resolve one way); a select that took the input leaves B committed and
    // asleep, so A's next offer must complete the barrier and wake B.
    model(|| {
        let w = World::new(2, 2, FutexModel::new());
        let ag = w.agents(2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let ch = w.channel();
        let (a, fa) = (ag[0], fes[0]);
        let sel = spawn(&w, move |w| select_until_barrier(w, a, fa, ch));
        let alt = w.alt();
        assert!(alt.channel_try_write(ch, ag[1], 7).unwrap());
        alt.sync(ag[1], fes[1]).unwrap();
        let s = sel.join().unwrap();
        assert_eq!(alt.last_ticket(ag[1]).unwrap(), Some(1));
        assert_eq!((s.value, s.ticket), (7, Some(1)));
        assert!(s.fired == [0] || s.fired == [1, 0], "{s:?}");
        assert_eq!(alt.completions(bid).unwrap(), 1);
    });
}

#[test]
fn a_selector_with_an_input_guard_races_a_writer_and_a_barrier_partner() {
    // As above, but the write and the partner's committed sync come from two threads, so the
    // write's wake can land anywhere in B's completion (before its claim, between claim and
    // decide, after DONE) and B may complete while A is asleep for either event. Three threads:
    // bound 2 keeps it at ~15 s (bound 3 takes ~80 s).
    model_bounded(2, || {
        let w = World::new(3, 2, FutexModel::new());
        let ag = w.agents(3);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let ch = w.channel();
        let (a, fa) = (ag[0], fes[0]);
        let sel = spawn(&w, move |w| select_until_barrier(w, a, fa, ch));
        let (b, fb) = (ag[1], fes[1]);
        let partner = spawn(&w, move |w| {
            w.alt().sync(b, fb).unwrap();
            w.alt().last_ticket(b).unwrap()
        });
        assert!(w.alt().channel_try_write(ch, ag[2], 7).unwrap());
        let s = sel.join().unwrap();
        assert_eq!(partner.join().unwrap(), Some(1));
        assert_eq!((s.value, s.ticket), (7, Some(1)));
        assert!(s.fired == [0] || s.fired == [1, 0], "{s:?}");
        assert_eq!(w.alt().completions(bid).unwrap(), 1);
    });
}

#[test]
fn a_sleeping_poll_times_out_or_fires_beside_a_committed_partner() {
    // A polls the barrier with a 100 ns offer (a timeout guard at clock + 100) until it fires;
    // B syncs (committed, sleeps); the timer moves the clock to 100, waking A's timed sleep. A's
    // timeout commit (resolve) races B's claim of A's word; whichever wins, B must never be
    // split from A (both see ticket 1) nor left asleep, and A's second poll (deadline 200,
    // never reached) fires the barrier.
    model(|| {
        let fx = FutexModel::timed();
        let w = World::new(2, 2, fx.clone());
        let ag = w.agents(2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let (a, fa) = (ag[0], fes[0]);
        let poller = spawn(&w, move |w| {
            let alt = w.alt();
            let mut polls = 1;
            while !alt.poll(a, fa, 100).unwrap() {
                polls += 1;
                assert!(polls <= 2, "a poll whose deadline never passes returned false");
            }
            (polls, alt.last_ticket(a).unwrap())
        });
        let (b, fb) = (ag[1], fes[1]);
        let partner = spawn(&w, move |w| {
            w.alt().sync(b, fb).unwrap();
            w.alt().last_ticket(b).unwrap()
        });
        fx.advance(100);
        let (_polls, ta) = poller.join().unwrap();
        assert_eq!(ta, Some(1));
        assert_eq!(partner.join().unwrap(), Some(1));
        assert_eq!(w.alt().completions(bid).unwrap(), 1);
    });
}

#[test]
fn a_sleeping_party_is_woken_by_a_resign() {
    // A syncs (committed, sleeps); B resigns the barrier's other front-end, which runs
    // try_complete for the now one-party barrier and must fire it for A and wake it, whether A
    // offered before the resign's snapshot (the resigner completes) or after (A completes alone).
    model(|| {
        let w = World::new(2, 2, FutexModel::new());
        let ag = w.agents(2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let (a, fa) = (ag[0], fes[0]);
        let party = spawn(&w, move |w| {
            w.alt().sync(a, fa).unwrap();
            w.alt().last_ticket(a).unwrap()
        });
        w.alt().resign(fes[1], ag[1]).unwrap();
        assert_eq!(party.join().unwrap(), Some(1));
        assert_eq!(w.alt().completions(bid).unwrap(), 1);
    });
}

#[test]
fn a_sleeping_reader_is_woken_by_the_channel_destroy() {
    // A blocking read on an empty channel that is destroyed meanwhile ends with `Stale`, not by
    // sleeping forever (the destroy bumps both eventcounts after retiring the channel).
    model(|| {
        let w = World::new(1, 1, FutexModel::new());
        let ch = w.channel();
        let reader = spawn(&w, move |w| w.alt().channel_read(ch, None));
        w.alt().channel_destroy(ch).unwrap();
        assert_eq!(reader.join().unwrap(), Err(AltError::Misuse(Misuse::Stale)));
    });
}

#[test]
fn a_sleeping_agent_is_woken_by_the_completer() {
    // Two committed parties of one barrier. The completer wakes with the eventcount's fast form
    // (a load of the wake word, no write when nobody sleeps); the sleeper's strong re-check is
    // an RMW on its offer word. Both sleep at once, so every interleaving of "announce,
    // re-check, sleep" against "claim, DONE, look for sleepers" is explored. This model found
    // `own_done` answering "not done" after its second help had finished the word.
    model(|| {
        let w = World::new(2, 2, FutexModel::new());
        let ag = w.agents(2);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        let (me, fe) = (ag[1], fes[1]);
        let h = spawn(&w, move |w| {
            let alt = w.alt();
            (alt.select(me, &[Guard::Barrier(fe)], SelectMode::Pri).unwrap(), alt.last_ticket(me).unwrap())
        });
        let alt = w.alt();
        assert_eq!(alt.select(ag[0], &[Guard::Barrier(fes[0])], SelectMode::Pri).unwrap(), 0);
        assert_eq!(alt.last_ticket(ag[0]).unwrap(), Some(1));
        assert_eq!(h.join().unwrap(), (0, Some(1)));
        assert_eq!(alt.completions(bid).unwrap(), 1);
    });
}

#[test]
fn three_sleeping_parties_are_all_woken() {
    // A three-party barrier, every party committed and sleepy: the completer finalizes two other
    // words, each of which may have been finished already by its own agent's help (the agent is
    // awake in its re-check) or by a blocked completer's help, so every word's DONE must be
    // followed by a wake of its sleeper by whoever wrote it. Three threads: bound 2 (~2 s; bound
    // 3 passes too, in ~50 s). Without the helper's wake in `help_finish` this model leaves a
    // sleeper behind only at bound 3; `two_committed_partners_compete_for_a_sleeping_chooser`
    // finds that at bound 2.
    model_bounded(2, || {
        let w = World::new(3, 3, FutexModel::new());
        let ag = w.agents(3);
        let (bid, fes) = w.alt().create_barrier(3).unwrap();
        let hs: Vec<_> = (1..3)
            .map(|i| {
                let (me, fe) = (ag[i], fes[i]);
                spawn(&w, move |w| {
                    w.alt().sync(me, fe).unwrap();
                    w.alt().last_ticket(me).unwrap()
                })
            })
            .collect();
        w.alt().sync(ag[0], fes[0]).unwrap();
        assert_eq!(w.alt().last_ticket(ag[0]).unwrap(), Some(1));
        for h in hs {
            assert_eq!(h.join().unwrap(), Some(1));
        }
        assert_eq!(w.alt().completions(bid).unwrap(), 1);
    });
}

#[test]
fn a_sleeping_party_is_woken_by_the_cleanup_of_a_dead_peer() {
    // A syncs (committed, sleeps); its partner B is dead before offering, and agent C cleans B
    // up with the resign policy: the resign of B's front-end and the cleanup's completion attempt
    // must fire the now one-party barrier for A and wake it (or A, offering after the resign,
    // completes alone).
    model(|| {
        let w = World::new(3, 2, FutexModel::new());
        let ag = w.agents(3);
        let (bid, fes) = w.alt().create_barrier(2).unwrap();
        w.alt().attach(fes[1], ag[1]).unwrap();
        let (a, fa) = (ag[0], fes[0]);
        let party = spawn(&w, move |w| {
            w.alt().sync(a, fa).unwrap();
            w.alt().last_ticket(a).unwrap()
        });
        let r = w.alt().cleanup_agent(ag[1].index, 1, ag[2], DeathPolicy::Resign).unwrap();
        assert!(r.cleaned);
        assert_eq!(r.frontends, 1);
        assert_eq!(party.join().unwrap(), Some(1));
        assert_eq!(w.alt().completions(bid).unwrap(), 1);
    });
}

#[test]
fn two_committed_partners_compete_for_a_sleeping_chooser() {
    // B0 = {A, P0}, B1 = {A, P1}; P0 and P1 sync (committed, sleepy); A selects [B0, B1] twice.
    // The two partners' completion attempts race for A's word (the loser waits for the winner's
    // claim, helps finish it, which must wake A if asleep, and then sleeps itself); A's second
    // select must complete the other barrier and wake the losing partner. Without the helper's
    // wake in `help_finish` loom finds A asleep forever here. Three threads: bound 2 (~35 s).
    model_bounded(2, || {
        let w = World::with_barriers(3, 2, 2, FutexModel::new());
        let ag = w.agents(3);
        let (b0, f0) = w.alt().create_barrier(2).unwrap();
        let (b1, f1) = w.alt().create_barrier(2).unwrap();
        let partners: Vec<_> = [(ag[1], f0[1]), (ag[2], f1[1])]
            .into_iter()
            .map(|(me, fe)| {
                spawn(&w, move |w| {
                    w.alt().sync(me, fe).unwrap();
                    w.alt().last_ticket(me).unwrap()
                })
            })
            .collect();
        let alt = w.alt();
        let guards = [Guard::Barrier(f0[0]), Guard::Barrier(f1[0])];
        let first = alt.select(ag[0], &guards, SelectMode::Pri).unwrap();
        let second = alt.select(ag[0], &guards, SelectMode::Pri).unwrap();
        assert_ne!(first, second, "one barrier fired twice");
        for p in partners {
            assert_eq!(p.join().unwrap(), Some(1));
        }
        assert_eq!((alt.completions(b0).unwrap(), alt.completions(b1).unwrap()), (1, 1));
    });
}
