//! Read-only inspection of regions: what `muster ls`, `show` and `top` print, also usable from
//! Rust programs ([`Region::inspect`], [`list`]).
//!
//! Inspecting does **not join** the region: the file is opened `O_RDONLY` and mapped `PROT_READ`
//! ([`Mapping::new_read_only`]), no process-table slot and no liveness token are taken, and
//! nothing is written (every access below is a load; a store would fault on the read-only
//! mapping). Liveness comes from the region's lock sidecar with `F_OFD_GETLK`, which works on a
//! read-only descriptor and cannot be fooled by pid reuse. Without a sidecar (someone removed
//! it) liveness falls back to "does the recorded pid exist" and says so ([`Liveness::PidsOnly`]).
//!
//! The header is checked by the same validation as [`Region::open`] (without waiting for a
//! header that is not ready); every
//! table read afterwards goes through the bounds-checked [`Mapping::get`] and loops are capped by
//! the validated capacities, so a corrupt, truncated, foreign or newer-version file yields an
//! [`Error`], never a panic. A snapshot is not atomic: each value is one that was in the region
//! while we read, and values change under us while processes run.
//!
//! ```no_run
//! use muster_shm::{inspect, Region};
//! # fn main() -> muster_shm::Result<()> {
//! let snap = Region::inspect("my-app")?;
//! for b in &snap.barriers {
//!     let dead: Vec<u32> = b.members.iter().filter(|m| !m.alive).map(|m| m.pid).collect();
//!     println!("{}: {} of {} waiting, {} episodes, dead parties {dead:?}", b.name, b.arrived, b.parties, b.episodes);
//! }
//! for l in inspect::list()? {
//!     println!("{} stale={:?}", l.name, l.stale);
//! }
//! # Ok(()) }
//! ```
//!
//! Cost: reading touches the pages of the process table, the name table and the used barriers'
//! rows, which tmpfs then allocates if they were never written (128 KiB + 32 KiB for the
//! default capacities).

use crate::error::{Error, Result};
use crate::layout::{Capacities, Header, Layout, NameEntry, ProcSlot, HEADER_SIZE, MAGIC};
use crate::mapping::{self, Mapping};
use crate::process::{self, ALIVE, CLEANING};
use crate::region::{validate_within, Region};
use crate::registry::{self, ALTING, CHANNEL, KIND_TAG, LIVE, MEMBERSHIP};
use crate::{liveness, name};
use muster_core::alting::inspect::FrontEndStatus;
use muster_core::alting::AltTables;
use muster_core::barrier::{counter_count, BarrierCell};
use muster_core::sync::{AtomicU32, Ordering};
use std::fs::File;
use std::io::Read;

pub use muster_core::barrier::BreakReason;

/// How process liveness was determined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// From the lock sidecar's OFD tokens (exact).
    Tokens,
    /// The sidecar is missing: from `kill(pid, 0)` (a reused pid reads as alive).
    PidsOnly,
}

/// One used process-table slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Slot index in the process table.
    pub slot: u32,
    /// Pid recorded by the process (in its pid namespace).
    pub pid: u32,
    /// Whether the process is alive (its liveness token is held).
    pub alive: bool,
    /// The slot is being cleaned up after a dead owner.
    pub cleaning: bool,
}

/// Kind of a plain barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarrierKind {
    /// A fixed number of parties (`Region::barrier(name, n)` with `n > 0`).
    Counted,
    /// Parties are the enrolled members (`Region::join`).
    Membership,
}

/// One party process of a barrier: it holds enrolled member handles (membership barriers) or
/// has arrived through a handle it still has open (counted barriers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// Process-table slot.
    pub slot: u32,
    /// Its pid (0 if the slot is free by now).
    pub pid: u32,
    /// Member handles (membership) or arriving handles (counted) this process holds.
    pub count: u32,
    /// Whether that process is alive.
    pub alive: bool,
}

/// One plain barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarrierInfo {
    /// Its name.
    pub name: String,
    /// Its index in the name table.
    pub index: u32,
    /// Counted or membership.
    pub kind: BarrierKind,
    /// Parties the current generation waits for.
    pub parties: u32,
    /// Arrivals in the current generation (they are waiting).
    pub arrived: u32,
    /// Current generation (wraps at 2^32).
    pub generation: u32,
    /// Released generations so far (episodes completed; resets and breaks not counted).
    pub episodes: u64,
    /// Waiters asleep in the kernel right now (the waiting policy's own count: a waiter that is
    /// not in it spins or yields, i.e. uses a CPU; kept only while load sensing is on).
    pub asleep: u32,
    /// Whether the current generation is broken.
    pub broken: bool,
    /// Why, if broken and the reason was published.
    pub broken_reason: Option<BreakReason>,
    /// Party processes of this barrier.
    pub members: Vec<MemberInfo>,
}

/// One front-end of an alting barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrontEndInfo {
    /// Front-end index (`0..`), as given to `alting_attach`.
    pub index: u32,
    /// Enrolled (a party) or resigned.
    pub enrolled: bool,
    /// Pid of the owning thread's process, if owned.
    pub owner_pid: Option<u32>,
    /// Whether the owner's process is alive (false if unowned).
    pub owner_alive: bool,
}

/// One alting barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltingInfo {
    /// Its name.
    pub name: String,
    /// Enrolled front-ends.
    pub enrolled: u32,
    /// Completed events.
    pub completions: u64,
    /// Used front-ends.
    pub frontends: Vec<FrontEndInfo>,
}

/// One channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Its name.
    pub name: String,
    /// Capacity (values).
    pub capacity: u32,
    /// Values in it now.
    pub len: u32,
    /// Overwrites its oldest value when full.
    pub overwrite: bool,
    /// Bound to one writer.
    pub one_to_one: bool,
}

/// Everything `muster show` prints about a region, read without joining it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Region name.
    pub name: String,
    /// File size in bytes.
    pub size: u64,
    /// Layout version of the file.
    pub layout_version: u32,
    /// `major << 16 | minor << 8 | patch` of the library that created it.
    pub lib_version: u32,
    /// Pid of the creator.
    pub creator_pid: u32,
    /// The region's capacities.
    pub capacities: Capacities,
    /// Name-table entries in use (plain barriers, alting barriers and channels share the table,
    /// whose size is `capacities.max_barriers`).
    pub names_used: u32,
    /// How liveness was determined.
    pub liveness: Liveness,
    /// Whether any live process holds a token (also counts one that is attaching right now).
    pub any_alive: bool,
    /// Used process-table slots.
    pub processes: Vec<ProcessInfo>,
    /// Plain barriers.
    pub barriers: Vec<BarrierInfo>,
    /// Alting barriers.
    pub alting: Vec<AltingInfo>,
    /// Channels.
    pub channels: Vec<ChannelInfo>,
}

impl Snapshot {
    /// No live process uses the region.
    pub fn stale(&self) -> bool {
        !self.any_alive
    }

    /// Pids of the live processes.
    pub fn live_pids(&self) -> Vec<u32> {
        self.processes.iter().filter(|p| p.alive).map(|p| p.pid).collect()
    }
}

impl Region {
    /// Reads a snapshot of region `name` without joining it (see [`crate::inspect`]).
    pub fn inspect(name: &str) -> Result<Snapshot> {
        inspect(name)
    }
}

/// A region file found by [`list`].
#[derive(Debug)]
pub struct Listing {
    /// Region name.
    pub name: String,
    /// Its snapshot, or why it could not be read ([`Error::Permission`]: another user's region).
    pub snapshot: Result<Snapshot>,
    /// Whether no live process uses it, from the sidecar's tokens; known also for files whose
    /// content cannot be read (another layout version, corrupt), `None` if the sidecar cannot be
    /// probed.
    pub stale: Option<bool>,
}

/// Staleness from the sidecar alone (no need to understand the region file).
fn stale_by_sidecar(name: &str) -> Option<bool> {
    match open_sidecar(name) {
        Ok(Some(f)) => liveness::any_held(&f).ok().map(|held| !held),
        _ => None,
    }
}

/// Every Muster region in `/dev/shm`, sorted by name. A file counts as a Muster region if it
/// starts with the Muster magic, or if it cannot be read but has a Muster lock sidecar (then its
/// listing is [`Error::Permission`]). Other files are skipped.
pub fn list() -> Result<Vec<Listing>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(mapping::SHM_DIR).map_err(Error::Io)? {
        let Ok(entry) = entry else { continue };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if name::check_region_name(&name).is_err() {
            continue;
        }
        match probe_magic(&name) {
            Ok(true) => {
                let snapshot = inspect(&name);
                let stale = match &snapshot {
                    Ok(s) => Some(s.stale()),
                    Err(_) => stale_by_sidecar(&name),
                };
                out.push(Listing { snapshot, name, stale })
            }
            Ok(false) => {}
            Err(Error::Permission) if mapping::lock_path(&name).symlink_metadata().is_ok() => {
                out.push(Listing { name, snapshot: Err(Error::Permission), stale: None })
            }
            Err(_) => {}
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Whether the regular file `name` starts with the Muster magic.
fn probe_magic(name: &str) -> Result<bool> {
    let mut f = mapping::open_file(&mapping::region_path(name), libc::O_RDONLY, 0).map_err(Error::from_open)?;
    if !mapping::file_info(&f)?.regular {
        return Ok(false);
    }
    let mut magic = [0u8; 8];
    Ok(f.read_exact(&mut magic).is_ok() && u64::from_le_bytes(magic) == MAGIC)
}

/// Opens a sidecar read-only for `F_OFD_GETLK` probes; `None` if it does not exist.
pub(crate) fn open_sidecar(name: &str) -> Result<Option<File>> {
    match mapping::open_file(&mapping::lock_path(name), libc::O_RDONLY, 0) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(Error::from_open(e)),
    }
}

/// Reads a snapshot of region `name` without joining it.
pub fn inspect(name: &str) -> Result<Snapshot> {
    name::check_region_name(name)?;
    let file = mapping::open_file(&mapping::region_path(name), libc::O_RDONLY, 0).map_err(Error::from_open)?;
    let info = mapping::file_info(&file)?;
    if !info.regular {
        return Err(Error::Corrupt("region path is not a regular file".into()));
    }
    if info.size < HEADER_SIZE {
        return Err(Error::Corrupt(format!("region file is truncated ({} bytes)", info.size)));
    }
    let map = Mapping::new_read_only(file, info.size)?;
    let layout = validate_within(&map, info.size, std::time::Duration::ZERO)?;
    let sidecar = open_sidecar(name)?;
    let view = View { map: &map, layout, sidecar: sidecar.as_ref() };
    view.snapshot(name, info.size)
}

/// A validated read-only mapping and the sidecar to probe liveness with.
struct View<'a> {
    map: &'a Mapping,
    layout: Layout,
    sidecar: Option<&'a File>,
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("{what} out of bounds"))
}

impl View<'_> {
    fn snapshot(&self, name: &str, size: u64) -> Result<Snapshot> {
        let h: &Header = self.map.get(0).ok_or_else(|| corrupt("header"))?;
        let caps = self.layout.caps;
        let processes = self.processes()?;
        let any_alive = match self.sidecar {
            // A probe that fails (it should not) counts as alive: never call a live region stale.
            Some(f) => liveness::any_held(f).unwrap_or(true),
            None => processes.iter().any(|p| p.alive),
        };
        let mut snap = Snapshot {
            name: name.to_owned(),
            size,
            layout_version: h.layout_version.load(Ordering::Acquire),
            lib_version: h.lib_version.load(Ordering::Acquire),
            creator_pid: h.creator_pid.load(Ordering::Acquire),
            capacities: caps,
            names_used: 0,
            liveness: if self.sidecar.is_some() { Liveness::Tokens } else { Liveness::PidsOnly },
            any_alive,
            processes,
            barriers: Vec::new(),
            alting: Vec::new(),
            channels: Vec::new(),
        };
        let alt = self.alt_tables()?;
        for i in 0..caps.max_barriers {
            let e: &NameEntry = self.map.get(self.layout.name(i)).ok_or_else(|| corrupt("name table"))?;
            let st = e.state.load(Ordering::Acquire) & 0xff;
            if st != 0 {
                snap.names_used += 1;
            }
            if st != LIVE {
                continue;
            }
            let Some((buf, len)) = registry::read_name(e) else { continue };
            let obj = String::from_utf8_lossy(&buf[..len]).into_owned();
            let (kind, extra) = (e.kind.load(Ordering::Relaxed), e.extra.load(Ordering::Relaxed));
            match kind & KIND_TAG {
                ALTING => {
                    if let Some(a) = self.alting(&alt, &snap.processes, obj, kind & !KIND_TAG, extra)? {
                        snap.alting.push(a);
                    }
                }
                CHANNEL => {
                    let v = alt.view_channel(kind & !KIND_TAG, extra).map_err(map_alt)?;
                    if let Some(v) = v {
                        snap.channels.push(ChannelInfo {
                            name: obj,
                            capacity: v.capacity,
                            len: v.len,
                            overwrite: v.overwrite,
                            one_to_one: v.one_to_one,
                        });
                    }
                }
                _ => snap.barriers.push(self.barrier(&snap.processes, obj, i, kind)?),
            }
        }
        Ok(snap)
    }

    fn alive(&self, slot: u32, pid: u32) -> bool {
        match self.sidecar {
            Some(f) => liveness::is_held(f, slot).unwrap_or(true),
            None => liveness::pid_exists(pid),
        }
    }

    fn processes(&self) -> Result<Vec<ProcessInfo>> {
        let mut out = Vec::new();
        for p in 0..self.layout.caps.max_processes {
            let slot: &ProcSlot = self.map.get(self.layout.proc(p)).ok_or_else(|| corrupt("process table"))?;
            let s = slot.state.load(Ordering::Acquire);
            let tag = process::tag(s);
            if tag != ALIVE && tag != CLEANING {
                continue;
            }
            let pid = slot.pid.load(Ordering::Relaxed);
            out.push(ProcessInfo { slot: p, pid, alive: self.alive(p, pid), cleaning: tag == CLEANING });
        }
        Ok(out)
    }

    fn barrier(&self, procs: &[ProcessInfo], name: String, i: u32, kind: u32) -> Result<BarrierInfo> {
        let cell: &BarrierCell = self.map.get(self.layout.cell(i)).ok_or_else(|| corrupt("barrier table"))?;
        // `state`, `break_reason` and `episodes` are plain loads: safe on the read-only mapping.
        let s = cell.state();
        let broken_reason = s.broken.then(|| cell.break_reason());
        let mut members = Vec::new();
        for p in 0..self.layout.caps.max_processes {
            let c: &AtomicU32 = self.map.get(self.layout.member(i, p)).ok_or_else(|| corrupt("member table"))?;
            // Counted barriers record the processes that arrived, membership barriers their
            // enrolled handles, in the same table (`muster_core::barrier::membership`).
            let count = counter_count(c.load(Ordering::Acquire));
            if count == 0 {
                continue;
            }
            let (pid, alive) = procs.iter().find(|q| q.slot == p).map_or((0, false), |q| (q.pid, q.alive));
            members.push(MemberInfo { slot: p, pid, count, alive });
        }
        Ok(BarrierInfo {
            name,
            index: i,
            kind: if kind == MEMBERSHIP { BarrierKind::Membership } else { BarrierKind::Counted },
            parties: s.parties,
            arrived: s.arrived,
            generation: s.generation,
            episodes: cell.episodes(),
            asleep: cell.asleep(),
            broken: s.broken,
            broken_reason,
            members,
        })
    }

    fn alt_tables(&self) -> Result<AltTables<'_>> {
        let l = &self.layout.alt;
        let base = self.layout.alt_off;
        let bad = || corrupt("alting tables");
        AltTables::new(
            l.caps,
            self.map.slice(base + l.agents.0 as u64, l.agents.1).ok_or_else(bad)?,
            self.map.slice(base + l.parties.0 as u64, l.parties.1).ok_or_else(bad)?,
            self.map.slice(base + l.barriers.0 as u64, l.barriers.1).ok_or_else(bad)?,
            self.map.slice(base + l.frontends.0 as u64, l.frontends.1).ok_or_else(bad)?,
            self.map.slice(base + l.channels.0 as u64, l.channels.1).ok_or_else(bad)?,
            self.map.slice(base + l.slots.0 as u64, l.slots.1).ok_or_else(bad)?,
        )
        .map_err(map_alt)
    }

    fn alting(
        &self,
        alt: &AltTables<'_>,
        procs: &[ProcessInfo],
        name: String,
        index: u32,
        gen: u32,
    ) -> Result<Option<AltingInfo>> {
        let Some(v) = alt.view_barrier(index, gen).map_err(map_alt)? else { return Ok(None) };
        let frontends = v
            .frontends
            .iter()
            .map(|f| {
                // Owner token = process slot << 32 | slot generation (see `alting.rs`).
                let owner = f.owner_agent.and_then(|a| alt.view_agent_token(a)).map(|t| (t >> 32) as u32);
                let proc = owner.and_then(|slot| procs.iter().find(|q| q.slot == slot));
                FrontEndInfo {
                    index: f.slot,
                    enrolled: f.status == FrontEndStatus::Enrolled,
                    owner_pid: proc.map(|q| q.pid),
                    owner_alive: proc.is_some_and(|q| q.alive),
                }
            })
            .collect();
        Ok(Some(AltingInfo { name, enrolled: v.enrolled, completions: v.completions, frontends }))
    }
}

fn map_alt(_: muster_core::alting::AltError) -> Error {
    Error::Corrupt("alting table word does not decode".into())
}
