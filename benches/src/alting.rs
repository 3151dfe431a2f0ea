//! Alting barriers across processes: Goldsmith's challenge (events/s) and the cost of a committed
//! alting `sync` (ns per episode), next to Muster's plain barrier and JCSP's published figures.
//!
//! **Goldsmith.** Three processes P, Q, R and three alting barriers a, b, c of two front-ends each;
//! P offers {a, b}, Q {b, c}, R {c, a}, each looping `Alternative::select(Select::Fair, 20 ms)`.
//! Every event is one barrier completion (it returns from both parties' selects). Each worker opens
//! the region itself, attaches its two front-ends and, after every event, stores its per-barrier
//! count in its own cache line of the control file. The harness, sleeping, snapshots those counts,
//! the clock and every worker's CPU time (`/proc/PID/schedstat`) after a warm-up and then once per
//! repetition window, so a window's events/s are (Δ count of both parties ÷ 2) ÷ Δ wall time. Then
//! it raises the stop word; the workers leave after their current select (≤ 20 ms). At the end
//! every worker checks that its counts equal the barriers' completion counters, and the harness
//! checks that both parties of each barrier counted the same events.
//!
//! **Sync cost.** N processes each attach front-end `id` of one alting barrier with N front-ends
//! and call `AltingBarrier::sync` in the same episode loop (validation, throughput phase, latency
//! phase) as every other row of the harness, so its ns/episode, percentiles and CPU per episode
//! compare directly with Muster's plain barrier at the same N.

use crate::clock::ticks;
use crate::ctl::{Ctl, RESULTS_OFF};
use crate::stats::{median, Outcome};
use crate::worker::{run_episodes, EpisodeBarrier};
use muster::{AltingBarrier, Region, RegionConfig, Select};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The party counts of the alting `sync` measurement.
pub const PARTIES: [usize; 3] = [2, 4, 8];
/// Goldsmith's barriers.
pub const BARRIERS: [&str; 3] = ["a", "b", "c"];
/// (barrier, front-end index) offered by P, Q and R.
pub const OFFERS: [[(usize, u32); 2]; 3] = [[(0, 0), (1, 0)], [(1, 1), (2, 0)], [(2, 1), (0, 1)]];
/// The alting barrier of the sync measurement.
pub const SYNC_BARRIER: &str = "sync";
/// How long a Goldsmith select waits before it looks at the stop word again.
pub const SELECT_TIMEOUT: Duration = Duration::from_millis(20);

/// Goldsmith target (issue 9): at least this many events/s, quiet and under `--hogs 2`.
pub const TARGET_EVENTS_PER_S: f64 = 200_000.0;
/// ... with every barrier getting at least this share of the events.
pub const TARGET_MIN_SHARE: f64 = 0.2;
/// JCSP 1.1-rc4 on this kind of machine (from the issue; not measured by this harness).
pub const JCSP_GOLDSMITH: f64 = 28_000.0;
pub const JCSP_GOLDSMITH_PINNED: f64 = 62_000.0;
/// JCSP `AltingBarrier.sync` with 2 threads: 27–59 µs.
pub const JCSP_SYNC_2_NS: (f64, f64) = (27_000.0, 59_000.0);

// Control-file words of the Goldsmith run (between the ping-pong word and the results table):
// `count[process][guard]` on its own 128-byte line, then the ready counter and the stop word.
const COUNT_OFF: usize = 3072;
const READY_OFF: usize = COUNT_OFF + 6 * 128;
const STOP_OFF: usize = READY_OFF + 128;
const _: () = assert!(STOP_OFF + 8 <= RESULTS_OFF);

fn word(ctl: &Ctl, off: usize) -> &AtomicU64 {
    // SAFETY: `off` is 8-byte aligned within the zero-initialized header area of the mapping
    // (checked by `Ctl::at`), which lives as long as `ctl`; it is only accessed atomically.
    unsafe { &*ctl.at::<AtomicU64>(off) }
}

/// Process `p`'s event count of its guard `g`.
pub fn count(ctl: &Ctl, p: usize, g: usize) -> &AtomicU64 {
    word(ctl, COUNT_OFF + (2 * p + g) * 128)
}

/// Workers that are attached and selecting.
pub fn ready(ctl: &Ctl) -> &AtomicU64 {
    word(ctl, READY_OFF)
}

/// Nonzero: Goldsmith workers leave their loop.
pub fn stop(ctl: &Ctl) -> &AtomicU64 {
    word(ctl, STOP_OFF)
}

/// The harness's handle on an alting region: created with the given alting barriers, unlinked
/// when dropped (also on error paths); workers open it by name.
pub struct AltRegion {
    name: String,
    _region: Region,
}

impl AltRegion {
    /// Creates region `name` with alting barriers `barriers` of `fronts` front-ends each.
    pub fn create(name: &str, barriers: &[&str], fronts: u32) -> Result<AltRegion, String> {
        let _ = Region::unlink(name);
        let region = Region::create(name, &RegionConfig::default()).map_err(|e| format!("Region::create: {e}"))?;
        let guard = AltRegion { name: name.to_string(), _region: region };
        for b in barriers {
            guard._region.alting_create(b, fronts).map_err(|e| format!("alting_create({b}, {fronts}): {e}"))?;
        }
        Ok(guard)
    }
}

impl Drop for AltRegion {
    fn drop(&mut self) {
        let _ = Region::unlink(&self.name);
    }
}

/// Makes the kernel kill this worker if the harness dies (a Goldsmith worker would otherwise
/// select forever with its partners; a sync worker would wait forever for a dead peer).
fn die_with_parent() -> Result<(), String> {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    // SAFETY: PR_SET_PDEATHSIG with a valid signal number has no memory effects.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(format!("prctl(PR_SET_PDEATHSIG): {}", std::io::Error::last_os_error()));
    }
    // SAFETY: as above.
    if unsafe { libc::getppid() } != parent {
        return Err("the harness exited before this worker started".into());
    }
    Ok(())
}

fn open_region(ctl: &Ctl) -> Result<Region, String> {
    die_with_parent()?;
    let name = ctl.stored_name();
    Region::open(&name).map_err(|e| format!("Region::open({name}): {e}"))
}

/// Pins the calling process to `cpu`.
pub(crate) fn pin(cpu: usize) -> Result<(), String> {
    // SAFETY: an all-zero cpu_set_t is the empty set; CPU_SET writes within it.
    let r = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if r != 0 {
        return Err(format!("sched_setaffinity(cpu {cpu}): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Goldsmith worker `id` (0 = P, 1 = Q, 2 = R), optionally pinned to one CPU.
pub fn goldsmith_worker(ctl: &Ctl, id: usize, cpu: Option<usize>) -> Result<(), String> {
    if id >= 3 {
        return Err(format!("goldsmith: no process {id}"));
    }
    if let Some(c) = cpu {
        pin(c)?;
    }
    let region = open_region(ctl)?;
    let fes: Vec<AltingBarrier> = OFFERS[id]
        .iter()
        .map(|&(b, i)| {
            region.alting_attach(BARRIERS[b], i).map_err(|e| format!("alting_attach({}, {i}): {e}", BARRIERS[b]))
        })
        .collect::<Result<_, _>>()?;
    let mut alt = region.alternative().map_err(|e| format!("alternative: {e}"))?;
    for f in &fes {
        alt.add_alting(f).map_err(|e| format!("add_alting: {e}"))?;
    }
    let counts = [count(ctl, id, 0), count(ctl, id, 1)];
    let stop = stop(ctl);
    let mut local = [0u64; 2];
    ready(ctl).fetch_add(1, Ordering::AcqRel);
    while stop.load(Ordering::Relaxed) == 0 {
        match alt.select(Select::Fair, Some(SELECT_TIMEOUT)) {
            Ok(g) if g < 2 => {
                local[g] += 1;
                counts[g].store(local[g], Ordering::Relaxed);
            }
            Ok(g) => return Err(format!("select returned guard {g} of 2")),
            Err(muster::Error::Timeout) => {}
            Err(e) => return Err(format!("select: {e}")),
        }
    }
    // Nobody can complete one of our barriers without us: the counters are final.
    for (g, f) in fes.iter().enumerate() {
        let c = f.completions().map_err(|e| format!("completions: {e}"))?;
        if c != local[g] {
            return Err(format!(
                "barrier {}: {} completions, but this process's selects returned it {} times",
                BARRIERS[OFFERS[id][g].0], c, local[g]
            ));
        }
    }
    Ok(())
}

/// One front-end of the sync measurement.
struct Sync(AltingBarrier);

impl EpisodeBarrier for Sync {
    fn wait(&self) {
        if let Err(e) = self.0.sync() {
            panic!("muster AltingBarrier::sync: {e}");
        }
    }
}

/// Alting sync worker `id`: front-end `id` of [`SYNC_BARRIER`], the common episode loop.
pub fn sync_worker(ctl: &Ctl, id: usize) -> Result<(), String> {
    let region = open_region(ctl)?;
    let b = region
        .alting_attach(SYNC_BARRIER, id as u32)
        .map_err(|e| format!("alting_attach({SYNC_BARRIER}, {id}): {e}"))?;
    run_episodes(ctl, id, &Sync(b), false);
    Ok(())
}

/// CPU time (ns) a process has used so far: `/proc/PID/schedstat` (ns), else `/proc/PID/stat`
/// (utime + stime in clock ticks). Our workers are single-threaded.
pub fn proc_cpu_ns(pid: u32) -> Option<u64> {
    if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/schedstat")) {
        if let Some(v) = s.split_whitespace().next().and_then(|v| v.parse().ok()) {
            return Some(v);
        }
    }
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (u, st): (u64, u64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some((u + st) * 1_000_000_000 / hz)
}

/// What the harness reads at the edge of a Goldsmith window.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub ticks: u64,
    /// `count[process][guard]`.
    pub counts: [[u64; 2]; 3],
    pub cpu_ns: [u64; 3],
}

impl Snapshot {
    pub fn take(ctl: &Ctl, pids: &[u32; 3]) -> Snapshot {
        let t = ticks();
        let mut counts = [[0; 2]; 3];
        for (p, c) in counts.iter_mut().enumerate() {
            for (g, v) in c.iter_mut().enumerate() {
                *v = count(ctl, p, g).load(Ordering::Relaxed);
            }
        }
        let mut cpu = [0; 3];
        for (c, &pid) in cpu.iter_mut().zip(pids) {
            *c = proc_cpu_ns(pid).unwrap_or(0);
        }
        Snapshot { ticks: t, counts, cpu_ns: cpu }
    }

    /// Events of each barrier: the mean of its two parties' counts.
    pub fn barrier_events(&self) -> [f64; 3] {
        let mut ev = [0.0; 3];
        for (p, offers) in OFFERS.iter().enumerate() {
            for (g, &(b, _)) in offers.iter().enumerate() {
                ev[b] += self.counts[p][g] as f64 / 2.0;
            }
        }
        ev
    }
}

/// One Goldsmith configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoldConfig {
    /// Three processes, no pinning.
    Free,
    /// All three processes pinned to CPU 0 (JCSP's 62,000 events/s setting).
    Pinned,
}

impl GoldConfig {
    pub const ALL: [GoldConfig; 2] = [GoldConfig::Free, GoldConfig::Pinned];

    pub fn name(self) -> &'static str {
        match self {
            GoldConfig::Free => "free",
            GoldConfig::Pinned => "pinned-cpu0",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GoldConfig::Free => "3 processes, not pinned",
            GoldConfig::Pinned => "3 processes, all pinned to CPU 0",
        }
    }

    pub fn jcsp(self) -> f64 {
        match self {
            GoldConfig::Free => JCSP_GOLDSMITH,
            GoldConfig::Pinned => JCSP_GOLDSMITH_PINNED,
        }
    }
}

/// Goldsmith's numbers for one configuration.
#[derive(Clone, Debug)]
pub struct Goldsmith {
    /// Events/s of each repetition window.
    pub rep_events_per_s: Vec<f64>,
    /// Median over repetitions.
    pub events_per_s: f64,
    /// Share of a, b, c in all events of the measured windows.
    pub shares: [f64; 3],
    /// CPU time of all three processes per event (µs), median over repetitions.
    pub cpu_us_per_event: f64,
    /// CPU of all three processes ÷ wall time (cores busy), median over repetitions.
    pub cores_busy: f64,
    /// Events in all measured windows together, and their length (s).
    pub events: f64,
    pub window_s: f64,
}

impl Goldsmith {
    /// The smallest of the three barriers' shares of the events.
    pub fn min_share(&self) -> f64 {
        self.shares.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// Whether it meets the target: enough events/s, and every barrier its share.
    pub fn meets_target(&self) -> bool {
        self.events_per_s >= TARGET_EVENTS_PER_S && self.min_share() >= TARGET_MIN_SHARE
    }

    /// From consecutive snapshots (warm-up end, then the end of each repetition window).
    pub fn from_snapshots(snaps: &[Snapshot], ns_per_tick: f64) -> Result<Goldsmith, String> {
        if snaps.len() < 2 {
            return Err("no measured window".into());
        }
        let (mut rate, mut cpu, mut busy) = (vec![], vec![], vec![]);
        for w in snaps.windows(2) {
            let (a, b) = (w[0].barrier_events(), w[1].barrier_events());
            let ev: f64 = (0..3).map(|i| b[i] - a[i]).sum();
            let dt_ns = (w[1].ticks - w[0].ticks) as f64 * ns_per_tick;
            let dcpu: f64 = (0..3).map(|p| w[1].cpu_ns[p].saturating_sub(w[0].cpu_ns[p]) as f64).sum();
            if ev <= 0.0 || dt_ns <= 0.0 {
                return Err(format!("a {:.0} ms window saw no events", dt_ns / 1e6));
            }
            rate.push(ev / (dt_ns / 1e9));
            cpu.push(dcpu / ev / 1e3);
            busy.push(dcpu / dt_ns);
        }
        let (first, last) = (snaps[0].barrier_events(), snaps[snaps.len() - 1].barrier_events());
        let per: Vec<f64> = (0..3).map(|i| last[i] - first[i]).collect();
        let events: f64 = per.iter().sum();
        let window_s = (snaps[snaps.len() - 1].ticks - snaps[0].ticks) as f64 * ns_per_tick / 1e9;
        Ok(Goldsmith {
            events_per_s: median(&rate),
            rep_events_per_s: rate,
            shares: [per[0] / events, per[1] / events, per[2] / events],
            cpu_us_per_event: median(&cpu),
            cores_busy: median(&busy),
            events,
            window_s,
        })
    }
}

/// One row of the sync comparison.
pub struct SyncRow {
    pub n: usize,
    pub alting: Outcome,
    /// Muster's plain (counted) barrier at the same N.
    pub plain: Outcome,
    /// Whether `plain` is the plain-scenario `muster` row of the main sweep (else measured here).
    pub plain_from_sweep: bool,
}

/// Everything the alting section measured.
pub struct AltingReport {
    /// (hogs beside, configuration, result), in the order run.
    pub goldsmith: Vec<(usize, GoldConfig, Result<Goldsmith, String>)>,
    pub sync: Vec<SyncRow>,
    /// Length of one Goldsmith repetition window.
    pub window_ms: u64,
    pub elapsed_s: f64,
}

/// Why there are no alting numbers (the section was switched off).
pub fn status_skipped() -> String {
    "not measured in this run (--no-alting)".into()
}

/// Busy-waits (with short sleeps) until `f` holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    while !f() {
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}
