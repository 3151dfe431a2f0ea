//! Muster under test: the region barrier across processes, the heap barrier across threads, and
//! the idle-waiter CPU measurement.

use crate::clock::cpu_ns;
use crate::ctl::{Ctl, RepResult};
use crate::worker::EpisodeBarrier;
use muster::{Barrier, HeapBarrier, Region, RegionConfig};
use std::time::{Duration, Instant};

/// The barrier every process-based Muster configuration uses.
pub const BARRIER: &str = "phase";
/// The barrier of the idle-waiter measurement (2 parties; only one ever arrives).
pub const IDLE_BARRIER: &str = "idle";
/// How long the idle waiter waits.
pub const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The harness's handle on a per-configuration region; unlinks the name when dropped (also on
/// error paths), after which attached workers keep working on their mappings.
pub struct RegionGuard {
    name: String,
    _region: Region,
}

impl RegionGuard {
    /// Creates region `name` with the counted barrier [`BARRIER`] of `parties` parties.
    pub fn create(name: &str, parties: u32) -> Result<RegionGuard, String> {
        let _ = Region::unlink(name);
        let region = Region::create(name, &RegionConfig::default()).map_err(|e| format!("Region::create: {e}"))?;
        let guard = RegionGuard { name: name.to_string(), _region: region };
        guard._region.barrier(BARRIER, parties).map_err(|e| format!("Region::barrier: {e}"))?;
        guard._region.barrier(IDLE_BARRIER, 2).map_err(|e| format!("Region::barrier: {e}"))?;
        Ok(guard)
    }
}

impl Drop for RegionGuard {
    fn drop(&mut self) {
        let _ = Region::unlink(&self.name);
    }
}

/// A worker process's handle: the region (kept open) and its barrier.
pub struct ProcessBarrier {
    _region: Region,
    barrier: Barrier,
}

impl ProcessBarrier {
    /// Opens the region named in the control file and its [`BARRIER`].
    pub fn open(ctl: &Ctl) -> Result<ProcessBarrier, String> {
        let name = ctl.stored_name();
        let region = Region::open(&name).map_err(|e| format!("Region::open({name}): {e}"))?;
        let barrier =
            region.barrier(BARRIER, ctl.header().parties).map_err(|e| format!("Region::barrier({BARRIER}): {e}"))?;
        Ok(ProcessBarrier { _region: region, barrier })
    }
}

impl EpisodeBarrier for ProcessBarrier {
    fn wait(&self) {
        if let Err(e) = self.barrier.wait() {
            panic!("muster Barrier::wait: {e}");
        }
    }
}

/// Muster's in-process barrier for `n` threads.
pub struct Heap(HeapBarrier);

pub fn heap_barrier(n: usize) -> Heap {
    Heap(HeapBarrier::new(n as u32).expect("HeapBarrier::new"))
}

impl EpisodeBarrier for Heap {
    fn wait(&self) {
        if let Err(e) = self.0.wait() {
            panic!("muster HeapBarrier::wait: {e}");
        }
    }
}

/// One process waits [`IDLE_WAIT`] on a 2-party barrier nobody else reaches; records the wall time
/// it waited (t0..t1 in ticks) and the CPU time it used, as repetition 0 of worker 0.
pub fn idle_waiter(ctl: &Ctl) -> Result<(), String> {
    let name = ctl.stored_name();
    let region = Region::open(&name).map_err(|e| format!("Region::open({name}): {e}"))?;
    let b = region.barrier(IDLE_BARRIER, 2).map_err(|e| format!("Region::barrier: {e}"))?;
    let cpu0 = cpu_ns(false);
    let (t0, start) = (crate::clock::ticks(), Instant::now());
    let r = b.wait_timeout(IDLE_WAIT);
    let (t1, waited) = (crate::clock::ticks(), start.elapsed());
    let cpu = cpu_ns(false) - cpu0;
    match r {
        Err(muster::Error::Timeout) => {}
        Ok(w) => return Err(format!("idle wait completed after {waited:?} although nobody else arrived: {w:?}")),
        Err(e) => return Err(format!("idle wait: {e}")),
    }
    if waited < IDLE_WAIT {
        return Err(format!("idle wait returned early after {waited:?}"));
    }
    ctl.set_result(0, 0, RepResult { episodes: 1, t0, t1, cpu_ns: cpu, lat_episodes: 0 });
    Ok(())
}
