//! `muster rm` and `muster clean`: live regions are never removed, stale ones, orphaned sidecars
//! and leftover temporary files are; `clean` racing processes that open regions removes nothing
//! live and strands nobody on a removed file.
//!
//! Removing cleans run with `--prefix` of this test process's names, so they never touch the
//! regions of other programs (or tests) on the machine; the two tests that clean take a lock,
//! since each one's stale regions are fair game for the other's clean.

mod common;

use common::*;
use serde_json::Value;
use std::sync::Mutex;

static CLEANING: Mutex<()> = Mutex::new(());

#[test]
#[ignore = "helper: runs a child role when started by the other tests"]
fn child_entry() {
    child_main();
}

#[test]
fn rm_refuses_a_live_region_unless_forced() {
    let name = TempName::new("rm");
    let mut holder = spawn("hold", &name.0);
    let out = muster(&["rm", &name.0]);
    assert_error(&out, &name.0, &format!("pid {}", holder.pid()));
    let v: Value = serde_json::from_slice(&muster(&["--json", "rm", &name.0]).stdout).unwrap();
    assert_eq!(v["removed"], false);
    assert_eq!(v["in_use_by"], serde_json::json!([holder.pid()]));
    assert!(std::fs::metadata(name.path()).is_ok() && std::fs::metadata(name.sidecar()).is_ok());

    let out = muster(&["rm", "--force", &name.0]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(name.path()).is_err() && std::fs::metadata(name.sidecar()).is_err());
    // The holder keeps working on its mapping and exits cleanly.
    assert!(holder.finish());
}

/// A pid that existed a moment ago and is gone now.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().expect("spawn true");
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn clean_removes_stale_regions_orphans_and_temporaries_but_not_live_ones() {
    let _one = CLEANING.lock().unwrap_or_else(|e| e.into_inner());
    let live = TempName::new("live");
    let stale = TempName::new("stale");
    let orphan = TempName::new("orphan");
    let _holder = spawn("hold", &live.0);
    let mut victim = spawn("hold", &stale.0);
    victim.kill9();
    std::fs::write(orphan.sidecar(), b"").unwrap();
    let tmp = format!("/dev/shm/.{}.{}.0.tmp", orphan.0, dead_pid());
    std::fs::write(&tmp, b"half a region").unwrap();
    let live_tmp = format!("/dev/shm/.{}.{}.0.tmp", live.0, std::process::id());
    std::fs::write(&live_tmp, b"a creation in progress").unwrap();
    let ours = |v: &Value| -> Vec<(String, String, bool)> {
        let mut items: Vec<_> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| [&live.0, &stale.0, &orphan.0].iter().any(|n| i["name"] == n.as_str()))
            .map(|i| {
                (i["kind"].as_str().unwrap().to_owned(), i["name"].as_str().unwrap().to_owned(), i["removed"] == true)
            })
            .collect();
        items.sort();
        items
    };

    let dry = muster_json(&["clean", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        ours(&dry),
        vec![
            ("orphan_sidecar".into(), orphan.0.clone(), false),
            ("stale_region".into(), stale.0.clone(), false),
            ("temp_file".into(), orphan.0.clone(), false),
        ]
    );
    assert!(std::fs::metadata(stale.path()).is_ok() && std::fs::metadata(&tmp).is_ok());

    let done = muster_json(&["clean", "--prefix", &prefix()]);
    assert_eq!(
        ours(&done),
        vec![
            ("orphan_sidecar".into(), orphan.0.clone(), true),
            ("stale_region".into(), stale.0.clone(), true),
            ("temp_file".into(), orphan.0.clone(), true),
        ]
    );
    for gone in [stale.path(), stale.sidecar(), orphan.sidecar(), tmp] {
        assert!(std::fs::metadata(&gone).is_err(), "{gone} still there");
    }
    for kept in [live.path(), live.sidecar(), live_tmp.clone()] {
        assert!(std::fs::metadata(&kept).is_ok(), "{kept} removed");
    }
    let _ = std::fs::remove_file(live_tmp);
    assert_eq!(ls_entry(&live.0).expect("live region listed")["stale"], false);
}

/// `clean` in a loop while processes open and close regions as fast as they can: between two
/// opens a region is legitimately stale and may go, but every open must end attached to the file
/// that carries the name (each churner checks with `inspect` after every open), and a region
/// held open the whole time must survive.
#[test]
fn clean_racing_openers_removes_nothing_live() {
    let _one = CLEANING.lock().unwrap_or_else(|e| e.into_inner());
    let held = TempName::new("held");
    let mut holder = spawn("hold", &held.0);
    let names: Vec<TempName> = (0..3).map(|_| TempName::new("churn")).collect();
    let mut churners: Vec<Held> = names.iter().map(|n| spawn_env("churn", &n.0, &[("MUSTER_CLI_SECS", "3")])).collect();
    let start = std::time::Instant::now();
    let mut cleans = 0;
    let mut removed = 0;
    while start.elapsed() < std::time::Duration::from_secs(3) {
        let v = muster_json(&["clean", "--prefix", &prefix()]);
        removed += v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["removed"] == true && names.iter().any(|n| i["name"] == n.0.as_str()))
            .count();
        assert!(
            v["items"].as_array().unwrap().iter().all(|i| i["name"] != held.0.as_str()),
            "clean touched the held region: {v}"
        );
        cleans += 1;
    }
    for c in &mut churners {
        assert!(c.finish(), "a churner failed (see its stderr)");
    }
    eprintln!("{cleans} cleans, {removed} churn regions removed between opens");
    assert!(cleans > 0);
    assert!(std::fs::metadata(held.path()).is_ok(), "held region removed");
    assert_eq!(ls_entry(&held.0).expect("held listed")["processes"][0]["pid"], holder.pid());
    assert!(holder.finish());
}

/// Liveness comes from the sidecar, not from parsing the file: a region this build cannot read
/// (here: its header claims layout version 99) is kept while a process uses it and cleaned once
/// none does.
#[test]
fn unreadable_regions_are_judged_by_their_sidecar() {
    use std::os::unix::fs::FileExt;
    let _one = CLEANING.lock().unwrap_or_else(|e| e.into_inner());
    let name = TempName::new("v99");
    let region = muster_shm::Region::create(&name.0, &muster_shm::RegionConfig::default()).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(name.path()).unwrap();
    f.write_all_at(&99u32.to_le_bytes(), 8).unwrap();
    let e = ls_entry(&name.0).expect("listed");
    assert!(e["error"].as_str().unwrap().contains("layout version 99"), "{e}");
    assert_eq!(e["stale"], false, "{e}");
    assert_error(&muster(&["rm", &name.0]), &name.0, "in use by a live process");
    let v = muster_json(&["clean", "--prefix", &prefix()]);
    assert!(v["items"].as_array().unwrap().iter().all(|i| i["name"] != name.0.as_str()), "{v}");
    assert!(std::fs::metadata(name.path()).is_ok());

    drop(region);
    let v = muster_json(&["clean", "--prefix", &prefix()]);
    let item = v["items"].as_array().unwrap().iter().find(|i| i["name"] == name.0.as_str()).cloned();
    assert_eq!(item.map(|i| (i["kind"].clone(), i["removed"].clone())), Some(("stale_region".into(), true.into())));
    assert!(std::fs::metadata(name.path()).is_err() && std::fs::metadata(name.sidecar()).is_err());
}
