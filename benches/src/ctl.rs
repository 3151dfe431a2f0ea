//! The control file: one POSIX shared-memory object per configuration that carries the run's
//! parameters to the workers, holds the baselines' shared barrier objects, and collects what the
//! workers measured (per-repetition results and per-episode timestamps).
//!
//! Layout (offsets are also passed to the C helpers on their command line):
//! ```text
//! 0            Header
//! PTHREAD_OFF  pthread_barrier_t (PTHREAD_PROCESS_SHARED)
//! SEM_OFF      sem_t mutex, sem_t turnstile[2], u32 count
//! SPIN_OFF     u32 count (own cache line), u32 sense at SPIN_OFF + 128
//! PING_OFF     u64 ping-pong word (own cache lines)
//! GATE_OFF     u32 gate, u32 done at GATE_OFF + 64 (futex words, see below)
//! RESULTS_OFF  RepResult[MAX_REPS][MAX_N]
//! DISS_OFF     u32 dissemination flags[party][round], 128 bytes each
//! TS_OFF       u64 timestamps[worker][rep][episode][entry, exit]   (latency phase, lat_cap episodes)
//! ```
//!
//! **Steps and the gate.** A configuration's workers are started once and then run *steps* when
//! the harness lets them: step 0 is validation / warm-up, step `1 + r` is repetition `r`. Before
//! step `s` every worker (process, thread or MPI rank) waits until `gate > s` (a futex wait on the
//! gate word); after it, it adds one to `done` and wakes the harness when `done` reaches
//! `parties × (s + 1)`. `gate == GATE_QUIT` tells waiting workers to leave without running more
//! steps. This is what lets the harness interleave systems (repetition r of every system in turn,
//! round after round) while every system's workers stay warm and asleep between their turns.

use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64};

pub const MAGIC: u64 = 0x4d55_5354_4552_4243; // "MUSTERBC"
pub const MAX_REPS: usize = 16;
pub const MAX_N: usize = 64;
pub const PTHREAD_OFF: usize = 1024;
pub const SEM_OFF: usize = 1280;
pub const SPIN_OFF: usize = 2048;
pub const PING_OFF: usize = 2560;
pub const GATE_OFF: usize = 2688;
pub const DONE_OFF: usize = GATE_OFF + 64;
pub const RESULTS_OFF: usize = 4096;
pub const DISS_OFF: usize = RESULTS_OFF + MAX_REPS * MAX_N * std::mem::size_of::<RepResult>();
/// Rounds of the dissemination barrier for up to [`MAX_N`] parties (ceil(log2 64)).
pub const DISS_ROUNDS: usize = 6;
/// Bytes per dissemination flag: its own pair of cache lines (adjacent-line prefetch).
pub const DISS_STRIDE: usize = 128;
pub const TS_OFF: usize = DISS_OFF + MAX_N * DISS_ROUNDS * DISS_STRIDE;
/// The gate value that tells waiting workers to leave.
pub const GATE_QUIT: u32 = u32::MAX;
/// Latency-phase episodes per repetition at most (the timestamp area is sized for this many).
pub const LAT_CAP: u64 = 5000;

/// Run parameters (written by the harness before any worker starts) and shared control words.
#[repr(C)]
pub struct Header {
    pub magic: u64,
    pub parties: u32,
    pub reps: u32,
    /// Episodes per repetition (upper bound; the time budget may stop a repetition earlier).
    pub episodes: u64,
    /// Latency-phase episodes per repetition (upper bound; `min(episodes, LAT_CAP)`).
    pub lat_cap: u64,
    /// Time budget per repetition in ticks: worker 0 stops the repetition once it is exceeded.
    pub budget_ticks: u64,
    /// Busy work between barriers: uniform in `0..=work_max_iters` loop iterations (0 = none).
    pub work_max_iters: u64,
    pub seed: u64,
    pub total_len: u64,
    /// NUL-terminated: the Muster region name, or the broker's socket path.
    pub name: [u8; 96],
    /// Per repetition and phase (`2 * rep + phase`): the episode after which everybody stops
    /// (`u64::MAX` = run to the end).
    pub stop: [AtomicU64; 2 * MAX_REPS],
    /// CPU time and rounds of a coordinator process (broker), reported at its exit.
    pub extra_cpu_ns: AtomicU64,
    pub extra_rounds: AtomicU64,
    /// Set by a worker that hit an error.
    pub failed: AtomicU32,
    /// Validation phase (before the first repetition): arrivals counted before each wait, episodes
    /// after which a party saw fewer than all arrivals of that episode, and the phase's stop word.
    pub check_arrivals: AtomicU64,
    pub check_violations: AtomicU64,
    pub check_episodes: AtomicU64,
    pub check_stop: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<Header>() <= PTHREAD_OFF);
const _: () = assert!(DONE_OFF + 4 <= 3072); // the alting words start at 3072 (alting.rs)

/// What one worker measured in one repetition. A repetition has two phases: the throughput phase
/// (no per-episode clock reads: `episodes`, `t0`, `t1`, `cpu_ns`) and the latency phase
/// (`lat_episodes` episodes, each timestamped on entry and exit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RepResult {
    pub episodes: u64,
    /// Ticks right after the throughput phase's start barrier and after its last episode.
    pub t0: u64,
    pub t1: u64,
    pub cpu_ns: u64,
    pub lat_episodes: u64,
}

/// Parameters for [`Ctl::create`].
pub struct Params {
    pub parties: usize,
    pub reps: usize,
    pub episodes: u64,
    pub budget_ticks: u64,
    pub work_max_iters: u64,
    pub seed: u64,
    pub name: String,
}

/// A mapping of the control file.
pub struct Ctl {
    ptr: *mut u8,
    len: usize,
    name: String,
    owner: bool,
}

// SAFETY: the mapping is plain shared memory; concurrent access goes through atomics or disjoint
// per-worker areas (results, timestamps), exactly as between processes.
unsafe impl Send for Ctl {}
// SAFETY: as above.
unsafe impl Sync for Ctl {}

fn cname(name: &str) -> io::Result<CString> {
    CString::new(format!("/{name}")).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn map(fd: libc::c_int, len: usize) -> io::Result<*mut u8> {
    // SAFETY: mapping a file descriptor we own; the kernel validates every argument.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}

impl Ctl {
    /// Bytes needed for `p`.
    pub fn size_for(parties: usize, reps: usize, episodes: u64) -> usize {
        TS_OFF + parties.max(2) * reps * episodes.min(LAT_CAP) as usize * 16
    }

    /// Creates (exclusively) and initializes a control file named `name` (in /dev/shm).
    pub fn create(name: &str, p: &Params) -> io::Result<Ctl> {
        assert!(p.parties <= MAX_N && p.reps <= MAX_REPS && p.name.len() < 96);
        let len = Self::size_for(p.parties, p.reps, p.episodes);
        let c = cname(name)?;
        // SAFETY: `c` is a valid NUL-terminated string.
        let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is the descriptor just opened.
        let r = unsafe { libc::ftruncate(fd, len as libc::off_t) };
        let mapped = if r == 0 { map(fd, len) } else { Err(io::Error::last_os_error()) };
        // SAFETY: closing our own descriptor; the mapping stays valid.
        unsafe { libc::close(fd) };
        let ptr = match mapped {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: `c` is a valid NUL-terminated string naming the object we created.
                unsafe { libc::shm_unlink(c.as_ptr()) };
                return Err(e);
            }
        };
        let ctl = Ctl { ptr, len, name: name.to_string(), owner: true };
        let h = ctl.ptr.cast::<Header>();
        let mut nm = [0u8; 96];
        nm[..p.name.len()].copy_from_slice(p.name.as_bytes());
        // SAFETY: the mapping is at least TS_OFF bytes, zero-filled, and nobody else uses it yet.
        unsafe {
            (*h).magic = MAGIC;
            (*h).parties = p.parties as u32;
            (*h).reps = p.reps as u32;
            (*h).episodes = p.episodes;
            (*h).lat_cap = p.episodes.min(LAT_CAP);
            (*h).budget_ticks = p.budget_ticks;
            (*h).work_max_iters = p.work_max_iters;
            (*h).seed = p.seed;
            (*h).total_len = len as u64;
            (*h).name = nm;
            for s in &(*h).stop {
                s.store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
            }
            (*h).check_stop.store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(ctl)
    }

    /// Opens a control file created by the harness.
    pub fn open(name: &str) -> io::Result<Ctl> {
        let c = cname(name)?;
        // SAFETY: `c` is a valid NUL-terminated string.
        let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: an all-zero stat is a valid value of this plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open and `st` is a valid out-pointer.
        let r = unsafe { libc::fstat(fd, &mut st) };
        let len = st.st_size as usize;
        let mapped = if r != 0 {
            Err(io::Error::last_os_error())
        } else if len < TS_OFF {
            Err(io::Error::new(io::ErrorKind::InvalidData, "control file too small"))
        } else {
            map(fd, len)
        };
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(fd) };
        let ctl = Ctl { ptr: mapped?, len, name: name.to_string(), owner: false };
        if ctl.header().magic != MAGIC {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad control file"));
        }
        Ok(ctl)
    }

    pub fn header(&self) -> &Header {
        // SAFETY: the mapping starts with an initialized Header and lives as long as `self`.
        unsafe { &*self.ptr.cast::<Header>() }
    }

    /// Path of the control file for the C helpers.
    pub fn path(&self) -> String {
        format!("/dev/shm/{}", self.name)
    }

    /// The NUL-terminated name stored in the header.
    pub fn stored_name(&self) -> String {
        let n = &self.header().name;
        let end = n.iter().position(|&b| b == 0).unwrap_or(n.len());
        String::from_utf8_lossy(&n[..end]).into_owned()
    }

    /// A pointer `off` bytes into the mapping (`off + size_of::<T>()` must be within the header area).
    pub fn at<T>(&self, off: usize) -> *mut T {
        assert!(off + std::mem::size_of::<T>() <= RESULTS_OFF);
        // SAFETY: in bounds (checked above).
        unsafe { self.ptr.add(off).cast() }
    }

    fn result_ptr(&self, rep: usize, worker: usize) -> *mut RepResult {
        assert!(rep < MAX_REPS && worker < MAX_N);
        // SAFETY: the results table lies within the mapping (len >= TS_OFF).
        unsafe { self.ptr.add(RESULTS_OFF).cast::<RepResult>().add(rep * MAX_N + worker) }
    }

    pub fn set_result(&self, rep: usize, worker: usize, r: RepResult) {
        // SAFETY: each (rep, worker) slot is written by exactly one worker.
        unsafe { self.result_ptr(rep, worker).write_volatile(r) }
    }

    pub fn result(&self, rep: usize, worker: usize) -> RepResult {
        // SAFETY: read by the harness after the workers exited.
        unsafe { self.result_ptr(rep, worker).read_volatile() }
    }

    /// The gate and done futex words (see the module comment).
    pub fn gate(&self) -> &AtomicU32 {
        // SAFETY: 4-byte aligned, within the zero-initialized header area, only accessed atomically.
        unsafe { &*self.at::<AtomicU32>(GATE_OFF) }
    }

    pub fn done(&self) -> &AtomicU32 {
        // SAFETY: as for `gate`.
        unsafe { &*self.at::<AtomicU32>(DONE_OFF) }
    }

    /// The dissemination flag of `party` for `round`.
    pub fn diss_flag(&self, party: usize, round: usize) -> &AtomicU32 {
        assert!(party < MAX_N && round < DISS_ROUNDS);
        // SAFETY: the flag area lies within the mapping (len >= TS_OFF), 4-byte aligned,
        // zero-initialized and only accessed atomically; it lives as long as `self`.
        unsafe { &*self.ptr.add(DISS_OFF + (party * DISS_ROUNDS + round) * DISS_STRIDE).cast::<AtomicU32>() }
    }

    /// The timestamp area of (`worker`, `rep`): `2 * lat_cap` u64 (entry, exit).
    pub fn ts(&self, worker: usize, rep: usize) -> *mut u64 {
        let h = self.header();
        let e = h.lat_cap as usize;
        let off = TS_OFF + ((worker * h.reps as usize + rep) * e) * 16;
        assert!(off + e * 16 <= self.len);
        // SAFETY: in bounds (checked above).
        unsafe { self.ptr.add(off).cast() }
    }

    /// Copies the timestamps of (`worker`, `rep`) for `n` episodes.
    pub fn read_ts(&self, worker: usize, rep: usize, n: usize) -> Vec<u64> {
        let n = n.min(self.header().lat_cap as usize);
        let p = self.ts(worker, rep);
        // SAFETY: `2 * n <= 2 * lat_cap` u64 inside the area returned by `ts`.
        unsafe { std::slice::from_raw_parts(p, 2 * n) }.to_vec()
    }
}

impl Drop for Ctl {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; nothing borrows it past `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
        if self.owner {
            if let Ok(c) = cname(&self.name) {
                // SAFETY: `c` is a valid NUL-terminated string.
                unsafe { libc::shm_unlink(c.as_ptr()) };
            }
        }
    }
}
