//! The waiting policy's decisions (spin, yield or sleep), driven through `wait_for` with a fake
//! parker: a scripted clock, scripted yield durations and machine load, and counters of what the
//! wait did. No OS calls, no real time: each test is deterministic.
#![cfg(not(loom))]

use muster_core::contention::{Contention, Load, Tuning};
use muster_core::sync::{AtomicU32, Ordering};
use muster_core::wait::{wait_for, Adaptive, Parker, Peers, Poll, Sleepers, WaitPolicy};
use std::cell::Cell;

const US: u64 = 1_000;
const MS: u64 = 1_000_000;

/// A fake machine. The awaited event happens at `event_at` on the fake clock; a park sleeps until
/// then or its deadline; a yield takes `yield_takes`; each clock read advances 10 ns.
struct Fake {
    clock: Cell<u64>,
    event_at: Cell<u64>,
    yield_takes: Cell<u64>,
    running: Cell<Option<u32>>,
    cpus: u32,
    memory: Option<Contention>,
    yields: Cell<u32>,
    parks: Cell<u32>,
    samples: Cell<u32>,
    checks: Cell<u32>,
    /// Fake time each condition check takes (one spin iteration).
    check_cost: Cell<u64>,
}

impl Fake {
    fn new(cpus: u32, memory: Option<Contention>) -> Fake {
        Fake {
            clock: Cell::new(1_000 * MS),
            event_at: Cell::new(u64::MAX),
            yield_takes: Cell::new(2 * US),
            running: Cell::new(None),
            cpus,
            memory,
            yields: Cell::new(0),
            parks: Cell::new(0),
            samples: Cell::new(0),
            checks: Cell::new(0),
            check_cost: Cell::new(0),
        }
    }
    fn sensing(cpus: u32) -> Fake {
        // Busy samples on: most tests here drive the load-count side of the policy.
        Fake::new(cpus, Some(Contention::new(Tuning { busy_samples: true, ..Tuning::DEFAULT })))
    }
    fn advance(&self, ns: u64) {
        self.clock.set(self.clock.get() + ns);
    }
    fn reset_counts(&self) {
        self.yields.set(0);
        self.parks.set(0);
        self.checks.set(0);
    }
    /// One wait of a `parties`-party barrier whose event comes `after` ns from now.
    fn wait(&self, policy: &WaitPolicy, parties: u32, after: u64, adapt: Option<&Adaptive>) -> Result<(), ()> {
        self.reset_counts();
        self.event_at.set(self.clock.get().saturating_add(after));
        let seq = AtomicU32::new(0);
        let check = |_strong: bool| {
            self.checks.set(self.checks.get() + 1);
            self.advance(self.check_cost.get());
            if self.clock.get() >= self.event_at.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        };
        wait_for(self, policy, &seq, parties.into(), None, adapt, check, || ())
    }
}

impl Parker for Fake {
    fn park(&self, _word: &AtomicU32, _expected: u32, deadline_ns: Option<u64>) {
        self.parks.set(self.parks.get() + 1);
        let until = deadline_ns.unwrap_or(u64::MAX).min(self.event_at.get());
        self.clock.set(until.max(self.clock.get()));
    }
    fn unpark_all(&self, _word: &AtomicU32) {}
    fn now_ns(&self) -> u64 {
        self.advance(10);
        self.clock.get()
    }
    fn yield_now(&self) {
        self.yields.set(self.yields.get() + 1);
        self.advance(self.yield_takes.get());
    }
    fn cpus(&self) -> u32 {
        self.cpus
    }
    fn contention(&self) -> Option<&Contention> {
        self.memory.as_ref()
    }
    fn sample_load(&self) -> Option<Load> {
        self.samples.set(self.samples.get() + 1);
        self.running.get().map(|running| Load { running, cpus: self.cpus })
    }
}

fn policy() -> WaitPolicy {
    WaitPolicy::default()
}

#[test]
fn quiet_oversubscribed_waits_yield_to_peers_and_never_sleep() {
    let m = Fake::sensing(2);
    m.running.set(Some(8)); // 8 parties on 2 CPUs, all runnable: proves nothing
                            // A peer arrives 20 µs later; yields take 2 µs each (they run peers).
    assert_eq!(m.wait(&policy(), 8, 20 * US, None), Ok(()));
    assert!(m.yields.get() >= 5, "yielded {} times", m.yields.get());
    assert_eq!(m.parks.get(), 0);
    assert!(!m.memory.as_ref().unwrap().busy_at(m.clock.get()));
}

#[test]
fn busy_loops_beside_make_an_oversubscribed_wait_sleep_at_once() {
    let m = Fake::sensing(2);
    m.running.set(Some(7)); // 4 parties + 2 busy loops + the reader: foreign work is runnable
    assert_eq!(m.wait(&policy(), 4, 30 * US, None), Ok(()));
    assert_eq!(m.yields.get(), 0, "a yield would run a busy loop's slice");
    assert_eq!(m.parks.get(), 1);
    // No spinning either: the first check, the check before announcing, the strong re-check, and
    // the one after the wake-up.
    assert!(m.checks.get() <= 4, "checked {} times", m.checks.get());
}

#[test]
fn a_slow_yield_stops_the_yield_phase_and_later_waits_sleep_without_yielding() {
    let m = Fake::sensing(2);
    m.running.set(Some(8));
    m.yield_takes.set(3 * MS); // every yield runs a foreign slice
    assert_eq!(m.wait(&policy(), 8, 10 * MS, None), Ok(()));
    assert_eq!(m.yields.get(), 1, "one slow yield is enough evidence");
    assert!(m.parks.get() >= 1);
    let c = m.memory.as_ref().unwrap();
    assert!(c.busy_at(m.clock.get()));
    // The next waits (within the hold) go straight to sleep.
    for _ in 0..5 {
        assert_eq!(m.wait(&policy(), 8, 100 * US, None), Ok(()));
        assert_eq!(m.yields.get(), 0);
        assert_eq!(m.parks.get(), 1);
    }
    // After the hold one wait probes with a yield again; the machine is still busy, so the hold
    // doubles.
    m.advance(Tuning::DEFAULT.hold_ns);
    assert_eq!(m.wait(&policy(), 8, 10 * MS, None), Ok(()));
    assert_eq!(m.yields.get(), 1);
    assert_eq!(c.hold_ns(), 2 * Tuning::DEFAULT.hold_ns);
}

#[test]
fn a_quiet_sample_lifts_the_busy_verdict() {
    let m = Fake::sensing(2);
    m.running.set(Some(8));
    m.yield_takes.set(3 * MS);
    assert_eq!(m.wait(&policy(), 8, 10 * MS, None), Ok(()));
    assert!(m.memory.as_ref().unwrap().busy_at(m.clock.get()));
    // The busy loops ended: a CPU is idle at the next sample.
    m.running.set(Some(1));
    m.yield_takes.set(2 * US);
    m.advance(Tuning::DEFAULT.refresh_ns);
    assert_eq!(m.wait(&policy(), 8, 20 * US, None), Ok(()));
    assert!(m.yields.get() >= 5);
    assert_eq!(m.parks.get(), 0);
}

#[test]
fn the_load_is_read_at_most_once_per_refresh_interval() {
    let m = Fake::sensing(2);
    m.running.set(Some(8));
    for _ in 0..200 {
        assert_eq!(m.wait(&policy(), 8, 5 * US, None), Ok(()));
    }
    // 200 waits of about 5 µs: about 1 ms of fake time, one sample.
    assert_eq!(m.samples.get(), 1);
    m.advance(Tuning::DEFAULT.refresh_ns);
    assert_eq!(m.wait(&policy(), 8, 5 * US, None), Ok(()));
    assert_eq!(m.samples.get(), 2);
}

#[test]
fn fast_waits_never_consult_the_memory() {
    // The quiet-machine fast path: 2 parties on 2 CPUs, released while spinning.
    let m = Fake::sensing(2);
    m.running.set(Some(9));
    let adapt = Adaptive::new();
    for _ in 0..100 {
        m.event_at.set(u64::MAX);
        let seq = AtomicU32::new(0);
        let n = Cell::new(0);
        // Ready on the 20th check: a release caught while spinning, before any clock read.
        let r = wait_for(
            &m,
            &policy(),
            &seq,
            2.into(),
            None,
            Some(&adapt),
            |_| {
                n.set(n.get() + 1);
                if n.get() >= 20 {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            },
            || (),
        );
        assert_eq!(r, Ok(()));
    }
    assert_eq!(m.samples.get(), 0, "no load sample on the fast path");
    assert_eq!(m.yields.get() + m.parks.get(), 0);
}

#[test]
fn a_spinning_wait_on_a_busy_machine_stops_spinning_once_waits_are_known_to_be_long() {
    let m = Fake::sensing(2);
    m.running.set(Some(5)); // 2 parties, 2 busy loops, and another task
    let adapt = Adaptive::new();
    // Teach the memory that waits outlast spinning.
    for _ in 0..64 {
        assert_eq!(m.wait(&policy(), 2, 200 * US, Some(&adapt)), Ok(()));
    }
    assert_eq!(adapt.budget(), Adaptive::MIN_SPINS);
    assert_eq!(m.wait(&policy(), 2, 200 * US, Some(&adapt)), Ok(()));
    assert_eq!(m.yields.get(), 0);
    assert_eq!(m.parks.get(), 1);
    assert!(m.checks.get() <= 4, "spun: {} checks", m.checks.get());
}

#[test]
fn a_wait_without_adaptive_memory_stops_spinning_at_its_first_clock_read_when_busy() {
    let m = Fake::sensing(2);
    m.running.set(Some(5));
    assert_eq!(m.wait(&policy(), 2, 200 * US, None), Ok(()));
    assert_eq!(m.yields.get(), 0);
    assert_eq!(m.parks.get(), 1);
    assert!(m.checks.get() <= 64 + 4, "spun past the first clock read: {} checks", m.checks.get());
}

#[test]
fn without_a_memory_the_quiet_machine_policy_is_kept() {
    let m = Fake::new(2, None);
    m.running.set(Some(50));
    m.yield_takes.set(3 * MS);
    assert_eq!(m.wait(&policy(), 8, 10 * MS, None), Ok(()));
    // The yield phase runs to its budget (one 3 ms yield exceeds 200 µs) and sleeps after.
    assert_eq!(m.yields.get(), 1);
    assert_eq!(m.samples.get(), 0);
    assert_eq!(m.wait(&policy(), 8, 10 * MS, None), Ok(()));
    assert_eq!(m.yields.get(), 1, "still yields: nothing is remembered");
}

#[test]
fn a_disabled_memory_keeps_the_quiet_machine_policy() {
    let m = Fake::new(2, Some(Contention::new(Tuning { enabled: false, ..Tuning::DEFAULT })));
    m.running.set(Some(50));
    assert_eq!(m.wait(&policy(), 4, 30 * US, None), Ok(()));
    assert!(m.yields.get() >= 5);
    assert_eq!(m.parks.get(), 0);
}

#[test]
fn a_busy_sleeper_still_runs_the_liveness_hook_every_check_interval() {
    let m = Fake::sensing(2);
    m.running.set(Some(7));
    let seq = AtomicU32::new(0);
    let idles = Cell::new(0u32);
    let start = m.clock.get();
    m.event_at.set(start + 100 * MS);
    let p = policy();
    let r = wait_for(
        &m,
        &p,
        &seq,
        4.into(),
        None,
        None,
        |_| if m.clock.get() >= m.event_at.get() { Poll::Ready(()) } else { Poll::Pending },
        || idles.set(idles.get() + 1),
    );
    assert_eq!(r, Ok(()));
    assert_eq!(m.yields.get(), 0);
    // 100 ms asleep with a 20 ms check interval: woken 5 times, the hook ran at each timeout.
    assert_eq!(m.parks.get(), 5);
    assert_eq!(idles.get(), 4, "the hook runs at every timed wake-up before the event");
}

#[test]
fn deadlines_still_end_busy_waits() {
    let m = Fake::sensing(2);
    m.running.set(Some(7));
    let seq = AtomicU32::new(0);
    let deadline = m.clock.get() + 5 * MS;
    m.event_at.set(u64::MAX);
    let r = wait_for(&m, &policy(), &seq, 4.into(), Some(deadline), None, |_| Poll::<()>::Pending, || ());
    assert_eq!(r, Err(()));
    assert!(m.clock.get() >= deadline);
    assert_eq!(m.yields.get(), 0);
}

#[test]
fn helping_waits_nap_instead_of_yielding_on_a_busy_machine() {
    use muster_core::wait::{backoff, NAP_NS};
    let m = Fake::sensing(2);
    m.running.set(Some(1));
    // No busy verdict: a yield.
    backoff(&m);
    assert_eq!((m.yields.get(), m.parks.get()), (1, 0));
    // A busy verdict (busy loops beside): a timed nap, no yield.
    assert!(!m.memory.as_ref().unwrap().may_yield(m.clock.get(), || 4, || Some(Load { running: 7, cpus: 2 })));
    m.reset_counts();
    let t0 = m.clock.get();
    backoff(&m);
    assert_eq!((m.yields.get(), m.parks.get()), (0, 1));
    assert!(m.clock.get() - t0 >= NAP_NS, "the nap is timed, not a wake-up wait");
    // Without a memory (or disabled): always a yield.
    let q = Fake::new(2, None);
    backoff(&q);
    assert_eq!((q.yields.get(), q.parks.get()), (1, 0));
}

#[test]
fn short_sleeps_teach_the_spin_phase_to_outlast_a_wake_up() {
    // Two parties both running: waits end within a few hundred ns while spinning. Then a sleep
    // crept in (yields are known not to pay here: they take a slice); from now on the partner
    // arrives one wake-up latency (6 µs) after each wait starts. Recording those sleeps as
    // "long" would cut spinning and keep both sleeping every episode; recording what they took
    // raises the budget until spinning catches the partner.
    let m = Fake::sensing(2);
    m.running.set(Some(3));
    m.check_cost.set(30);
    m.yield_takes.set(3 * MS);
    let p = WaitPolicy { busy_spin_ns: 10 * US, ..policy() };
    let adapt = Adaptive::new();
    for _ in 0..50 {
        assert_eq!(m.wait(&p, 2, 300, Some(&adapt)), Ok(()));
        assert_eq!(m.parks.get() + m.yields.get(), 0);
    }
    let short = adapt.budget();
    assert!(u64::from(short) * 30 < 6 * US, "budget {short} already covers 6 µs");
    // One wait that spun, yielded a slice and slept: the machine is now known busy.
    assert_eq!(m.wait(&p, 2, 10 * MS, Some(&adapt)), Ok(()));
    assert_eq!(m.yields.get(), 1);
    for _ in 0..50 {
        assert_eq!(m.wait(&p, 2, 300, Some(&adapt)), Ok(()));
    }
    let mut parked = 0;
    let mut caught = 0;
    for _ in 0..20 {
        assert_eq!(m.wait(&p, 2, 6 * US, Some(&adapt)), Ok(()));
        assert_eq!(m.yields.get(), 0, "yielded on a machine known busy");
        parked += m.parks.get();
        if m.parks.get() == 0 {
            caught += 1;
        }
    }
    assert!(parked >= 1, "the first 6 µs wait should have outlasted the short budget");
    assert!(parked <= 4, "slept {parked} times: sleeps feed themselves");
    assert!(caught >= 16, "only {caught} of 20 waits caught the partner while spinning");
    // Long waits (the partner descheduled) still cut spinning to the minimum.
    for _ in 0..40 {
        assert_eq!(m.wait(&p, 2, 5 * MS, Some(&adapt)), Ok(()));
    }
    assert_eq!(adapt.budget(), Adaptive::MIN_SPINS);
}

#[test]
fn a_slow_yield_counts_even_when_the_event_came_meanwhile() {
    // Beside busy loops a yield usually brings the awaited event, one slice late: two busy loops
    // beside 8 awake parties on 2 CPUs read 10 runnable tasks. (By default that count alone
    // does not stop yields; the slow yield does.)
    let m = Fake::new(2, Some(Contention::new(Tuning::DEFAULT)));
    m.running.set(Some(10));
    m.yield_takes.set(3 * MS);
    assert_eq!(m.wait(&policy(), 8, 2 * MS, None), Ok(()));
    assert_eq!(m.yields.get(), 1);
    assert!(m.memory.as_ref().unwrap().busy_at(m.clock.get()));
    assert_eq!(m.wait(&policy(), 8, 2 * MS, None), Ok(()));
    assert_eq!(m.yields.get(), 0, "the next wait sleeps instead");
}

#[test]
fn sleeping_parties_do_not_explain_runnable_tasks() {
    // 8 parties on 2 CPUs, 6 of them asleep in the kernel, and 4 runnable tasks: at most 2 of
    // them are parties, so busy loops are runnable and a yield would run their slice.
    let m = Fake::sensing(2);
    m.running.set(Some(4));
    let asleep = AtomicU32::new(6);
    let seq = AtomicU32::new(0);
    m.event_at.set(m.clock.get() + 30 * US);
    let peers = Peers { parties: 8, asleep: Sleepers::Counter(&asleep) };
    let check = |_: bool| if m.clock.get() >= m.event_at.get() { Poll::Ready(()) } else { Poll::Pending };
    assert_eq!(wait_for(&m, &policy(), &seq, peers, None, None, check, || ()), Ok(()));
    assert_eq!(m.yields.get(), 0, "yielded beside busy loops");
    assert_eq!(m.parks.get(), 1);
    assert_eq!(asleep.load(Ordering::Relaxed), 6, "the wait's own sleep is counted and uncounted");

    // The same count with every party awake: the parties explain it; yield to them.
    let m = Fake::sensing(2);
    m.running.set(Some(4));
    let asleep = AtomicU32::new(0);
    m.event_at.set(m.clock.get() + 30 * US);
    let peers = Peers { parties: 8, asleep: Sleepers::Counter(&asleep) };
    let check = |_: bool| if m.clock.get() >= m.event_at.get() { Poll::Ready(()) } else { Poll::Pending };
    assert_eq!(wait_for(&m, &policy(), &seq, peers, None, None, check, || ()), Ok(()));
    assert!(m.yields.get() >= 5);
    assert_eq!(m.parks.get(), 0);

    // A garbage count (another process wrote it) only misguides the choice.
    let asleep = AtomicU32::new(u32::MAX);
    assert_eq!(Peers { parties: 8, asleep: Sleepers::Counter(&asleep) }.awake(), 1);
}

#[test]
fn a_sleeper_is_counted_while_it_sleeps() {
    struct Watch<'a> {
        fake: Fake,
        asleep: &'a AtomicU32,
        seen: Cell<u32>,
    }
    impl Parker for Watch<'_> {
        fn park(&self, word: &AtomicU32, expected: u32, deadline_ns: Option<u64>) {
            self.seen.set(self.asleep.load(Ordering::Relaxed));
            self.fake.park(word, expected, deadline_ns)
        }
        fn unpark_all(&self, _word: &AtomicU32) {}
        fn now_ns(&self) -> u64 {
            self.fake.now_ns()
        }
        fn yield_now(&self) {
            self.fake.yield_now()
        }
        fn cpus(&self) -> u32 {
            self.fake.cpus
        }
        fn contention(&self) -> Option<&Contention> {
            self.fake.contention()
        }
        fn sample_load(&self) -> Option<Load> {
            self.fake.sample_load()
        }
    }
    let asleep = AtomicU32::new(2);
    let w = Watch { fake: Fake::sensing(2), asleep: &asleep, seen: Cell::new(0) };
    w.fake.running.set(Some(7));
    w.fake.event_at.set(w.fake.clock.get() + MS);
    let seq = AtomicU32::new(0);
    let check = |_: bool| if w.fake.clock.get() >= w.fake.event_at.get() { Poll::Ready(()) } else { Poll::Pending };
    let peers = Peers { parties: 4, asleep: Sleepers::Counter(&asleep) };
    assert_eq!(wait_for(&w, &policy(), &seq, peers, None, None, check, || ()), Ok(()));
    assert_eq!(w.seen.get(), 3);
    assert_eq!(asleep.load(Ordering::Relaxed), 2);
}

#[test]
fn with_tasks_waiting_for_a_cpu_spinning_stops_at_the_busy_budget() {
    // A 2-party wait on 2 CPUs whose partner comes after 40 µs, with `running` runnable tasks.
    let wait_40us = |running: u32| {
        let m = Fake::sensing(2);
        m.running.set(Some(running));
        m.check_cost.set(30);
        let adapt = Adaptive::new();
        assert_eq!(m.wait(&policy(), 2, 40 * US, Some(&adapt)), Ok(()));
        m
    };
    // More runnable tasks than CPUs: a partner that is not here yet may be queued behind us on
    // our own CPU, so spinning past `busy_spin_ns` only delays it.
    let m = wait_40us(3);
    let spun = u64::from(m.checks.get()) * 30;
    assert!(spun <= policy().busy_spin_ns + 4 * US, "spun {spun} ns before giving up");
    assert!(m.yields.get() + m.parks.get() >= 1);
    // With an idle CPU the full spin budget applies.
    let m = wait_40us(1);
    assert_eq!(m.yields.get() + m.parks.get(), 0, "a 40 µs wait fits the quiet spin budget");
    // As many runnable tasks as CPUs (the two parties of a 2-CPU barrier, both spinning): nobody
    // waits for a CPU, so the full budget applies too. (Capping it here sent every wait the
    // partner took over 3 µs to reach on to yield and sleep: quiet N = 2 cost 0.42-0.60 µs per
    // episode instead of 0.30 µs.)
    let m = wait_40us(2);
    assert_eq!(m.yields.get() + m.parks.get(), 0, "two spinning parties on two CPUs keep the quiet budget");
}

#[test]
fn by_default_a_busy_count_alone_does_not_stop_yields_but_a_slow_yield_does() {
    // Compiler jobs beside: many runnable tasks, but they block often and yields hand the CPU
    // over within microseconds.
    let m = Fake::new(2, Some(Contention::new(Tuning::DEFAULT)));
    m.running.set(Some(9));
    assert_eq!(m.wait(&policy(), 8, 20 * US, None), Ok(()));
    assert!(m.yields.get() >= 5);
    assert_eq!(m.parks.get(), 0);
    // Busy loops beside: the first yield takes a slice, the next waits sleep.
    m.yield_takes.set(3 * MS);
    assert_eq!(m.wait(&policy(), 8, 10 * MS, None), Ok(()));
    assert_eq!(m.yields.get(), 1);
    assert_eq!(m.wait(&policy(), 8, 100 * US, None), Ok(()));
    assert_eq!((m.yields.get(), m.parks.get()), (0, 1));
}

#[test]
fn with_tasks_waiting_for_a_cpu_a_spin_that_cannot_catch_the_partner_is_skipped() {
    // Beside busy loops the partner's wake-up takes longer than the busy spin budget: waits
    // learnt to take ~12 µs, so spinning 3 µs would only burn CPU.
    let m = Fake::sensing(2);
    m.running.set(Some(3));
    m.check_cost.set(30);
    m.yield_takes.set(3 * MS);
    let adapt = Adaptive::new();
    assert_eq!(m.wait(&policy(), 2, 10 * MS, Some(&adapt)), Ok(()));
    for _ in 0..30 {
        assert_eq!(m.wait(&policy(), 2, 12 * US, Some(&adapt)), Ok(()));
    }
    assert!(adapt.average_ns() > policy().busy_spin_ns);
    assert_eq!(m.wait(&policy(), 2, 12 * US, Some(&adapt)), Ok(()));
    assert_eq!(m.parks.get(), 1);
    assert!(m.checks.get() <= 4, "spun {} checks for a partner it could not catch", m.checks.get());
}

#[test]
fn a_slow_yield_that_ran_a_peer_into_the_event_is_not_busy_evidence() {
    // Goldsmith: three processes on 2 CPUs, each waiting on 2-party barriers. A yield runs a
    // peer that spins and computes before the event comes; the runnable count (3) is explained
    // by the processes themselves, so the slow yield proves nothing.
    let m = Fake::new(2, Some(Contention::new(Tuning::DEFAULT)));
    m.running.set(Some(3));
    m.yield_takes.set(400 * US);
    assert_eq!(m.wait(&policy(), 2, 100 * US, None), Ok(()));
    assert_eq!(m.yields.get(), 1);
    assert!(!m.memory.as_ref().unwrap().busy_at(m.clock.get()));
    assert_eq!(m.wait(&policy(), 2, 100 * US, None), Ok(()));
    assert_eq!((m.yields.get(), m.parks.get()), (1, 0), "the next wait yields again");
    // The same slow yield without the event ran somebody else's slice: busy.
    assert_eq!(m.wait(&policy(), 2, 10 * MS, None), Ok(()));
    assert!(m.memory.as_ref().unwrap().busy_at(m.clock.get()));
}

#[test]
fn an_alting_wait_judges_a_slow_yield_by_the_parties_it_probes() {
    // An alting select's parties sleep each on its own eventcount, so the barrier keeps no count
    // and the select probes their words instead. 4 parties on 2 CPUs, 4 runnable tasks, and one
    // yield across a 3 ms vCPU stall, before the event at 10 ms.
    let wait = |asleep: Sleepers<'_>| {
        let m = Fake::new(2, Some(Contention::new(Tuning::DEFAULT)));
        m.running.set(Some(4));
        m.yield_takes.set(3 * MS);
        m.event_at.set(m.clock.get() + 10 * MS);
        let seq = AtomicU32::new(0);
        let check = |_: bool| if m.clock.get() >= m.event_at.get() { Poll::Ready(()) } else { Poll::Pending };
        let peers = Peers { parties: 4, asleep };
        // A yield budget that outlasts the stalls, so the verdict alone ends the yields.
        let policy = WaitPolicy { yield_ns: 20 * MS, ..policy() };
        assert_eq!(wait_for(&m, &policy, &seq, peers, None, None, check, || ()), Ok(()));
        m
    };
    // Not observable: the yield's length alone decides, and the stall reads as foreign work.
    let m = wait(Sleepers::Unknown);
    assert!(m.memory.as_ref().unwrap().busy_at(m.clock.get()));
    assert_eq!(m.yields.get(), 1);

    // Every party awake: the four runnable tasks are the parties themselves; go on yielding.
    let probes = Cell::new(0u32);
    let none = || {
        probes.set(probes.get() + 1);
        0
    };
    let m = wait(Sleepers::Probe(&none));
    assert!(!m.memory.as_ref().unwrap().busy_at(m.clock.get()));
    assert!(m.yields.get() >= 3, "kept yielding to its parties");
    assert!(probes.get() >= 1);

    // Two of them asleep: at most two runnable tasks are parties, so two are foreign work; a
    // second slow yield within the strike window makes it a busy verdict.
    let two = || 2;
    let m = wait(Sleepers::Probe(&two));
    assert!(m.memory.as_ref().unwrap().busy_at(m.clock.get()));
    assert_eq!(m.yields.get(), 2);

    // A wait that ends at its first check never probes.
    let m = Fake::new(2, Some(Contention::new(Tuning::DEFAULT)));
    let probes = Cell::new(0u32);
    let count = || {
        probes.set(probes.get() + 1);
        0
    };
    let seq = AtomicU32::new(0);
    let peers = Peers { parties: 4, asleep: Sleepers::Probe(&count) };
    assert_eq!(wait_for(&m, &policy(), &seq, peers, None, None, |_| Poll::Ready(()), || ()), Ok(()));
    assert_eq!(probes.get(), 0);
}
