//! The baselines that live in this binary: pthread barrier, semaphore barrier, spin barriers,
//! the dissemination barrier (all in the control file's shared mapping) and the socket broker.

use crate::clock::{cpu_ns, sched_yield};
use crate::ctl::{Ctl, DISS_ROUNDS, PTHREAD_OFF, SEM_OFF, SPIN_OFF};
use crate::worker::EpisodeBarrier;
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn check(rc: libc::c_int, what: &str) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::new(io::Error::from_raw_os_error(rc).kind(), format!("{what}: error {rc}")))
    }
}

fn check_errno(rc: libc::c_int, what: &str) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    }
}

const _: () = assert!(std::mem::size_of::<libc::pthread_barrier_t>() <= SEM_OFF - PTHREAD_OFF);
const _: () = assert!(3 * std::mem::size_of::<libc::sem_t>() + 4 <= SPIN_OFF - SEM_OFF);

/// Initializes the process-shared pthread barrier in the control file (harness, before spawning).
pub fn init_pthread(ctl: &Ctl, n: u32) -> io::Result<()> {
    let b = ctl.at::<libc::pthread_barrier_t>(PTHREAD_OFF);
    // SAFETY: an all-zero attr is valid storage; it is initialized by pthread_barrierattr_init.
    let mut attr: libc::pthread_barrierattr_t = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` and `b` point to valid storage; no worker uses the barrier yet.
    unsafe {
        check(libc::pthread_barrierattr_init(&mut attr), "pthread_barrierattr_init")?;
        check(libc::pthread_barrierattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED), "setpshared")?;
        let r = libc::pthread_barrier_init(b, &attr, n);
        libc::pthread_barrierattr_destroy(&mut attr);
        check(r, "pthread_barrier_init")
    }
}

/// Destroys the pthread barrier (harness, after every worker exited).
pub fn destroy_pthread(ctl: &Ctl) {
    // SAFETY: initialized by `init_pthread`; no process uses it any more.
    unsafe { libc::pthread_barrier_destroy(ctl.at(PTHREAD_OFF)) };
}

/// `pthread_barrier_wait` on the shared barrier.
pub struct PthreadBarrier(*mut libc::pthread_barrier_t);

impl PthreadBarrier {
    pub fn new(ctl: &Ctl) -> PthreadBarrier {
        PthreadBarrier(ctl.at(PTHREAD_OFF))
    }
}

impl EpisodeBarrier for PthreadBarrier {
    fn wait(&self) {
        // SAFETY: the barrier was initialized process-shared by the harness and outlives the workers.
        let r = unsafe { libc::pthread_barrier_wait(self.0) };
        assert!(r == 0 || r == libc::PTHREAD_BARRIER_SERIAL_THREAD, "pthread_barrier_wait: {r}");
    }
}

fn sems(ctl: &Ctl) -> (*mut libc::sem_t, [*mut libc::sem_t; 2], *mut u32) {
    let sz = std::mem::size_of::<libc::sem_t>();
    (ctl.at(SEM_OFF), [ctl.at(SEM_OFF + sz), ctl.at(SEM_OFF + 2 * sz)], ctl.at(SEM_OFF + 3 * sz))
}

/// Initializes the semaphore barrier (a mutex semaphore, two turnstiles, a count).
pub fn init_sem(ctl: &Ctl) -> io::Result<()> {
    let (mutex, turn, count) = sems(ctl);
    // SAFETY: valid, suitably aligned storage in the shared mapping; no worker uses it yet.
    unsafe {
        check_errno(libc::sem_init(mutex, 1, 1), "sem_init")?;
        check_errno(libc::sem_init(turn[0], 1, 0), "sem_init")?;
        check_errno(libc::sem_init(turn[1], 1, 0), "sem_init")?;
        count.write(0);
    }
    Ok(())
}

pub fn destroy_sem(ctl: &Ctl) {
    let (mutex, turn, _) = sems(ctl);
    // SAFETY: initialized by `init_sem`; no process uses them any more.
    unsafe {
        libc::sem_destroy(mutex);
        libc::sem_destroy(turn[0]);
        libc::sem_destroy(turn[1]);
    }
}

/// The textbook semaphore barrier: a mutex semaphore guards the arrival count; the last arrival
/// posts the episode's turnstile N-1 times. Turnstiles alternate by episode parity, so a fast
/// party can't take a post meant for a slower one (episode e+2 needs everyone out of e).
pub struct SemBarrier {
    mutex: *mut libc::sem_t,
    turn: [*mut libc::sem_t; 2],
    count: *mut u32,
    n: u32,
    parity: Cell<usize>,
}

impl SemBarrier {
    pub fn new(ctl: &Ctl) -> SemBarrier {
        let (mutex, turn, count) = sems(ctl);
        SemBarrier { mutex, turn, count, n: ctl.header().parties, parity: Cell::new(0) }
    }
}

fn sem_wait(s: *mut libc::sem_t) {
    // SAFETY: `s` is an initialized process-shared semaphore in the mapping.
    while unsafe { libc::sem_wait(s) } != 0 {
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EINTR), "sem_wait");
    }
}

fn sem_post(s: *mut libc::sem_t) {
    // SAFETY: `s` is an initialized process-shared semaphore in the mapping.
    assert_eq!(unsafe { libc::sem_post(s) }, 0, "sem_post");
}

impl EpisodeBarrier for SemBarrier {
    fn wait(&self) {
        let p = self.parity.get();
        self.parity.set(p ^ 1);
        sem_wait(self.mutex);
        // SAFETY: the count is only accessed while holding the mutex semaphore.
        let last = unsafe {
            *self.count += 1;
            let last = *self.count == self.n;
            if last {
                *self.count = 0;
            }
            last
        };
        sem_post(self.mutex);
        if last {
            for _ in 1..self.n {
                sem_post(self.turn[p]);
            }
        } else {
            sem_wait(self.turn[p]);
        }
    }
}

/// A centralized sense-reversing barrier: one arrival counter, one sense word (separate lines).
/// With `yield_after = Some(k)` a waiter calls `sched_yield` after `k` spins.
pub struct SpinBarrier<'a> {
    count: &'a AtomicU32,
    sense: &'a AtomicU32,
    n: u32,
    local: Cell<u32>,
    yield_after: Option<u32>,
}

impl<'a> SpinBarrier<'a> {
    pub fn new(ctl: &'a Ctl, yield_after: Option<u32>) -> SpinBarrier<'a> {
        // SAFETY: both words lie in the zero-initialized shared mapping, 4-byte aligned, and are
        // only accessed atomically; the references live no longer than `ctl`.
        let (count, sense) = unsafe { (&*ctl.at::<AtomicU32>(SPIN_OFF), &*ctl.at::<AtomicU32>(SPIN_OFF + 128)) };
        SpinBarrier { count, sense, n: ctl.header().parties, local: Cell::new(0), yield_after }
    }
}

impl EpisodeBarrier for SpinBarrier<'_> {
    fn wait(&self) {
        let s = self.local.get() ^ 1;
        self.local.set(s);
        if self.count.fetch_add(1, Ordering::AcqRel) == self.n - 1 {
            self.count.store(0, Ordering::Relaxed);
            self.sense.store(s, Ordering::Release);
            return;
        }
        let mut i = 0u32;
        while self.sense.load(Ordering::Acquire) != s {
            match self.yield_after {
                Some(k) if i >= k => sched_yield(),
                _ => std::hint::spin_loop(),
            }
            i = i.saturating_add(1);
        }
    }
}

/// The dissemination barrier (Hensgen, Finkel & Manber 1988; Mellor-Crummey & Scott 1991, algorithm
/// 9), across processes: ceil(log2 N) rounds; in round r party i writes the flag of party
/// (i + 2^r) mod N for that round and waits for its own, written by party (i - 2^r) mod N. After
/// the last round every party has heard, transitively, from all N. There is no shared counter and
/// no broadcast: each flag has one writer and one reader and sits on its own pair of cache lines,
/// so a round costs one one-way transfer: the textbook best for small N.
///
/// Flags carry sequence numbers (the episode count, wrapping u32) instead of MCS's sense and
/// parity bits: a flag is written only by its one partner, which can run at most one episode
/// ahead of its reader (to finish episode e + 1 it needs every party's arrival at e + 1), so
/// "flag ≥ my episode" (wrapping) is the wait condition and one set of flags suffices. Waiters
/// spin [`crate::worker::SPIN_BEFORE_YIELD`] times, then `sched_yield` between polls, like
/// `spin-yield`.
pub struct DisseminationBarrier<'a> {
    /// (partner's flag, own flag) per round.
    rounds: Vec<(&'a AtomicU32, &'a AtomicU32)>,
    episode: Cell<u32>,
}

impl<'a> DisseminationBarrier<'a> {
    pub fn new(ctl: &'a Ctl, id: usize) -> Result<DisseminationBarrier<'a>, String> {
        let n = ctl.header().parties as usize;
        if id >= n {
            return Err(format!("dissemination: party {id} of {n}"));
        }
        let rounds = (usize::BITS - (n - 1).leading_zeros()) as usize; // ceil(log2 n), n >= 2
        if rounds > DISS_ROUNDS {
            return Err(format!("dissemination: {n} parties need {rounds} rounds, at most {DISS_ROUNDS}"));
        }
        let rounds = (0..rounds).map(|r| (ctl.diss_flag((id + (1 << r)) % n, r), ctl.diss_flag(id, r))).collect();
        Ok(DisseminationBarrier { rounds, episode: Cell::new(0) })
    }
}

impl EpisodeBarrier for DisseminationBarrier<'_> {
    fn wait(&self) {
        let e = self.episode.get().wrapping_add(1);
        self.episode.set(e);
        for (partner, own) in &self.rounds {
            partner.store(e, Ordering::Release);
            let mut i = 0u32;
            // Wrapping "own >= e": the writer is at most one episode ahead.
            while (own.load(Ordering::Acquire).wrapping_sub(e) as i32) < 0 {
                if i >= crate::worker::SPIN_BEFORE_YIELD {
                    sched_yield();
                } else {
                    std::hint::spin_loop();
                    i += 1;
                }
            }
        }
    }
}

/// A broker worker: one byte to the coordinator per arrival, one byte back per release.
pub struct BrokerClient(UnixStream);

impl BrokerClient {
    /// Connects to the coordinator's socket, retrying while it starts.
    pub fn connect(path: &str) -> io::Result<BrokerClient> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match UnixStream::connect(path) {
                Ok(s) => return Ok(BrokerClient(s)),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
}

impl EpisodeBarrier for BrokerClient {
    fn wait(&self) {
        (&self.0).write_all(&[1]).expect("broker: write");
        let mut b = [0u8; 1];
        (&self.0).read_exact(&mut b).expect("broker: read");
    }
}

/// The broker's coordinator: accepts N workers, then per round reads one byte from each and
/// writes one byte to each, until the workers hang up. Reports its CPU time and rounds.
pub fn broker_coordinator(ctl: &Ctl) -> io::Result<()> {
    let path = ctl.stored_name();
    let n = ctl.header().parties as usize;
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(listener.accept()?.0);
    }
    drop(listener);
    let _ = std::fs::remove_file(&path);
    let cpu0 = cpu_ns(false);
    let mut rounds = 0u64;
    'run: loop {
        let mut b = [0u8; 1];
        for c in &mut conns {
            loop {
                match c.read(&mut b) {
                    Ok(1) => break,
                    Ok(_) => break 'run,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        for c in &mut conns {
            c.write_all(&[1])?;
        }
        rounds += 1;
    }
    let h = ctl.header();
    h.extra_cpu_ns.store(cpu_ns(false) - cpu0, Ordering::Relaxed);
    h.extra_rounds.store(rounds, Ordering::Relaxed);
    Ok(())
}
