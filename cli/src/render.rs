//! The text form of every command's output (for people; scripts use `--json`).

use crate::model::{clean_kind, kind, reason};
use muster_shm::clean::Cleaned;
use muster_shm::inspect::{Listing, Liveness, Snapshot};
use std::fmt::Write;

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn pids(list: impl Iterator<Item = (u32, bool)>) -> String {
    let v: Vec<String> = list.map(|(pid, alive)| format!("{pid} ({})", if alive { "alive" } else { "dead" })).collect();
    if v.is_empty() {
        "-".to_owned()
    } else {
        v.join(", ")
    }
}

/// `muster ls`.
pub fn ls(listing: &[Listing]) -> String {
    let mut out = String::new();
    if listing.is_empty() {
        out.push_str("no Muster regions in /dev/shm\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<32} {:>10} {:>7} {:>13} {:>11} {:>8}  STATE",
        "NAME", "SIZE", "LAYOUT", "BARRIERS", "PROCS A/D", "CREATOR"
    );
    for l in listing {
        match &l.snapshot {
            Ok(s) => {
                let alive = s.processes.iter().filter(|p| p.alive).count();
                let dead = s.processes.len() - alive;
                let mut state = if s.stale() { "stale".to_owned() } else { "live".to_owned() };
                if s.liveness == Liveness::PidsOnly {
                    state.push_str(" (no sidecar: by pid)");
                }
                let _ = writeln!(
                    out,
                    "{:<32} {:>10} {:>7} {:>13} {:>11} {:>8}  {state}",
                    l.name,
                    bytes(s.size),
                    format!("v{}", s.layout_version),
                    format!("{}/{}", s.names_used, s.capacities.max_barriers),
                    format!("{alive}/{dead}"),
                    s.creator_pid,
                );
            }
            Err(muster_shm::Error::Permission) => {
                let _ = writeln!(
                    out,
                    "{:<32} {:>10} {:>7} {:>13} {:>11} {:>8}  inaccessible",
                    l.name, "-", "-", "-", "-", "-"
                );
            }
            Err(e) => {
                let state = match l.stale {
                    Some(true) => "stale, ",
                    Some(false) => "live, ",
                    None => "",
                };
                let _ = writeln!(
                    out,
                    "{:<32} {:>10} {:>7} {:>13} {:>11} {:>8}  {state}unreadable: {}",
                    l.name,
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    crate::describe(e)
                );
            }
        }
    }
    out
}

/// `muster show`.
pub fn show(s: &Snapshot) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "region {}: {}, layout v{}, created by pid {}, {}",
        s.name,
        bytes(s.size),
        s.layout_version,
        s.creator_pid,
        if s.stale() { "stale (no live process)" } else { "live" }
    );
    let _ = writeln!(
        o,
        "capacity: {} names ({} used), {} processes",
        s.capacities.max_barriers, s.names_used, s.capacities.max_processes
    );
    if s.liveness == Liveness::PidsOnly {
        let _ = writeln!(o, "warning: lock sidecar missing; liveness judged by pid only");
    }
    if !s.barriers.is_empty() {
        let _ = writeln!(o, "\nbarriers:");
        for b in &s.barriers {
            let broken = if b.broken {
                format!("BROKEN ({})", reason(b.broken_reason).unwrap_or_else(|| "reason not published".into()))
            } else {
                "ok".to_owned()
            };
            let _ = writeln!(
                o,
                "  {:?} [{}] parties {} waiting {} (asleep {}) generation {} episodes {} {}",
                b.name,
                kind(b.kind),
                b.parties,
                b.arrived,
                b.asleep,
                b.generation,
                b.episodes,
                broken
            );
            let members = pids(b.members.iter().map(|m| (m.pid, m.alive)));
            let _ = writeln!(o, "    members: {members}");
        }
    }
    if !s.alting.is_empty() {
        let _ = writeln!(o, "\nalting barriers:");
        for a in &s.alting {
            let _ = writeln!(o, "  {:?} enrolled {} completions {}", a.name, a.enrolled, a.completions);
            for f in &a.frontends {
                let owner = match f.owner_pid {
                    Some(p) => format!("owned by pid {p} ({})", if f.owner_alive { "alive" } else { "dead" }),
                    None => "unowned".to_owned(),
                };
                let _ = writeln!(
                    o,
                    "    front-end {} {} {owner}",
                    f.index,
                    if f.enrolled { "enrolled" } else { "resigned" }
                );
            }
        }
    }
    if !s.channels.is_empty() {
        let _ = writeln!(o, "\nchannels:");
        for c in &s.channels {
            let mut mode = Vec::new();
            if c.overwrite {
                mode.push("overwrite");
            }
            if c.one_to_one {
                mode.push("one-to-one");
            }
            let mode = if mode.is_empty() { String::new() } else { format!(" ({})", mode.join(", ")) };
            let _ = writeln!(o, "  {:?} {}/{} values{mode}", c.name, c.len, c.capacity);
        }
    }
    let _ = writeln!(o, "\nprocesses:");
    if s.processes.is_empty() {
        let _ = writeln!(o, "  none attached");
    }
    for p in &s.processes {
        let _ = writeln!(
            o,
            "  slot {:<4} pid {:<8} {}{}",
            p.slot,
            p.pid,
            if p.alive { "alive" } else { "dead" },
            if p.cleaning { " (being cleaned up)" } else { "" }
        );
    }
    o
}

/// `muster clean`.
pub fn clean(done: &[Cleaned], dry_run: bool) -> String {
    let mut o = String::new();
    if done.is_empty() {
        o.push_str("nothing to clean\n");
    }
    for c in done {
        let verb = if dry_run {
            "would remove"
        } else if c.removed {
            "removed"
        } else {
            "kept (in use after all)"
        };
        let _ = writeln!(o, "{verb} {} {} ({})", clean_kind(&c.kind).replace('_', " "), c.name, c.path.display());
    }
    o
}
