//! [`Region`]: a named shared-memory region holding barriers, and its lifecycle.
//!
//! * **Create** writes the whole region into a private temporary file
//!   (`/dev/shm/.<name>.<pid>.<n>.tmp`, `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600 or as configured) and
//!   publishes it with `link(2)`, which fails with `EEXIST` if the name is taken. A region is
//!   therefore never visible half-initialised, and two racing creators cannot both succeed. The
//!   creator holds a lock on its sidecar from before the link until it is attached, so a fresh
//!   region is never taken for stale by `muster clean` (see `clean.rs`). A creator killed before
//!   publishing leaves only its temporary file, which the next `create` of that name removes.
//! * **Open** maps the file and validates the header (magic, layout version, layout hash, sizes,
//!   capacities) before touching anything else. Files written by a foreign creator that publish
//!   before initialising are waited for (bounded) while their header says "not ready".
//! * **Attach**: every `Region` value (open or create) registers in the process table with a
//!   liveness token (see `process.rs`); dropping the last clone detaches.

use crate::cluster_config::ClusterConfig;
use crate::error::{Error, Result};
use crate::futex::SharedParker;
use crate::layout::{self, Capacities, Header, Layout, NameEntry, ProcSlot, HEADER_SIZE, LAYOUT_VERSION, MAGIC};
use crate::liveness::Token;
use crate::mapping::{self, Mapping};
use crate::name;
use crate::process::{self, ALIVE, CLEANING, FREE};
use muster_core::alting::AltCapacities;
use muster_core::barrier::BarrierCell;
use muster_core::sync::{AtomicU32, Ordering};
use std::fs::File;
use std::sync::atomic::AtomicU64 as StdAtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long `open` waits for a region whose creator has not finished initialising it.
const READY_WAIT: Duration = Duration::from_secs(2);

/// Capacities and permissions of a new region, and the cluster it spans (if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionConfig {
    /// Most barriers the region can hold (default 1024).
    pub max_barriers: u32,
    /// Most processes (region handles) attached at once (default 256).
    pub max_processes: u32,
    /// File mode of the region and its sidecar (default `0o600`).
    pub mode: u32,
    /// Most threads that use alting barriers, channels or Alternatives at once (default 256).
    pub max_agents: u32,
    /// Most alting barriers (default 256).
    pub max_alting_barriers: u32,
    /// Most front-ends (parties, counting `expand`ed ones) per alting barrier (default 32, at
    /// most 64).
    pub max_frontends_per_barrier: u32,
    /// Most channels (default 256).
    pub max_channels: u32,
    /// Largest channel capacity (default 64).
    pub max_channel_capacity: u32,
    /// The etcd cluster this region's barriers span (default `None`: this host only). Carried
    /// by the handle ([`Region::cluster_config`]) for `muster-cluster`, which acts on it; this
    /// crate's own barriers stay on this host. Not stored in the region file: each process
    /// says which cluster it meets through (the environment may override it, see
    /// [`ClusterConfig::with_env`]).
    pub cluster: Option<ClusterConfig>,
}

impl Default for RegionConfig {
    fn default() -> Self {
        RegionConfig {
            max_barriers: 1024,
            max_processes: 256,
            mode: 0o600,
            max_agents: 256,
            max_alting_barriers: 256,
            max_frontends_per_barrier: 32,
            max_channels: 256,
            max_channel_capacity: 64,
            cluster: None,
        }
    }
}

impl RegionConfig {
    /// The capacities this configuration asks for.
    pub fn capacities(&self) -> Capacities {
        Capacities {
            max_barriers: self.max_barriers,
            max_processes: self.max_processes,
            alt: AltCapacities {
                agents: self.max_agents,
                barriers: self.max_alting_barriers,
                frontends_per_barrier: self.max_frontends_per_barrier,
                channels: self.max_channels,
                slots_per_channel: self.max_channel_capacity,
            },
        }
    }
}

/// A named shared-memory region. Cheap to clone (all clones share one mapping and one
/// process-table slot); `Send + Sync`.
#[derive(Clone)]
pub struct Region {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) name: String,
    pub(crate) map: Mapping,
    pub(crate) layout: Layout,
    /// Our process-table slot and its liveness token.
    pub(crate) slot: u32,
    /// Generation of our process-table slot (with `slot`, the owner token of our alting agents).
    pub(crate) slot_gen: AtomicU32,
    _token: Token,
    /// Any descriptor of the sidecar, used for `F_OFD_GETLK` probes.
    pub(crate) probe: File,
    pub(crate) parker: SharedParker,
    /// This process's alting agents in this region, one per thread (see `alting.rs`).
    pub(crate) agents: crate::alting::AgentRegistry,
    /// The cluster configuration this handle was opened with (`RegionConfig::cluster`).
    cluster: OnceLock<ClusterConfig>,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region").field("name", &self.inner.name).field("slot", &self.inner.slot).finish()
    }
}

/// Removes temporary files of `name` left by creators that died before publishing
/// (`.<name>.<pid>.<n>.tmp`): the pid no longer exists *and* nobody holds the file's OFD lock,
/// which a creator takes right after creating it and keeps until it has published (so a creator
/// in another pid namespace is not mistaken for a dead one). A recycled pid only delays the
/// removal to a later create.
fn remove_dead_creators_tmp(name: &str) {
    let prefix = format!(".{name}.");
    let Ok(dir) = std::fs::read_dir(mapping::SHM_DIR) else { return };
    for e in dir.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|mid| mid.split_once('.'))
            .filter(|(_, n)| n.parse::<u64>().is_ok())
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if pid <= 0 || mapping::pid_exists(pid) {
            continue;
        }
        let Ok(f) = mapping::open_file(&e.path(), libc::O_RDWR, 0) else { continue };
        if Token::try_lock(&f, 0).unwrap_or(false) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn tmp_name(name: &str) -> String {
    static COUNTER: StdAtomicU64 = StdAtomicU64::new(0);
    format!(".{name}.{}.{}.tmp", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

impl Region {
    /// [`Error::Misuse`] in a forked child that inherited this handle (see
    /// `Inner::refuse_forked`).
    pub(crate) fn refuse_forked(&self) -> Result<()> {
        self.inner.refuse_forked()
    }

    /// Creates a region; fails with [`Error::Exists`] if the name is taken.
    pub fn create(name: &str, config: &RegionConfig) -> Result<Region> {
        Region::create_file(name, config).map(|r| r.with_cluster(config))
    }

    /// Records `config.cluster` on this (fresh) handle.
    fn with_cluster(self, config: &RegionConfig) -> Region {
        if let Some(c) = &config.cluster {
            let _ = self.inner.cluster.set(c.clone());
        }
        self
    }

    /// The cluster configuration this handle was opened with ([`RegionConfig::cluster`] of
    /// [`create`](Self::create) or [`open_or_create`](Self::open_or_create); `None` after
    /// [`open`](Self::open) or without one). The environment is not applied here: see
    /// [`ClusterConfig::effective`].
    pub fn cluster_config(&self) -> Option<&ClusterConfig> {
        self.inner.cluster.get()
    }

    fn create_file(name: &str, config: &RegionConfig) -> Result<Region> {
        name::check_region_name(name)?;
        if let Some(c) = &config.cluster {
            c.validate()?;
        }
        if config.mode & !0o777 != 0 || config.mode & 0o600 != 0o600 {
            return Err(Error::InvalidArgument("mode must be a permission mode including 0o600"));
        }
        let layout = Layout::new(config.capacities())?;
        remove_dead_creators_tmp(name);
        let tmp = std::path::PathBuf::from(mapping::SHM_DIR).join(tmp_name(name));
        let file =
            mapping::open_file(&tmp, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600).map_err(Error::from_open)?;
        let cleanup = |e: Error| {
            let _ = std::fs::remove_file(&tmp);
            e
        };
        // "Creator alive" for `remove_dead_creators_tmp`: the OFD lock lives as long as this dup.
        let tmp_lock = file.try_clone().map_err(|e| cleanup(Error::Io(e)))?;
        if !Token::try_lock(&tmp_lock, 0).map_err(|e| cleanup(Error::Io(e)))? {
            return Err(cleanup(Error::Exists));
        }
        file.set_len(layout.total).map_err(|e| cleanup(Error::from_open(e)))?;
        mapping::chmod(&file, config.mode).map_err(|e| cleanup(Error::Io(e)))?;
        let map = Mapping::new(file, layout.total).map_err(cleanup)?;
        init_header(&map, &layout).map_err(cleanup)?;
        drop(map);
        // The sidecar must exist before the region is visible, and stays locked until we are
        // attached: a fresh region has no process yet, and removers must not take it for stale.
        let creating = hold_sidecar(name, config.mode).map_err(cleanup)?;
        let linked = mapping::link_file(&tmp, &mapping::region_path(name));
        let _ = std::fs::remove_file(&tmp);
        drop(tmp_lock);
        linked.map_err(Error::from_open)?;
        let region = Region::open(name);
        drop(creating);
        region
    }

    /// Opens an existing region.
    pub fn open(name: &str) -> Result<Region> {
        name::check_region_name(name)?;
        let start = Instant::now();
        loop {
            if let Some(r) = Region::open_once(name)? {
                return Ok(r);
            }
            if start.elapsed() > READY_WAIT {
                return Err(Error::Corrupt("region was being removed or replaced the whole time we opened it".into()));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// One attempt of [`Region::open`]; `Ok(None)` if the region or its sidecar was removed or
    /// replaced meanwhile (checked once our token is held: see [`still_named`]), or a remover
    /// held every token while we tried (it is deciding whether the region is stale).
    fn open_once(name: &str) -> Result<Option<Region>> {
        let file = mapping::open_file(&mapping::region_path(name), libc::O_RDWR, 0).map_err(Error::from_open)?;
        let info = mapping::file_info(&file)?;
        if !info.regular {
            return Err(Error::Corrupt("region path is not a regular file".into()));
        }
        if info.size < HEADER_SIZE {
            return Err(Error::Corrupt(format!("region file is truncated ({} bytes)", info.size)));
        }
        let map = Mapping::new(file, info.size)?;
        let layout = validate(&map, info.size)?;
        let probe = mapping::open_file(&mapping::lock_path(name), libc::O_RDWR | libc::O_CREAT, 0o600)
            .map_err(Error::from_open)?;
        let (slot, token, pending) = match attach(&map, &layout, name, &probe) {
            // A remover holds every token while it decides and unlinks (see `clean.rs`).
            Err(Error::Full(_)) if crate::liveness::remover_active(&probe) || !still_named(&map, &probe, name) => {
                return Ok(None)
            }
            r => r?,
        };
        let inner = Inner {
            name: name.to_owned(),
            map,
            layout,
            slot,
            slot_gen: AtomicU32::new(0),
            _token: token,
            probe,
            parker: SharedParker,
            agents: crate::alting::AgentRegistry::default(),
            cluster: OnceLock::new(),
        };
        if let Some(p) = inner.proc_slot(slot) {
            if let Some(gen) = pending {
                // Clean the previous (dead) owner's memberships before reusing the slot.
                p.cleaning.store(slot + 1, Ordering::Release);
                inner.clean_slot(slot);
                p.cleaning.store(0, Ordering::Release);
                p.pid.store(std::process::id(), Ordering::Relaxed);
                p.state.store(process::make(gen.wrapping_add(1), 0, ALIVE), Ordering::Release);
            } else {
                p.cleaning.store(0, Ordering::Release);
                p.pid.store(std::process::id(), Ordering::Relaxed);
            }
            inner.slot_gen.store(process::gen(p.state.load(Ordering::Acquire)), Ordering::Relaxed);
        }
        if !still_named(&inner.map, &inner.probe, name) {
            // Removed (or replaced) between our open of the file and our token: dropping `inner`
            // frees the slot of the orphaned file; the caller retries by name.
            return Ok(None);
        }
        inner.sweep();
        Ok(Some(Region { inner: Arc::new(inner) }))
    }

    /// Opens the region, creating it with `config` if it does not exist.
    pub fn open_or_create(name: &str, config: &RegionConfig) -> Result<Region> {
        if let Some(c) = &config.cluster {
            name::check_region_name(name)?;
            c.validate()?;
        }
        let r = match Region::open(name) {
            Err(Error::NotFound) => match Region::create_file(name, config) {
                Err(Error::Exists) => Region::open(name),
                r => r,
            },
            r => r,
        };
        r.map(|r| r.with_cluster(config))
    }

    /// Removes the region's name (and sidecar). Attached processes keep working on their mapping;
    /// a later `create` of the same name makes a new, separate region.
    pub fn unlink(name: &str) -> Result<()> {
        name::check_region_name(name)?;
        std::fs::remove_file(mapping::region_path(name)).map_err(Error::from_open)?;
        let _ = std::fs::remove_file(mapping::lock_path(name));
        Ok(())
    }

    /// The region's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The region's capacities.
    pub fn capacities(&self) -> (u32, u32) {
        (self.inner.layout.caps.max_barriers, self.inner.layout.caps.max_processes)
    }

    /// This handle's process-table slot (diagnostics).
    pub fn process_slot(&self) -> u32 {
        self.inner.slot
    }
}

/// Opens (creating if needed) the sidecar of `name` and takes its creation lock
/// ([`crate::liveness::CREATING_BYTE`]) on the file the path names, retrying while a remover
/// holds the whole file (it may be unlinking an orphaned sidecar) or another creator of the same
/// name holds the byte. The lock goes when the returned file is closed.
fn hold_sidecar(name: &str, mode: u32) -> Result<File> {
    let path = mapping::lock_path(name);
    let start = Instant::now();
    loop {
        let f = mapping::open_file(&path, libc::O_RDWR | libc::O_CREAT, mode).map_err(Error::from_open)?;
        mapping::chmod(&f, mode).map_err(Error::Io)?;
        if Token::try_lock(&f, crate::liveness::CREATING_BYTE).map_err(Error::Io)? && same_file(&f, &path) {
            return Ok(f);
        }
        if start.elapsed() > READY_WAIT {
            return Err(Error::Corrupt("region sidecar stays locked by another process".into()));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `path` names the file `f` is open on.
pub(crate) fn same_file(f: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), path.symlink_metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether the region and sidecar paths of `name` still name the files we mapped and probe.
///
/// Removal (`muster rm`/`clean`, see `clean.rs`) holds a write lock over the whole sidecar while
/// it unlinks the region and then the sidecar, so no token can be taken meanwhile. An opener
/// checks this *after* taking its token: either its token came first (the remover sees it and
/// leaves the region alone), or it came after the unlinks and this check fails, so nobody ends
/// up attached to a removed region.
fn still_named(map: &Mapping, probe: &File, name: &str) -> bool {
    same_file(map.file(), &mapping::region_path(name)) && same_file(probe, &mapping::lock_path(name))
}

fn init_header(map: &Mapping, layout: &Layout) -> Result<()> {
    let h: &Header = map.get(0).ok_or_else(|| Error::Corrupt("header does not fit".into()))?;
    h.layout_version.store(LAYOUT_VERSION, Ordering::Relaxed);
    h.lib_version.store(layout::lib_version(), Ordering::Relaxed);
    h.total_size.store(layout.total, Ordering::Relaxed);
    h.creator_pid.store(std::process::id(), Ordering::Relaxed);
    h.max_barriers.store(layout.caps.max_barriers, Ordering::Relaxed);
    h.max_processes.store(layout.caps.max_processes, Ordering::Relaxed);
    let a = &layout.caps.alt;
    for (cell, v) in
        h.alt_caps.iter().zip([a.agents, a.barriers, a.frontends_per_barrier, a.channels, a.slots_per_channel])
    {
        cell.store(v, Ordering::Relaxed);
    }
    h.layout_hash.store(layout::layout_hash(), Ordering::Relaxed);
    // Tables are all-zero (FREE) in a fresh file; nothing else to write.
    h.ready.store(1, Ordering::Release);
    h.magic.store(MAGIC, Ordering::Release);
    Ok(())
}

/// Validates the header of a mapped region file of `size` bytes and returns its layout.
pub(crate) fn validate(map: &Mapping, size: u64) -> Result<Layout> {
    validate_within(map, size, READY_WAIT)
}

/// [`validate`], waiting at most `ready_wait` for a header that is not ready yet (inspection
/// does not wait: it reports the file as not ready).
pub(crate) fn validate_within(map: &Mapping, size: u64, ready_wait: Duration) -> Result<Layout> {
    let h: &Header = map.get(0).ok_or_else(|| Error::Corrupt("header does not fit".into()))?;
    let start = Instant::now();
    loop {
        let magic = h.magic.load(Ordering::Acquire);
        if magic == MAGIC && h.ready.load(Ordering::Acquire) == 1 {
            break;
        }
        if magic != 0 && magic != MAGIC {
            return Err(Error::Corrupt("bad magic: not a Muster region".into()));
        }
        if start.elapsed() >= ready_wait {
            return Err(Error::Corrupt("region never became ready (creator died while initialising?)".into()));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let version = h.layout_version.load(Ordering::Acquire);
    if version != LAYOUT_VERSION {
        return Err(Error::Version { found: version, expected: LAYOUT_VERSION });
    }
    if h.layout_hash.load(Ordering::Acquire) != layout::layout_hash() {
        return Err(Error::Version { found: version, expected: LAYOUT_VERSION });
    }
    let alt = |i: usize| h.alt_caps[i].load(Ordering::Acquire);
    let caps = Capacities {
        max_barriers: h.max_barriers.load(Ordering::Acquire),
        max_processes: h.max_processes.load(Ordering::Acquire),
        alt: AltCapacities {
            agents: alt(0),
            barriers: alt(1),
            frontends_per_barrier: alt(2),
            channels: alt(3),
            slots_per_channel: alt(4),
        },
    };
    let layout = Layout::new(caps).map_err(|_| Error::Corrupt(format!("capacities out of range: {caps:?}")))?;
    let declared = h.total_size.load(Ordering::Acquire);
    if declared != layout.total {
        return Err(Error::Corrupt(format!("declared size {declared} does not match capacities ({})", layout.total)));
    }
    if size < layout.total {
        return Err(Error::Corrupt(format!("region file is truncated ({size} of {} bytes)", layout.total)));
    }
    Ok(layout)
}

/// Takes a process-table slot (see `process.rs`).
/// Returns the slot, its token, and (if the slot was taken over from a dead owner) the generation
/// whose memberships must be cleaned before the slot is marked ALIVE.
fn attach(map: &Mapping, layout: &Layout, name: &str, probe: &File) -> Result<(u32, Token, Option<u32>)> {
    let file =
        mapping::open_file(&mapping::lock_path(name), libc::O_RDWR | libc::O_CREAT, 0o600).map_err(Error::from_open)?;
    for i in 0..layout.caps.max_processes {
        let slot: &ProcSlot = map.get(layout.proc(i)).ok_or_else(|| Error::Corrupt("process table".into()))?;
        if !Token::try_lock(&file, i).map_err(Error::Io)? {
            continue;
        }
        // We hold token i: no live process owns slot i.
        let s = slot.state.load(Ordering::Acquire);
        let ours = match process::tag(s) {
            FREE => slot
                .state
                .compare_exchange(
                    s,
                    process::make(process::gen(s).wrapping_add(1), 0, ALIVE),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok(),
            ALIVE | CLEANING => {
                let c = process::cleaner(s);
                // A cleaner counts as alive only while its slot's process says it cleans slot i
                // (a reused slot of a dead cleaner holds a live token but cleans nothing).
                let cleaner_alive = process::tag(s) == CLEANING
                    && c != i
                    && crate::liveness::is_held(probe, c).unwrap_or(true)
                    && (c >= layout.caps.max_processes
                        || map
                            .get::<ProcSlot>(layout.proc(c))
                            .is_none_or(|cs| cs.cleaning.load(Ordering::Acquire) == i + 1));
                !cleaner_alive && {
                    let claimed = process::make(process::gen(s), i, CLEANING);
                    slot.state.compare_exchange(s, claimed, Ordering::AcqRel, Ordering::Acquire).is_ok()
                }
            }
            _ => false,
        };
        if !ours {
            let _ = Token::unlock(&file, i);
            continue;
        }
        let pending = (process::tag(s) != FREE).then_some(process::gen(s));
        return Ok((i, Token::new(file), pending));
    }
    Err(Error::Full("process table"))
}

impl Inner {
    /// False in a forked child that inherited this handle (its liveness token is the parent's).
    pub(crate) fn token_alive_here(&self) -> bool {
        self._token.held_by_caller()
    }
    /// [`Error::Misuse`] in a forked child that inherited this handle (its liveness token is the
    /// parent's): whatever it did would carry the parent's identity.
    pub(crate) fn refuse_forked(&self) -> Result<()> {
        if self.token_alive_here() {
            Ok(())
        } else {
            Err(Error::Misuse("region handle used in a forked child; open the region again"))
        }
    }
    pub(crate) fn proc_slot(&self, p: u32) -> Option<&ProcSlot> {
        (p < self.layout.caps.max_processes).then(|| self.map.get(self.layout.proc(p))).flatten()
    }
    pub(crate) fn name_entry(&self, i: u32) -> Option<&NameEntry> {
        (i < self.layout.caps.max_barriers).then(|| self.map.get(self.layout.name(i))).flatten()
    }
    pub(crate) fn cell(&self, i: u32) -> Option<&BarrierCell> {
        (i < self.layout.caps.max_barriers).then(|| self.map.get(self.layout.cell(i))).flatten()
    }
    pub(crate) fn member_count(&self, b: u32, p: u32) -> Option<&AtomicU32> {
        (b < self.layout.caps.max_barriers && p < self.layout.caps.max_processes)
            .then(|| self.map.get(self.layout.member(b, p)))
            .flatten()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Barrier handles hold an Arc<Inner>, so every member has resigned by now. Free the slot;
        // the token (OFD lock) is released when `_token` closes right after.
        if let Some(slot) = self.proc_slot(self.slot) {
            let s = slot.state.load(Ordering::Acquire);
            if process::tag(s) == ALIVE && self._token.held_by_caller() {
                let _ = slot.state.compare_exchange(
                    s,
                    process::make(process::gen(s), 0, FREE),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
    }
}
