//! The worker side: the one episode loop every system runs, and the `--worker` entry point.
//!
//! Per repetition every party: meets the others at the barrier once (aligned start), then for each
//! episode does its busy work (phased scenario), reads the clock (entry), waits at the barrier,
//! reads the clock (exit). Worker 0 owns the time budget: if it is exceeded when worker 0 is about
//! to arrive at episode `e`, it stores `stop = e` before arriving, and every party, having passed
//! episode `e` (which orders worker 0's store before its own load), stops after it.

use crate::alting;
use crate::baselines::{
    broker_coordinator, BrokerClient, DisseminationBarrier, PthreadBarrier, SemBarrier, SpinBarrier,
};
use crate::clock::{busy, cpu_ns, ticks, Rng};
use crate::ctl::{Ctl, RepResult, PING_OFF};
use crate::gate;
use crate::muster_sys;
use crate::systems::System;

/// Spins before a `sched_yield` in the spin-then-yield baselines (spin-yield, dissemination).
pub const SPIN_BEFORE_YIELD: u32 = 64;
use std::sync::atomic::{AtomicU64, Ordering};

/// One barrier episode.
pub trait EpisodeBarrier {
    fn wait(&self);
}

impl EpisodeBarrier for std::sync::Barrier {
    fn wait(&self) {
        std::sync::Barrier::wait(self);
    }
}

/// How often worker 0 reads the clock to check the time budget: about every 20 µs of run time,
/// so fast barriers pay ~nothing and slow ones still stop within an episode of the budget.
struct BudgetCheck {
    next: u64,
    stride_ticks: u64,
}

impl BudgetCheck {
    fn new() -> BudgetCheck {
        BudgetCheck { next: 0, stride_ticks: (20_000.0 * crate::clock::TICKS_PER_NS_GUESS) as u64 }
    }

    /// Whether the phase that started at `t0` must stop before episode `e` (checks only now and then).
    #[inline]
    fn exceeded(&mut self, e: u64, t0: u64, budget: u64) -> bool {
        if e < self.next {
            return false;
        }
        if e == 0 {
            self.next = 1;
            return false;
        }
        let el = ticks().wrapping_sub(t0);
        if el > budget {
            return true;
        }
        let per = el / e;
        self.next = e + (self.stride_ticks / per.max(1)).clamp(1, 64);
        false
    }
}

/// Episodes of the validation phase (at most; it also gets half a repetition's time budget).
const CHECK_EPISODES: u64 = 500;

/// Validation (and warm-up) before the measured repetitions: every party counts its arrival in a
/// shared counter before each wait; after episode `e` the counter must be at least `(e + 1) * n`.
/// A barrier that lets a party through early is reported as failed instead of fast.
fn validate(ctl: &Ctl, id: usize, b: &impl EpisodeBarrier, budget: u64) {
    let h = ctl.header();
    let n = u64::from(h.parties);
    let mut check = BudgetCheck::new();
    b.wait();
    let t0 = ticks();
    for e in 0..CHECK_EPISODES.min(h.episodes) {
        if id == 0 && check.exceeded(e, t0, budget) && h.check_stop.load(Ordering::Relaxed) == u64::MAX {
            h.check_stop.store(e, Ordering::Release);
        }
        h.check_arrivals.fetch_add(1, Ordering::AcqRel);
        b.wait();
        if h.check_arrivals.load(Ordering::Acquire) < (e + 1) * n {
            h.check_violations.fetch_add(1, Ordering::Relaxed);
        }
        if id == 0 {
            h.check_episodes.store(e + 1, Ordering::Relaxed);
        }
        if h.check_stop.load(Ordering::Acquire) == e {
            break;
        }
    }
}

/// Runs every step of the episode loop as party `id`, recording into the control file: step 0 is
/// validation, step `1 + rep` repetition `rep`, each when the harness opens the gate (`gate.rs`).
/// `thread_cpu`: measure this thread's CPU time rather than the process's.
///
/// Each repetition has two phases of half the time budget each: phase 0 (throughput, up to
/// `episodes` episodes) reads no clock per episode and yields ns/episode and CPU/episode; phase 1
/// (latency, up to `lat_cap` episodes) timestamps every episode's entry and exit.
pub fn run_episodes(ctl: &Ctl, id: usize, b: &impl EpisodeBarrier, thread_cpu: bool) {
    let h = ctl.header();
    let (reps, episodes, lat_cap, budget) = (h.reps as usize, h.episodes, h.lat_cap, h.budget_ticks / 2);
    let mut rng = Rng::for_worker(h.seed, id);
    let mut work = || {
        if h.work_max_iters > 0 {
            busy(rng.next_u64() % (h.work_max_iters + 1));
        }
    };
    // Touch our timestamp pages now, not inside the timed loop.
    for rep in 0..reps {
        let p = ctl.ts(id, rep);
        for i in 0..2 * lat_cap as usize {
            // SAFETY: `ts` returns an area of `2 * lat_cap` u64 owned by this worker.
            unsafe { p.add(i).write_volatile(0) };
        }
    }
    if !gate::enter(ctl, 0) {
        return;
    }
    validate(ctl, id, b, budget);
    gate::leave(ctl, 0);
    for rep in 0..reps {
        let step = 1 + rep as u32;
        if !gate::enter(ctl, step) {
            return;
        }
        // Phase 0: throughput.
        let stop = &h.stop[2 * rep];
        let mut check = BudgetCheck::new();
        b.wait();
        let cpu0 = cpu_ns(thread_cpu);
        let t0 = ticks();
        let mut done = 0;
        for e in 0..episodes {
            work();
            if id == 0 && check.exceeded(e, t0, budget) && stop.load(Ordering::Relaxed) == u64::MAX {
                stop.store(e, Ordering::Release);
            }
            b.wait();
            done = e + 1;
            if stop.load(Ordering::Acquire) == e {
                break;
            }
        }
        let t1 = ticks();
        let cpu = cpu_ns(thread_cpu) - cpu0;
        // Phase 1: latency.
        let ts = ctl.ts(id, rep);
        let stop = &h.stop[2 * rep + 1];
        let mut check = BudgetCheck::new();
        b.wait();
        let l0 = ticks();
        let mut lat_done = 0;
        for e in 0..lat_cap {
            work();
            let entry = ticks();
            if id == 0 && check.exceeded(e, l0, budget) && stop.load(Ordering::Relaxed) == u64::MAX {
                stop.store(e, Ordering::Release);
            }
            b.wait();
            let exit = ticks();
            // SAFETY: `e < lat_cap`, so both slots lie in this worker's area.
            unsafe {
                ts.add(2 * e as usize).write(entry);
                ts.add(2 * e as usize + 1).write(exit);
            }
            lat_done = e + 1;
            if stop.load(Ordering::Acquire) == e {
                break;
            }
        }
        ctl.set_result(rep, id, RepResult { episodes: done, t0, t1, cpu_ns: cpu, lat_episodes: lat_done });
        gate::leave(ctl, step);
    }
}

/// Runs `n` parties as threads of this process.
pub fn run_threads<B: EpisodeBarrier + Sync>(ctl: &Ctl, n: usize, b: &B) {
    std::thread::scope(|s| {
        for id in 0..n {
            s.spawn(move || run_episodes(ctl, id, b, true));
        }
    });
}

/// Cache-line ping-pong on one shared word: party 0 writes odd values, party 1 answers with the
/// next even value. One iteration is one round trip; party 0 timestamps each.
///
/// With `handoff`, both parties are pinned to one CPU and wait for their turn with `sched_yield`
/// instead of `pause`: an iteration is then two hand-offs of that CPU from one process to the
/// other, the least an episode costs per CPU once a barrier's processes outnumber the CPUs.
fn pingpong(ctl: &Ctl, id: usize, handoff: bool) -> Result<(), String> {
    let h = ctl.header();
    if handoff {
        crate::alting::pin(first_cpu()?)?;
    }
    // SAFETY: the ping-pong word lies in the zero-initialized mapping, 8-byte aligned, atomic only.
    let w = unsafe { &*ctl.at::<AtomicU64>(PING_OFF) };
    let (reps, k, lat) = (h.reps as usize, h.episodes, h.lat_cap);
    let mut g = 0u64;
    let pause = || {
        if handoff {
            // SAFETY: sched_yield has no preconditions.
            unsafe {
                libc::sched_yield();
            }
        } else {
            std::hint::spin_loop();
        }
    };
    let step = |g: u64| {
        if id == 0 {
            w.store(2 * g + 1, Ordering::Release);
            while w.load(Ordering::Acquire) != 2 * g + 2 {
                pause();
            }
        } else {
            while w.load(Ordering::Acquire) != 2 * g + 1 {
                pause();
            }
            w.store(2 * g + 2, Ordering::Release);
        }
    };
    for _ in 0..k.min(10_000) {
        step(g);
        g += 1;
    }
    for rep in 0..reps {
        let cpu0 = cpu_ns(false);
        let t0 = ticks();
        for _ in 0..k {
            step(g);
            g += 1;
        }
        let t1 = ticks();
        let cpu = cpu_ns(false) - cpu0;
        let ts = ctl.ts(id, rep);
        for i in 0..lat {
            let entry = if id == 0 { ticks() } else { 0 };
            step(g);
            g += 1;
            if id == 0 {
                let exit = ticks();
                // SAFETY: `i < lat_cap`: both slots lie in this worker's area.
                unsafe {
                    ts.add(2 * i as usize).write(entry);
                    ts.add(2 * i as usize + 1).write(exit);
                }
            }
        }
        ctl.set_result(rep, id, RepResult { episodes: k, t0, t1, cpu_ns: cpu, lat_episodes: lat });
    }
    Ok(())
}

fn arg<'a>(args: &'a [String], key: &str) -> Option<&'a str> {
    args.iter().position(|a| a == key).and_then(|i| args.get(i + 1)).map(String::as_str)
}

/// The lowest CPU this process may run on (the Goldsmith workers' `--pin` target: every worker
/// inherits the harness's affinity mask, so all pick the same CPU).
fn first_cpu() -> Result<usize, String> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return Err(format!("sched_getaffinity: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: CPU_ISSET reads within `set` for every cpu < CPU_SETSIZE.
    (0..libc::CPU_SETSIZE as usize)
        .find(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .ok_or_else(|| "empty CPU mask".into())
}

/// `muster-bench --worker WHAT --ctl NAME [--id I | --threads N] [--pin]`. Returns the exit code.
pub fn worker_main(args: &[String]) -> i32 {
    match worker(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("muster-bench worker {args:?}: {e}");
            2
        }
    }
}

fn worker(args: &[String]) -> Result<(), String> {
    let what = arg(args, "--worker").ok_or("missing --worker")?;
    let ctl_name = arg(args, "--ctl").ok_or("missing --ctl")?;
    let ctl = Ctl::open(ctl_name).map_err(|e| format!("open control file {ctl_name}: {e}"))?;
    let id: usize = arg(args, "--id").unwrap_or("0").parse().map_err(|e| format!("--id: {e}"))?;
    let threads: usize = arg(args, "--threads").unwrap_or("0").parse().map_err(|e| format!("--threads: {e}"))?;
    let fail = |e: String| {
        ctl.header().failed.store(1, Ordering::Relaxed);
        e
    };
    match what {
        "pingpong" => pingpong(&ctl, id, false).map_err(fail)?,
        "handoff" => pingpong(&ctl, id, true).map_err(fail)?,
        "broker-coord" => broker_coordinator(&ctl).map_err(|e| fail(format!("broker coordinator: {e}")))?,
        "idle" => muster_sys::idle_waiter(&ctl).map_err(fail)?,
        "goldsmith" => {
            let cpu = args.iter().any(|a| a == "--pin").then(first_cpu).transpose().map_err(fail)?;
            alting::goldsmith_worker(&ctl, id, cpu).map_err(fail)?
        }
        "alting-sync" => alting::sync_worker(&ctl, id).map_err(fail)?,
        sys => match System::parse(sys).ok_or_else(|| format!("unknown system {sys}"))? {
            System::Muster => {
                let b = muster_sys::ProcessBarrier::open(&ctl).map_err(fail)?;
                run_episodes(&ctl, id, &b, false);
            }
            System::MusterHeap => run_threads(&ctl, threads, &muster_sys::heap_barrier(threads)),
            System::Std => run_threads(&ctl, threads, &std::sync::Barrier::new(threads)),
            System::Pthread => run_episodes(&ctl, id, &PthreadBarrier::new(&ctl), false),
            System::Sem => run_episodes(&ctl, id, &SemBarrier::new(&ctl), false),
            System::Spin => run_episodes(&ctl, id, &SpinBarrier::new(&ctl, None), false),
            System::SpinYield => run_episodes(&ctl, id, &SpinBarrier::new(&ctl, Some(SPIN_BEFORE_YIELD)), false),
            System::Dissemination => run_episodes(&ctl, id, &DisseminationBarrier::new(&ctl, id)?, false),
            System::Broker => {
                let c = BrokerClient::connect(&ctl.stored_name()).map_err(|e| fail(format!("broker connect: {e}")))?;
                run_episodes(&ctl, id, &c, false);
            }
            System::Omp | System::LibOmp | System::Mpi => {
                return Err(format!("{sys} runs as a C helper, not a worker"))
            }
        },
    }
    Ok(())
}
