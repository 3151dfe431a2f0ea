//! Cheap clocks, CPU time, the busy-work loop and the work generator shared by every worker.
//!
//! The tick clock is `rdtsc` on x86_64 (invariant TSC, synchronized across cores; the harness
//! calibrates ticks per nanosecond against `CLOCK_MONOTONIC`) and `CLOCK_MONOTONIC` elsewhere. The C
//! helpers in `benches/c/` use the same clock, the same generator and the same work loop, so their
//! timestamps and work sequences are comparable with the Rust workers'.

use std::time::Duration;

/// Reads the tick clock.
#[inline(always)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // `lfence` first: rdtsc is not ordered with earlier loads, and a timestamp taken after a spin
        // loop must not be read speculatively before the load that ended the loop.
        // SAFETY: `lfence` and `rdtsc` have no preconditions and exist on every x86_64 CPU (SSE2).
        unsafe {
            core::arch::x86_64::_mm_lfence();
            core::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        mono_ns()
    }
}

/// A rough tick rate for pacing decisions before calibration is known (accuracy irrelevant).
pub const TICKS_PER_NS_GUESS: f64 = if cfg!(target_arch = "x86_64") { 3.0 } else { 1.0 };

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Tick-clock calibration: ticks per nanosecond and the cost of one clock read.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    pub ticks_per_ns: f64,
    pub read_ns: f64,
    /// Busy-work loop iterations per nanosecond.
    pub work_iters_per_ns: f64,
}

impl Calibration {
    pub fn measure() -> Calibration {
        let (m0, k0) = (mono_ns(), ticks());
        std::thread::sleep(Duration::from_millis(40));
        let (m1, k1) = (mono_ns(), ticks());
        let ticks_per_ns = (k1 - k0) as f64 / (m1 - m0).max(1) as f64;
        let reads = 200_000u64;
        let t0 = ticks();
        let mut sink = 0u64;
        for _ in 0..reads {
            sink = sink.wrapping_add(ticks());
        }
        std::hint::black_box(sink);
        let read_ns = (ticks() - t0) as f64 / ticks_per_ns / reads as f64;
        // Work loop: best of a few tries so an interruption doesn't skew the rate.
        let mut best = f64::MAX;
        for _ in 0..5 {
            let iters = 200_000u64;
            let t0 = ticks();
            busy(iters);
            let ns = (ticks() - t0) as f64 / ticks_per_ns;
            best = best.min(ns / iters as f64);
        }
        Calibration { ticks_per_ns, read_ns, work_iters_per_ns: 1.0 / best }
    }

    pub fn ns(&self, ticks: u64) -> f64 {
        ticks as f64 / self.ticks_per_ns
    }
}

/// CPU time of the calling thread (`thread`) or of the whole process, in ns
/// (`CLOCK_THREAD_CPUTIME_ID` / `CLOCK_PROCESS_CPUTIME_ID`: exact, unlike `getrusage(RUSAGE_THREAD)`,
/// which misses the running thread's time since its last tick).
pub fn cpu_ns(thread: bool) -> u64 {
    let clock = if thread { libc::CLOCK_THREAD_CPUTIME_ID } else { libc::CLOCK_PROCESS_CPUTIME_ID };
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Busy work: a dependent multiply-add chain the optimizer can't remove (same loop as `bench_common.h`).
#[inline(never)]
pub fn busy(iters: u64) -> u64 {
    let mut x = iters;
    for _ in 0..iters {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // SAFETY: an empty asm block that only claims to read and write `x`; it touches nothing else.
        unsafe { core::arch::asm!("/* {0} */", inout(reg) x, options(nomem, nostack, preserves_flags)) };
    }
    x
}

/// xorshift64*, seeded per worker; identical to the C helpers' generator.
pub struct Rng(u64);

impl Rng {
    pub fn for_worker(seed: u64, id: usize) -> Rng {
        Rng((seed ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Gives up the CPU (`sched_yield`).
pub fn sched_yield() {
    // SAFETY: sched_yield has no preconditions.
    unsafe { libc::sched_yield() };
}
