//! Random-instant SIGKILL of processes racing to create and open one region (issue 13): six
//! processes `open_or_create` the same fresh name (role `crash-region` in
//! `tests/worker/crash.rs`), and a random subset is killed at random instants (before, during or
//! after creating, publishing, attaching to the process table or opening a channel). Checked:
//! every survivor succeeds, within the bound and with the configured capacities; afterwards the
//! name is either absent (every creator died before publishing) or a complete region that opens
//! and works; never a half-created one. Temporary files of killed creators are never visible as
//! a region, and the next `create` of that name removes them.

mod common;
#[path = "common/crash.rs"]
mod crash_common;

use common::{worker, TempName};
use crash_common::{first_line, keep_going, scale, Rng, Stats, HANG};
use muster::{Error, Region, RegionConfig};
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::{Duration, Instant};

const RACERS: usize = 6;

fn small_config() -> RegionConfig {
    // Must match `crash::small_config` in the worker.
    RegionConfig { max_barriers: 64, max_processes: 32, max_agents: 32, max_channels: 8, ..RegionConfig::default() }
}

/// Temporary files a creator of `name` left in /dev/shm (`.NAME.PID.N.tmp`).
fn tmp_files(name: &str) -> Vec<std::path::PathBuf> {
    let prefix = format!(".{name}.");
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name().to_str().is_some_and(|n| {
                        n.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp")).is_some_and(|mid| {
                            mid.split('.').count() == 2 && mid.split('.').all(|p| p.parse::<u64>().is_ok())
                        })
                    })
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Names per trial: each racer creates or opens them one after another, so a kill at a random
/// instant lands inside some create or open.
const NAMES: usize = 40;

fn trial(rng: &mut Rng, st: &mut Stats, leftovers: &mut usize) {
    let base = TempName::new("creg");
    let names: Vec<String> = (0..NAMES).map(|k| format!("{}-{k}", base.0)).collect();
    st.trials += 1;
    // Who gets killed, and when (after its start): the racers run for a few ms.
    let plan: Vec<Option<Duration>> =
        (0..RACERS).map(|_| if rng.below(2) == 0 { Some(rng.micros(6000)) } else { None }).collect();
    let t0 = Instant::now();
    let n = NAMES.to_string();
    let mut kids: Vec<Child> = (0..RACERS).map(|i| worker(&["crash-region", &base.0, &i.to_string(), &n])).collect();
    let mut order: Vec<usize> = (0..RACERS).filter(|&i| plan[i].is_some()).collect();
    order.sort_by_key(|&i| plan[i]);
    for &i in &order {
        if let Some(rest) = plan[i].unwrap_or_default().checked_sub(t0.elapsed()) {
            std::thread::sleep(rest);
        }
        let _ = kids[i].kill();
    }
    let mut survivors = 0;
    for (i, c) in kids.iter_mut().enumerate() {
        let line = first_line(c, HANG);
        if line.is_none() {
            let _ = c.kill();
        }
        let status = c.wait().expect("wait");
        if status.signal() == Some(libc::SIGKILL) && plan[i].is_some() {
            st.kills += 1;
            continue;
        }
        survivors += 1;
        match line {
            Some(l) if l.starts_with("ok ") && status.success() => {
                if let Ok(ns) = l[3..].parse::<u64>() {
                    st.detect.push(Duration::from_nanos(ns));
                }
            }
            Some(l) => st.inconsistencies.push(format!("racer {i} failed: {l:?} ({status})")),
            None => {
                st.hangs += 1;
                st.inconsistencies.push(format!("racer {i} did not finish ({status})"));
            }
        }
    }
    for name in &names {
        check_name(name, survivors, st, leftovers);
        let _ = Region::unlink(name);
    }
}

/// The name is a complete region, or nothing; killed creators' temporary files are invisible and
/// removed by the next create of the name.
fn check_name(name: &str, survivors: usize, st: &mut Stats, leftovers: &mut usize) {
    match Region::open(name) {
        Ok(r) => {
            let c = small_config();
            if r.capacities() != (c.max_barriers, c.max_processes) {
                st.inconsistencies.push(format!("{name}: region with capacities {:?}", r.capacities()));
            }
            let ch = r.channel("c", 8, true).and_then(|ch| ch.try_write(99).map(|_| ch));
            if let Err(e) = ch.and_then(|ch| ch.try_read()) {
                st.inconsistencies.push(format!("{name}: region not usable: {e}"));
            }
        }
        Err(Error::NotFound) if survivors == 0 => {
            // Every racer died before publishing it: a fresh creator must succeed.
            if let Err(e) = Region::create(name, &small_config()) {
                st.inconsistencies.push(format!("{name}: create after all racers died: {e}"));
            }
        }
        Err(e) => st.inconsistencies.push(format!("{name}: open after the race ({survivors} survivors): {e}")),
    }
    let left = tmp_files(name);
    if !left.is_empty() {
        *leftovers += left.len();
        let _ = Region::unlink(name);
        if let Err(e) = Region::create(name, &small_config()) {
            st.inconsistencies.push(format!("{name}: create over leftovers: {e}"));
        }
        let still = tmp_files(name);
        if !still.is_empty() {
            st.inconsistencies.push(format!("{name}: create left {} stale temporary files", still.len()));
            still.iter().for_each(|p| drop(std::fs::remove_file(p)));
        }
    }
}

#[test]
fn racing_creators_killed_at_random_instants() {
    let t0 = Instant::now();
    let mut rng = Rng::new(4);
    let mut st = Stats::default();
    let mut leftovers = 0;
    let total = 150 * scale();
    while st.kills < total && (keep_going() || st.inconsistencies.is_empty()) {
        trial(&mut rng, &mut st, &mut leftovers);
    }
    eprintln!("region race: {leftovers} temporary files left by killed creators (all removed by the next create)");
    st.finish("region creation (detection = a survivor's open_or_create time)", t0);
}
