//! The JSON form of every command's output. Keys are stable: add keys, never rename or remove.

use muster_shm::clean::{CleanKind, Cleaned};
use muster_shm::inspect::{BarrierKind, BreakReason, Listing, Liveness, ProcessInfo, Snapshot};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct Process {
    pid: u32,
    alive: bool,
    slot: u32,
    cleaning: bool,
}

fn processes(p: &[ProcessInfo]) -> Vec<Process> {
    p.iter().map(|p| Process { pid: p.pid, alive: p.alive, slot: p.slot, cleaning: p.cleaning }).collect()
}

#[derive(Serialize)]
struct LsRegion {
    name: String,
    accessible: bool,
    /// Why the region could not be read (then most other fields are null).
    error: Option<String>,
    size: Option<u64>,
    layout_version: Option<u32>,
    creator_pid: Option<u32>,
    barriers_used: Option<u32>,
    barriers_capacity: Option<u32>,
    processes_alive: Option<usize>,
    processes_dead: Option<usize>,
    stale: Option<bool>,
    liveness: Option<&'static str>,
    processes: Vec<Process>,
}

fn liveness(l: Liveness) -> &'static str {
    match l {
        Liveness::Tokens => "tokens",
        Liveness::PidsOnly => "pids",
    }
}

/// `muster ls --json`.
pub fn ls(listing: &[Listing]) -> Value {
    let regions: Vec<LsRegion> = listing
        .iter()
        .map(|l| match &l.snapshot {
            Ok(s) => LsRegion {
                name: l.name.clone(),
                accessible: true,
                error: None,
                size: Some(s.size),
                layout_version: Some(s.layout_version),
                creator_pid: Some(s.creator_pid),
                barriers_used: Some(s.names_used),
                barriers_capacity: Some(s.capacities.max_barriers),
                processes_alive: Some(s.processes.iter().filter(|p| p.alive).count()),
                processes_dead: Some(s.processes.iter().filter(|p| !p.alive).count()),
                stale: Some(s.stale()),
                liveness: Some(liveness(s.liveness)),
                processes: processes(&s.processes),
            },
            Err(e) => LsRegion {
                name: l.name.clone(),
                accessible: !matches!(e, muster_shm::Error::Permission),
                error: Some(crate::describe(e)),
                size: None,
                layout_version: None,
                creator_pid: None,
                barriers_used: None,
                barriers_capacity: None,
                processes_alive: None,
                processes_dead: None,
                stale: l.stale,
                liveness: None,
                processes: Vec::new(),
            },
        })
        .collect();
    serde_json::json!({ "regions": regions })
}

/// Text of a break reason.
pub fn reason(r: Option<BreakReason>) -> Option<String> {
    r.map(|r| match r {
        BreakReason::Aborted => "aborted".to_owned(),
        BreakReason::TimedOut => "timed out".to_owned(),
        BreakReason::Reset => "reset".to_owned(),
        BreakReason::PeerDied(pid) => format!("peer died (pid {pid})"),
        BreakReason::ActionFailed => "completion action failed".to_owned(),
    })
}

#[derive(Serialize)]
struct Member {
    pid: u32,
    alive: bool,
    slot: u32,
    count: u32,
}

#[derive(Serialize)]
struct Barrier {
    name: String,
    kind: &'static str,
    parties: u32,
    arrived: u32,
    waiting: u32,
    generation: u32,
    /// Released generations (episodes completed).
    episodes: u64,
    /// Waiters asleep in the kernel (the others spin or yield).
    asleep: u32,
    broken: bool,
    broken_reason: Option<String>,
    members: Vec<Member>,
}

#[derive(Serialize)]
struct FrontEnd {
    index: u32,
    enrolled: bool,
    owner_pid: Option<u32>,
    owner_alive: bool,
}

#[derive(Serialize)]
struct Alting {
    name: String,
    enrolled: u32,
    completions: u64,
    frontends: Vec<FrontEnd>,
}

#[derive(Serialize)]
struct Channel {
    name: String,
    capacity: u32,
    len: u32,
    overwrite: bool,
    one_to_one: bool,
}

/// Kind name of a plain barrier.
pub fn kind(k: BarrierKind) -> &'static str {
    match k {
        BarrierKind::Counted => "counted",
        BarrierKind::Membership => "membership",
    }
}

/// `muster show --json`.
pub fn show(s: &Snapshot) -> Value {
    let barriers: Vec<Barrier> = s
        .barriers
        .iter()
        .map(|b| Barrier {
            name: b.name.clone(),
            kind: kind(b.kind),
            parties: b.parties,
            arrived: b.arrived,
            waiting: b.arrived,
            generation: b.generation,
            episodes: b.episodes,
            asleep: b.asleep,
            broken: b.broken,
            broken_reason: reason(b.broken_reason),
            members: b
                .members
                .iter()
                .map(|m| Member { pid: m.pid, alive: m.alive, slot: m.slot, count: m.count })
                .collect(),
        })
        .collect();
    let alting: Vec<Alting> = s
        .alting
        .iter()
        .map(|a| Alting {
            name: a.name.clone(),
            enrolled: a.enrolled,
            completions: a.completions,
            frontends: a
                .frontends
                .iter()
                .map(|f| FrontEnd {
                    index: f.index,
                    enrolled: f.enrolled,
                    owner_pid: f.owner_pid,
                    owner_alive: f.owner_alive,
                })
                .collect(),
        })
        .collect();
    let channels: Vec<Channel> = s
        .channels
        .iter()
        .map(|c| Channel {
            name: c.name.clone(),
            capacity: c.capacity,
            len: c.len,
            overwrite: c.overwrite,
            one_to_one: c.one_to_one,
        })
        .collect();
    serde_json::json!({
        "name": s.name,
        "size": s.size,
        "layout_version": s.layout_version,
        "creator_pid": s.creator_pid,
        "stale": s.stale(),
        "liveness": liveness(s.liveness),
        "barriers_used": s.names_used,
        "barriers_capacity": s.capacities.max_barriers,
        "processes_capacity": s.capacities.max_processes,
        "barriers": barriers,
        "alting": alting,
        "channels": channels,
        "processes": processes(&s.processes),
    })
}

/// The snapshot reduced to the object named `name`, or `None` if there is none.
pub fn only(mut s: Snapshot, name: &str) -> Option<Snapshot> {
    s.barriers.retain(|b| b.name == name);
    s.alting.retain(|a| a.name == name);
    s.channels.retain(|c| c.name == name);
    (!s.barriers.is_empty() || !s.alting.is_empty() || !s.channels.is_empty()).then_some(s)
}

/// Kind name of a cleaned file.
pub fn clean_kind(k: &CleanKind) -> &'static str {
    match k {
        CleanKind::StaleRegion => "stale_region",
        CleanKind::OrphanSidecar => "orphan_sidecar",
        CleanKind::TempFile => "temp_file",
    }
}

#[derive(Serialize)]
struct CleanItem {
    kind: &'static str,
    name: String,
    path: String,
    removed: bool,
}

/// `muster clean --json`.
pub fn clean(done: &[Cleaned], dry_run: bool) -> Value {
    let items: Vec<CleanItem> = done
        .iter()
        .map(|c| CleanItem {
            kind: clean_kind(&c.kind),
            name: c.name.clone(),
            path: c.path.display().to_string(),
            removed: c.removed,
        })
        .collect();
    serde_json::json!({ "dry_run": dry_run, "items": items })
}
