//! `muster ls` and `muster show` against live regions made by child processes, regions whose
//! processes were SIGKILLed, corrupt/truncated/foreign/newer-version files, and another user's
//! regions.

mod common;

use common::*;
use muster_shm::{Region, RegionConfig};
use serde_json::Value;
use std::os::unix::fs::FileExt;

#[test]
#[ignore = "helper: runs a child role when started by the other tests"]
fn child_entry() {
    child_main();
}

fn pids(v: &Value) -> Vec<(u64, bool)> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|p| (p["pid"].as_u64().expect("pid"), p["alive"].as_bool().expect("alive")))
        .collect()
}

fn find<'a>(v: &'a Value, key: &str, name: &str) -> &'a Value {
    v[key].as_array().expect(key).iter().find(|b| b["name"] == name).unwrap_or_else(|| panic!("no {key} {name}: {v}"))
}

#[test]
fn live_region_is_listed_and_shown_without_joining() {
    let name = TempName::new("live");
    let mut holder = spawn("hold", &name.0);
    let pid = u64::from(holder.pid());

    let entry = ls_entry(&name.0).expect("region listed");
    assert_eq!(entry["stale"], false);
    assert_eq!(entry["accessible"], true);
    assert_eq!(entry["layout_version"], muster_shm::layout::LAYOUT_VERSION);
    assert_eq!(entry["creator_pid"], pid);
    assert_eq!(entry["barriers_used"], 4, "phase, group, alt, ch: {entry}");
    assert_eq!(entry["barriers_capacity"], 1024);
    assert!(entry["size"].as_u64().unwrap() > 4096);
    // Only the holder is attached: inspecting took no process slot.
    assert_eq!(pids(&entry["processes"]), vec![(pid, true)]);

    let show = muster_json(&["show", &name.0]);
    assert_eq!(show["name"], name.0.as_str());
    let phase = find(&show, "barriers", "phase");
    assert_eq!(phase["kind"], "counted");
    assert_eq!(phase["parties"], 2);
    assert_eq!(phase["waiting"], 0);
    assert_eq!(phase["generation"], 0);
    assert_eq!(phase["broken"], false);
    assert_eq!(phase["episodes"], 0);
    // The holder only opened it: an observer is not a party.
    assert_eq!(phase["members"], serde_json::json!([]));
    let group = find(&show, "barriers", "group");
    assert_eq!(group["kind"], "membership");
    assert_eq!(group["parties"], 1);
    assert_eq!(pids(&group["members"]), vec![(pid, true)]);
    let alt = find(&show, "alting", "alt");
    assert_eq!(alt["enrolled"], 2);
    assert_eq!(alt["completions"], 0);
    let fe0 = &alt["frontends"][0];
    assert_eq!(
        (fe0["index"].as_u64(), fe0["owner_pid"].as_u64(), fe0["owner_alive"].as_bool()),
        (Some(0), Some(pid), Some(true))
    );
    assert_eq!(alt["frontends"][1]["owner_pid"], Value::Null);
    let ch = find(&show, "channels", "ch");
    assert_eq!((ch["capacity"].as_u64(), ch["len"].as_u64()), (Some(4), Some(2)));
    assert_eq!(pids(&show["processes"]), vec![(pid, true)]);

    // One object only; an unknown one is an error naming the region.
    let only = muster_json(&["show", &name.0, "group"]);
    assert_eq!(only["barriers"].as_array().unwrap().len(), 1);
    assert_eq!(only["alting"].as_array().unwrap().len(), 0);
    assert_error(&muster(&["show", &name.0, "nosuch"]), &name.0, "no barrier");

    // Text forms mention what matters.
    let text = String::from_utf8(muster(&["show", &name.0]).stdout).unwrap();
    for needle in ["\"phase\" [counted]", "\"group\" [membership]", &format!("{pid} (alive)"), "\"ch\" 2/4"] {
        assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
    }
    let ls = String::from_utf8(muster(&["ls"]).stdout).unwrap();
    let line = ls.lines().find(|l| l.starts_with(&name.0)).expect("ls line");
    assert!(line.contains("live") && line.contains("4/1024") && line.contains("1/0"), "{line}");

    assert!(holder.finish(), "holder failed");
}

#[test]
fn waiter_shows_up_and_sigkill_makes_the_region_stale() {
    let name = TempName::new("stale");
    let mut waiter = spawn("waiter", &name.0);
    let pid = u64::from(waiter.pid());
    eventually("waiter arrived", || {
        let show = muster_json(&["show", &name.0]);
        find(&show, "barriers", "group")["waiting"] == 1 && find(&show, "barriers", "pair")["waiting"] == 1
    });
    // A blocked waiter stops spinning and sleeps; the barrier counts it as asleep.
    eventually("waiters asleep", || {
        let show = muster_json(&["show", &name.0]);
        find(&show, "barriers", "group")["asleep"] == 1 && find(&show, "barriers", "pair")["asleep"] == 1
    });
    let show = muster_json(&["show", &name.0]);
    let group = find(&show, "barriers", "group");
    assert_eq!(group["parties"], 2);
    assert_eq!(group["members"][0]["count"], 2);
    // A counted barrier's parties are the processes that arrived.
    let pair = find(&show, "barriers", "pair");
    assert_eq!((pair["kind"].as_str(), pair["parties"].as_u64()), (Some("counted"), Some(2)));
    assert_eq!(pids(&pair["members"]), vec![(pid, true)]);

    waiter.kill9();
    let entry = ls_entry(&name.0).expect("still listed after SIGKILL");
    assert_eq!(entry["stale"], true);
    assert_eq!(pids(&entry["processes"]), vec![(pid, false)]);
    assert_eq!(entry["processes_dead"], 1);
    let show = muster_json(&["show", &name.0]);
    assert_eq!(show["stale"], true);
    assert_eq!(pids(&find(&show, "barriers", "group")["members"]), vec![(pid, false)]);
    assert_eq!(pids(&find(&show, "barriers", "pair")["members"]), vec![(pid, false)]);
    let text = String::from_utf8(muster(&["ls"]).stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with(&name.0) && l.ends_with("stale")), "{text}");

    // Inspecting cleaned nothing up; a process that waits at "pair" does, and the break and its
    // reason show.
    {
        let r = Region::open(&name.0).unwrap();
        let pair = r.barrier("pair", 2).unwrap();
        let e = pair.wait_timeout(std::time::Duration::from_secs(60)).unwrap_err();
        assert!(matches!(e, muster_shm::Error::PeerDied { pid: p } if u64::from(p) == pid), "{e}");
        let b = find(&muster_json(&["show", &name.0]), "barriers", "pair").clone();
        assert_eq!(
            (b["broken"].as_bool(), b["broken_reason"].as_str()),
            (Some(true), Some(&*format!("peer died (pid {pid})")))
        );
        let text = String::from_utf8(muster(&["show", &name.0, "pair"]).stdout).unwrap();
        assert!(text.contains(&format!("BROKEN (peer died (pid {pid}))")), "{text}");
    }

    // A stale region goes without --force, sidecar included.
    let out = muster(&["rm", &name.0]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(name.path()).is_err() && std::fs::metadata(name.sidecar()).is_err());
}

#[test]
fn broken_barrier_shows_the_reason() {
    let name = TempName::new("broken");
    let r = Region::create(&name.0, &RegionConfig::default()).unwrap();
    let b = r.barrier("b", 3).unwrap();
    b.abort().unwrap();
    let show = muster_json(&["show", &name.0, "b"]);
    assert_eq!(show["barriers"][0]["broken"], true);
    assert_eq!(show["barriers"][0]["broken_reason"], "aborted");
    // This process is attached and alive; inspection added nobody.
    assert_eq!(pids(&show["processes"]), vec![(u64::from(std::process::id()), true)]);
    drop(b);
    drop(r);
}

#[test]
fn episodes_and_counted_parties_are_counted() {
    let name = TempName::new("episodes");
    let r = Region::create(&name.0, &RegionConfig::default()).unwrap();
    let solo = r.barrier("solo", 1).unwrap();
    for _ in 0..5 {
        solo.wait().unwrap();
    }
    let b = find(&muster_json(&["show", &name.0, "solo"]), "barriers", "solo").clone();
    assert_eq!((b["episodes"].as_u64(), b["generation"].as_u64()), (Some(5), Some(5)));
    assert_eq!(pids(&b["members"]), vec![(u64::from(std::process::id()), true)]);
    // A reset moves the generation, not the episode count.
    solo.reset().unwrap();
    let text = String::from_utf8(muster(&["show", &name.0, "solo"]).stdout).unwrap();
    assert!(text.contains("episodes 5"), "{text}");
    drop(solo);
    // Closing the handle that arrived gives the party up.
    let b = find(&muster_json(&["show", &name.0, "solo"]), "barriers", "solo").clone();
    assert_eq!(b["members"], serde_json::json!([]));
    drop(r);
}

/// Writes `bytes` at `offset` of the region file.
fn scribble(name: &TempName, offset: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(name.path()).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

fn made(tag: &str) -> TempName {
    let name = TempName::new(tag);
    drop(Region::create(&name.0, &RegionConfig::default()).unwrap());
    name
}

#[test]
fn bad_files_are_reported_with_the_reason_never_a_panic() {
    // Newer layout version.
    let newer = made("newer");
    scribble(&newer, 8, &99u32.to_le_bytes());
    assert_error(&muster(&["show", &newer.0]), &newer.0, "layout version 99");
    // Impossible capacities.
    let caps = made("caps");
    scribble(&caps, 32, &0u32.to_le_bytes());
    assert_error(&muster(&["show", &caps.0]), &caps.0, "capacities out of range");
    // Truncated below its declared size, and below a header.
    let trunc = made("trunc");
    std::fs::OpenOptions::new().write(true).open(trunc.path()).unwrap().set_len(8192).unwrap();
    assert_error(&muster(&["show", &trunc.0]), &trunc.0, "truncated");
    let tiny = made("tiny");
    std::fs::OpenOptions::new().write(true).open(tiny.path()).unwrap().set_len(100).unwrap();
    assert_error(&muster(&["show", &tiny.0]), &tiny.0, "truncated");
    // A name-table entry with a garbage state word.
    let names = made("names");
    let snap = Region::inspect(&names.0).unwrap();
    let names_off = 4096 + u64::from(snap.capacities.max_processes) * 128;
    scribble(&names, names_off + 128 * 5, &2u32.to_le_bytes()); // LIVE
    scribble(&names, names_off + 128 * 5 + 8, &1000u32.to_le_bytes()); // name length 1000
    let out = muster(&["--json", "show", &names.0]);
    assert!(out.status.success(), "a bad name entry is skipped: {}", String::from_utf8_lossy(&out.stderr));
    // A foreign file with a valid region name.
    let foreign = TempName::new("foreign");
    std::fs::write(foreign.path(), b"not a muster region at all, just bytes").unwrap();
    assert_error(&muster(&["show", &foreign.0]), &foreign.0, "truncated");
    std::fs::write(foreign.path(), vec![0x5a; 8192]).unwrap();
    assert_error(&muster(&["show", &foreign.0]), &foreign.0, "not a Muster region");
    // rm refuses foreign files.
    assert_error(&muster(&["rm", &foreign.0]), &foreign.0, "not a Muster region");
    assert!(std::fs::metadata(foreign.path()).is_ok());

    // ls: the bad Muster files are listed with their reason; the foreign one is ignored.
    let v = muster_json(&["ls"]);
    let regions = v["regions"].as_array().unwrap();
    let get = |n: &TempName| regions.iter().find(|r| r["name"] == n.0.as_str()).cloned();
    assert!(get(&foreign).is_none(), "foreign file listed");
    let e = get(&newer).expect("newer listed");
    assert!(e["error"].as_str().unwrap().contains("layout version 99"), "{e}");
    // Liveness needs only the sidecar: known even for a file this build cannot read.
    assert_eq!(e["stale"], true, "{e}");
    assert!(get(&trunc).expect("trunc listed")["error"].as_str().unwrap().contains("truncated"));
    assert!(get(&caps).is_some() && get(&tiny).is_some());
    assert_eq!(get(&names).expect("names listed")["error"], Value::Null);
}

#[test]
fn usage_errors_exit_2_and_bad_names_exit_1() {
    assert_eq!(muster(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(muster(&["show"]).status.code(), Some(2));
    assert_eq!(muster(&["top", "x", "--interval", "0"]).status.code(), Some(2));
    assert_eq!(muster(&["--help"]).status.code(), Some(0));
    assert_error(&muster(&["show", "../etc"]), "../etc", "invalid name");
    assert_error(&muster(&["show", "mc-no-such-region"]), "mc-no-such-region", "no such region");
    assert_error(&muster(&["rm", "mc-no-such-region"]), "mc-no-such-region", "no such region");
}

/// Another user's region (mode 0600) is listed as inaccessible, not an error; `show` and `rm`
/// fail naming it. Needs root (to run `muster` as another uid).
/// The unprivileged uid (and gid) `other_users_regions_are_inaccessible` runs `muster` as.
const NOBODY: u32 = 65534;

/// A `muster args...` command that runs as [`NOBODY`].
fn as_nobody_cmd(args: &[&str]) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(bin());
    cmd.args(args).uid(NOBODY).gid(NOBODY);
    cmd
}

/// Why [`NOBODY`] cannot run the built `muster` here, if it cannot: the binary lies under a
/// directory other users may not enter (say a clone into a mode-0700 `mktemp -d` directory), so
/// exec fails with EACCES. Probed by running `muster --version` as that user; any other failure
/// is a real one and panics.
fn nobody_cannot_run_muster() -> Option<String> {
    match try_run_bounded(&mut as_nobody_cmd(&["--version"])) {
        Ok(out) => {
            assert!(out.status.success(), "muster --version as uid {NOBODY}: {out:?}");
            None
        }
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
            use std::os::unix::fs::PermissionsExt;
            // A hint for the message only (ACLs and group bits may differ): the first directory
            // above the binary that others may not search.
            let closed = std::path::Path::new(bin())
                .ancestors()
                .skip(1)
                .find(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 == 0))
                .map(|d| format!(" ({} is closed to other users)", d.display()))
                .unwrap_or_default();
            Some(format!("uid {NOBODY} cannot execute {}: {e}{closed}", bin()))
        }
        Err(e) => panic!("cannot run muster as uid {NOBODY}: {e}"),
    }
}

#[test]
fn other_users_regions_are_inaccessible() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: other_users_regions_are_inaccessible needs root to run muster as another uid");
        return;
    }
    if let Some(why) = nobody_cannot_run_muster() {
        eprintln!("skipped: other_users_regions_are_inaccessible: {why}");
        return;
    }
    let name = TempName::new("private");
    let r = Region::create(&name.0, &RegionConfig { mode: 0o600, ..RegionConfig::default() }).unwrap();
    let _b = r.barrier("b", 2).unwrap();
    let as_nobody = |args: &[&str]| run_bounded(&mut as_nobody_cmd(args));

    let out = as_nobody(&["--json", "ls"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = v["regions"].as_array().unwrap().iter().find(|r| r["name"] == name.0.as_str()).expect("listed").clone();
    assert_eq!(e["accessible"], false, "{e}");
    assert_eq!(e["stale"], Value::Null);
    let text = String::from_utf8(as_nobody(&["ls"]).stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with(&name.0) && l.ends_with("inaccessible")), "{text}");
    assert_error(&as_nobody(&["show", &name.0]), &name.0, "permission denied");
    assert_error(&as_nobody(&["rm", &name.0]), &name.0, "permission denied");
    assert_error(&as_nobody(&["top", &name.0, "--count", "1"]), &name.0, "permission denied");
    // clean as that user leaves it alone (and does not fail).
    assert!(as_nobody(&["clean", "--prefix", &prefix()]).status.success());
    assert!(std::fs::metadata(name.path()).is_ok());
    // Root sees it, live (this process is attached).
    assert_eq!(ls_entry(&name.0).expect("listed")["stale"], false);
}

/// Someone deleted the lock sidecar: liveness falls back to the recorded pids, says so, and a
/// live holder still keeps `rm` away.
#[test]
fn without_a_sidecar_liveness_falls_back_to_pids() {
    let name = TempName::new("nosidecar");
    let mut holder = spawn("hold", &name.0);
    std::fs::remove_file(name.sidecar()).unwrap();
    let e = ls_entry(&name.0).expect("listed");
    assert_eq!((e["liveness"].as_str(), e["stale"].as_bool()), (Some("pids"), Some(false)), "{e}");
    assert_error(&muster(&["rm", &name.0]), &name.0, &format!("pid {}", holder.pid()));
    holder.kill9();
    let e = ls_entry(&name.0).expect("listed");
    assert_eq!(e["stale"], true, "{e}");
    // Removal makes a sidecar to lock while it removes, and removes that too.
    let out = muster(&["rm", &name.0]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(name.path()).is_err() && std::fs::metadata(name.sidecar()).is_err());
}
