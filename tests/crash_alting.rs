//! Random-instant SIGKILL of alting-barrier and channel processes (issue 13).
//!
//! Each scenario keeps a set of worker processes running (roles in `tests/worker/crash.rs`) and
//! repeatedly SIGKILLs one of them at a random instant — while it offers, completes, waits,
//! sleeps, or while it is still starting up (`alting_reset`, `alting_attach`, registering its
//! agent) — then starts a replacement that resets and re-attaches the dead process's front-ends
//! (or re-opens the channel). Checked:
//! * the survivors never hang: what they can do without the dead process goes on (the time from
//!   the kill to their next progress is the *detection* figure), and with the replacement
//!   everything goes on (*recovery*); every wait is bounded by [`HANG`];
//! * Goldsmith (three processes) and a Gadget1-style circle (five units; neighbours share an
//!   alting barrier and a one-to-one channel, both select guards): every event is seen with the
//!   same ticket by all its live parties, each barrier's tickets are 1..n, the logs of all
//!   incarnations admit one global order, a killed process accounts for at most one event it
//!   never logged (its last select committed to it: the "counted in one more event" window,
//!   which is harmless; see `include/muster.h`), and the circle's channel values from each
//!   writer incarnation arrive in increasing order;
//! * channels: no value of a surviving writer is lost or duplicated, every writer's values
//!   arrive in order, a killed writer's values are a prefix of what it wrote (plus, at most, the
//!   one in flight), and a killed reader loses at most the one value it had taken.
//!
//! Figures go to stderr as `CRASH ...` lines (see `scripts/soak-alting.sh`).

mod common;
#[path = "common/crash.rs"]
mod crash_common;

use common::kids::Kids;
use common::{wait_all_bounded, worker, TempName};
use crash_common::{first_line, keep_going, scale, wait_for, LogFile, Rng, Stats, HANG};
use muster::{Region, RegionConfig};
use std::collections::{BTreeSet, HashMap};
use std::process::Child;
use std::time::Instant;

// Must match tests/worker/crash.rs.
const HDR: usize = 4096;
const CNT: usize = 1024;
const SLOT_CNT: usize = 2048;
const RD: usize = 4096;

/// The scenarios keep both CPUs busy; run them one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn kill(c: &mut Child) -> Instant {
    let _ = c.kill();
    let t = Instant::now();
    let _ = c.wait();
    t
}

// ---------------------------------------------------------------------------------------------
// Goldsmith

/// Roles of barrier b in a circle of n: role b offers b[0], role b+1 offers b[1]. Role r is in
/// barriers r and r-1 (n = 3 is Goldsmith's challenge).
fn gold_members(b: u32, n: usize) -> [usize; 2] {
    [b as usize, (b as usize + 1) % n]
}

struct GoldRun {
    /// Role of each slot (incarnation) and whether it was killed.
    slots: Vec<(usize, bool)>,
}

/// Checks one Goldsmith batch; returns the problems found.
fn check_gold(logs: &[Vec<(u32, u32)>], run: &GoldRun, completions: &[u64]) -> (Vec<String>, usize) {
    let mut bad = Vec::new();
    let roles = completions.len();
    let mut hidden_per_role = vec![0usize; roles];
    for b in 0..roles as u32 {
        let n = completions[b as usize] as u32;
        let mut seen = BTreeSet::new();
        for r in gold_members(b, roles) {
            // r's incarnations in order, with their tickets of b.
            let mut prev_last = 0u32;
            let mut killed_since = 0usize; // killed incarnations since the last one that logged b
            for (slot, &(role, killed)) in run.slots.iter().enumerate() {
                if role != r {
                    continue;
                }
                let ts: Vec<u32> = logs[slot].iter().filter(|e| e.0 == b).map(|e| e.1).collect();
                if ts.windows(2).any(|w| w[1] != w[0] + 1) {
                    bad.push(format!("g{b}: slot {slot} saw tickets that are not consecutive: {ts:?}"));
                }
                if let Some(&first) = ts.first() {
                    if first <= prev_last {
                        bad.push(format!("g{b}: slot {slot} starts at ticket {first} after {prev_last}"));
                    }
                    let gap = (first - prev_last - 1) as usize;
                    if gap > killed_since {
                        bad.push(format!(
                            "g{b}: {gap} events before slot {slot} were seen by no incarnation of role {r} ({} \
                             killed in between)",
                            killed_since
                        ));
                    }
                    hidden_per_role[r] += gap;
                    prev_last = *ts.last().unwrap();
                    killed_since = 0;
                }
                if killed {
                    killed_since += 1;
                }
                seen.extend(ts);
            }
            // The last incarnation is alive at the stop: it saw every later event.
            if prev_last != n && killed_since == 0 {
                bad.push(format!("g{b}: role {r} last saw ticket {prev_last} of {n}"));
            }
            hidden_per_role[r] += (n.saturating_sub(prev_last)) as usize;
        }
        if seen.len() != n as usize || seen.iter().next_back().is_some_and(|&t| t != n) {
            bad.push(format!("g{b}: {} distinct tickets seen, {n} completions", seen.len()));
        }
    }
    for (r, &hidden) in hidden_per_role.iter().enumerate() {
        let kills = run.slots.iter().filter(|s| s.0 == r && s.1).count();
        if hidden > kills {
            bad.push(format!("role {r}: {hidden} events not logged by it, but only {kills} kills"));
        }
    }
    // One global order: the union of "e before f in some log" is acyclic (Kahn).
    let mut succ: HashMap<(u32, u32), Vec<(u32, u32)>> = HashMap::new();
    let mut indeg: HashMap<(u32, u32), usize> = HashMap::new();
    for log in logs {
        for e in log {
            indeg.entry(*e).or_default();
        }
        for w in log.windows(2) {
            succ.entry(w[0]).or_default().push(w[1]);
            *indeg.entry(w[1]).or_default() += 1;
        }
    }
    let total = indeg.len();
    let mut ready: Vec<_> = indeg.iter().filter(|(_, d)| **d == 0).map(|(e, _)| *e).collect();
    let mut done = 0;
    while let Some(e) = ready.pop() {
        done += 1;
        for f in succ.get(&e).into_iter().flatten() {
            let d = indeg.get_mut(f).unwrap();
            *d -= 1;
            if *d == 0 {
                ready.push(*f);
            }
        }
    }
    if done != total {
        bad.push(format!("the logs admit no global order ({} of {total} events in a cycle)", total - done));
    }
    (bad, hidden_per_role.iter().sum())
}

/// One batch: `roles` processes in a circle of alting barriers (3: Goldsmith; with `channels`,
/// the Gadget1-style circle where neighbours also talk over one-to-one channels that are select
/// guards), `kills` random-instant kills with replacements.
fn gold_batch(roles: usize, channels: bool, kills: usize, rng: &mut Rng, st: &mut Stats) {
    let name = TempName::new("cgold");
    let r = Region::create(&name.0, &RegionConfig::default()).expect("create region");
    for b in 0..roles {
        r.alting_create(&format!("g{b}"), 2).unwrap();
    }
    let (nr, ch) = (roles.to_string(), (channels as u8).to_string());
    let stride = 1usize << 16;
    let max_slots = 3 + 2 * kills + 8;
    assert!(16 + max_slots < CNT && SLOT_CNT + 8 * max_slots < HDR && roles <= 7);
    let log = LogFile::new(&name.0, HDR + max_slots * stride);
    log.set(1, stride as u32);
    let cnt = |role: usize, b: u32| log.get(CNT + role * 8 + b as usize);
    let mut run = GoldRun { slots: Vec::new() };
    let mut kids = Kids(Vec::new());
    let mut current = vec![0usize; roles]; // index into kids.0 of each role's live process
    let spawn = |run: &mut GoldRun, role: usize, reset: bool| -> (Child, usize) {
        let slot = run.slots.len();
        run.slots.push((role, false));
        let (s, rs) = (slot.to_string(), (reset as u8).to_string());
        (worker(&["crash-gold", &name.0, &role.to_string(), &s, &log.path, &rs, &nr, &ch]), slot)
    };
    // Has slot fired both of its barriers?
    let warm = |slot: usize| log.range(SLOT_CNT + slot * 8, 7).iter().filter(|&&c| c > 0).count() == 2;
    st.trials += 1;
    for (role, cur) in current.iter_mut().enumerate() {
        let (mut c, _) = spawn(&mut run, role, false);
        assert_eq!(first_line(&mut c, HANG).as_deref(), Some("ready"), "first gold worker not ready");
        *cur = kids.0.len();
        kids.0.push(c);
    }
    for slot in 0..roles {
        if wait_for(Instant::now(), HANG, || warm(slot)).is_none() {
            st.hangs += 1;
            return;
        }
    }
    let mut done = 0;
    while done < kills {
        let role = rng.below(roles as u64) as usize;
        std::thread::sleep(rng.micros(3000));
        let t_kill = kill(&mut kids.0[current[role]]);
        done += 1;
        st.kills += 1;
        run.slots.iter_mut().rev().find(|s| s.0 == role).unwrap().1 = true;
        // The barrier the dead process is not in goes on.
        let (free, observer) = ((role as u32 + 1) % roles as u32, (role + 1) % roles);
        let c0 = cnt(observer, free);
        match wait_for(t_kill, HANG, || cnt(observer, free) > c0) {
            Some(d) => st.detect.push(d),
            None => {
                st.hangs += 1;
                st.inconsistencies.push(format!("g{free} stopped after role {role} was killed"));
                return;
            }
        }
        // Replacements; with probability 1/4 each is killed again at once (in open, reset, attach
        // or its first selects).
        loop {
            let (mut c, slot) = spawn(&mut run, role, true);
            if done < kills && rng.below(4) == 0 {
                std::thread::sleep(rng.micros(4000));
                kill(&mut c);
                done += 1;
                st.kills += 1;
                run.slots[slot].1 = true;
                continue;
            }
            let ready = first_line(&mut c, HANG);
            kids.0.push(c);
            current[role] = kids.0.len() - 1;
            if ready.as_deref() != Some("ready") {
                st.inconsistencies.push(format!("replacement for role {role} failed to start: {ready:?}"));
                return;
            }
            match wait_for(t_kill, HANG, || warm(slot)) {
                Some(d) => st.recover.push(d),
                None => {
                    st.hangs += 1;
                    let n = log.get(16 + slot) as usize;
                    let seen: Vec<u32> = log.range(HDR + slot * stride, n.min(8)).to_vec();
                    let counts: Vec<u32> = (0..roles)
                        .flat_map(|r| (0..roles as u32).map(move |b| (r, b)))
                        .map(|(r, b)| cnt(r, b))
                        .collect();
                    let hist: Vec<String> =
                        run.slots.iter().map(|s| format!("{}{}", s.0, if s.1 { "k" } else { "" })).collect();
                    st.inconsistencies.push(format!(
                        "replacement slot {slot} (role {role}) never fired both: logged {seen:x?}; counters {counts:?}; \
                         slots {hist:?}"
                    ));
                    return;
                }
            }
            break;
        }
    }
    log.set(0, 1);
    let live: Vec<usize> = current.to_vec();
    let mut procs: Vec<Child> = Vec::new();
    for (i, c) in kids.0.drain(..).enumerate() {
        if live.contains(&i) {
            procs.push(c);
        }
    }
    if !wait_all_bounded(&mut procs, HANG) {
        st.hangs += 1;
        st.inconsistencies.push("a Goldsmith process failed or hung at the stop".into());
        return;
    }
    let mut completions = vec![0u64; roles];
    for (b, c) in completions.iter_mut().enumerate() {
        *c = r.alting_attach(&format!("g{b}"), 0).and_then(|f| f.completions()).expect("completions");
    }
    let logs: Vec<Vec<(u32, u32)>> = (0..run.slots.len())
        .map(|s| {
            let n = (log.get(16 + s) as usize).min(stride);
            log.range(HDR + s * stride, n).iter().map(|w| (w >> 24, w & 0xff_ffff)).collect()
        })
        .collect();
    let (bad, hidden) = check_gold(&logs, &run, &completions);
    let channel_reads: u32 = (0..roles).map(|r| log.get(CNT + r * 8 + 7)).sum();
    if channels && channel_reads == 0 {
        st.inconsistencies.push("no channel value was read in the circle".into());
    }
    st.channel_reads += u64::from(channel_reads);
    st.inconsistencies.extend(bad);
    st.hidden += hidden;
}

#[test]
fn goldsmith_random_instant_kills() {
    let _s = serial();
    let t0 = Instant::now();
    let mut rng = Rng::new(1);
    let mut st = Stats::default();
    let total = 400 * scale();
    while st.kills < total && (keep_going() || st.inconsistencies.is_empty()) {
        gold_batch(3, false, 40.min(total - st.kills), &mut rng, &mut st);
    }
    st.finish("goldsmith", t0);
}

#[test]
fn gadget_circle_with_channels_random_instant_kills() {
    let _s = serial();
    let t0 = Instant::now();
    let mut rng = Rng::new(5);
    let mut st = Stats::default();
    let total = 200 * scale();
    while st.kills < total && (keep_going() || st.inconsistencies.is_empty()) {
        gold_batch(5, true, 40.min(total - st.kills), &mut rng, &mut st);
    }
    st.finish("gadget circle (5 units, channels)", t0);
}

// ---------------------------------------------------------------------------------------------
// Channels

/// Decodes a logged value: (writer role, writer slot, seq).
fn decode(v: u32) -> (u32, usize, u32) {
    (v >> 28, ((v >> 20) & 0xff) as usize, v & 0xf_ffff)
}

/// One channel batch: a reader and `writers` writers, `kills` random-instant kills.
fn channel_batch(one_to_one: bool, writers: u32, kills: usize, rng: &mut Rng, st: &mut Stats) {
    let name = TempName::new("cchan");
    let r = Region::create(&name.0, &RegionConfig::default()).expect("create region");
    let _ch = if one_to_one { r.channel_one_to_one("ch", 4, false) } else { r.channel("ch", 4, false) }.unwrap();
    let max_slots = 1 + writers as usize + 2 * kills + 8;
    assert!(16 + max_slots < RD && max_slots < 256);
    let log = LogFile::new(&name.0, RD + (1 << 22));
    let o2o = (one_to_one as u8).to_string();
    let mut slots: Vec<(u32, bool)> = Vec::new(); // role (0 = reader) and killed
    let start = |slots: &mut Vec<(u32, bool)>, role: u32| -> Child {
        let slot = slots.len();
        slots.push((role, false));
        let s = slot.to_string();
        if role == 0 {
            worker(&["crash-reader", &name.0, &s, &log.path, &o2o])
        } else {
            worker(&["crash-writer", &name.0, &role.to_string(), &s, &log.path, &o2o])
        }
    };
    let read = || log.get(2);
    st.trials += 1;
    let mut kids = Kids(Vec::new());
    let mut current: Vec<usize> = Vec::new();
    for role in 0..=writers {
        let mut c = start(&mut slots, role);
        assert_eq!(first_line(&mut c, HANG).as_deref(), Some("ready"), "first channel worker not ready");
        current.push(kids.0.len());
        kids.0.push(c);
    }
    let progressed = |from: u32| wait_for(Instant::now(), HANG, || read() >= from + 5);
    if progressed(0).is_none() {
        st.hangs += 1;
        return;
    }
    let mut done = 0;
    while done < kills {
        let role = rng.below(u64::from(writers) + 1) as u32;
        std::thread::sleep(rng.micros(3000));
        let c0 = read();
        let t_kill = kill(&mut kids.0[current[role as usize]]);
        done += 1;
        st.kills += 1;
        slots.iter_mut().rev().find(|s| s.0 == role).unwrap().1 = true;
        if role != 0 && writers > 1 {
            // Another writer goes on; the reader must get past the dead writer's slot.
            match wait_for(t_kill, HANG, || read() >= c0 + 5) {
                Some(d) => st.detect.push(d),
                None => {
                    st.hangs += 1;
                    st.inconsistencies.push(format!("reader stuck after writer role {role} was killed"));
                    return;
                }
            }
        }
        loop {
            let mut c = start(&mut slots, role);
            if done < kills && rng.below(4) == 0 {
                std::thread::sleep(rng.micros(4000));
                kill(&mut c);
                done += 1;
                st.kills += 1;
                slots.last_mut().unwrap().1 = true;
                continue;
            }
            let ready = first_line(&mut c, HANG);
            kids.0.push(c);
            current[role as usize] = kids.0.len() - 1;
            if ready.as_deref() != Some("ready") {
                st.inconsistencies.push(format!("replacement for role {role} failed to start: {ready:?}"));
                return;
            }
            let c1 = read();
            match wait_for(t_kill, HANG, || read() >= c1 + 5) {
                Some(d) => st.recover.push(d),
                None => {
                    st.hangs += 1;
                    st.inconsistencies.push(format!("no traffic after the replacement of role {role}"));
                    return;
                }
            }
            break;
        }
        if read() as usize > (1 << 22) - (1 << 16) {
            break; // log nearly full: check this batch
        }
    }
    // Stop: writers finish their current write, then the reader drains the channel.
    log.set(0, 1);
    let mut ws: Vec<Child> = current[1..].iter().map(|&i| std::mem::replace(&mut kids.0[i], dummy())).collect();
    let reader_i = current[0];
    let stopped = wait_all_bounded(&mut ws, HANG);
    log.set(0, 2);
    let mut rd = vec![std::mem::replace(&mut kids.0[reader_i], dummy())];
    if !stopped || !wait_all_bounded(&mut rd, HANG) {
        st.hangs += 1;
        st.inconsistencies.push("a channel process failed or hung at the stop".into());
        return;
    }
    st.inconsistencies.extend(check_channel(&log.range(RD, read() as usize), &slots, &log));
}

/// A placeholder child (an exited `true`) for handles moved out of [`Kids`].
fn dummy() -> Child {
    let mut c = std::process::Command::new("true").spawn().expect("spawn true");
    let _ = c.wait();
    c
}

fn check_channel(values: &[u32], slots: &[(u32, bool)], log: &LogFile) -> Vec<String> {
    let mut bad = Vec::new();
    let mut per: HashMap<usize, Vec<u32>> = HashMap::new();
    for &v in values {
        let (role, slot, seq) = decode(v);
        match slots.get(slot) {
            Some(&(r, _)) if r == role && r != 0 => per.entry(slot).or_default().push(seq),
            _ => bad.push(format!("value {v:#x} from no writer slot")),
        }
    }
    let reader_kills = slots.iter().filter(|s| s.0 == 0 && s.1).count();
    let mut lost = 0usize;
    for (slot, &(role, killed)) in slots.iter().enumerate() {
        if role == 0 {
            continue;
        }
        let completed = log.get(16 + slot);
        let seqs = per.remove(&slot).unwrap_or_default();
        if seqs.windows(2).any(|w| w[1] <= w[0]) {
            bad.push(format!("writer slot {slot}: values duplicated or out of order"));
        }
        let delivered = seqs.iter().filter(|&&s| s < completed).count();
        lost += completed as usize - delivered.min(completed as usize);
        for &s in &seqs {
            if s > completed || (s == completed && !killed) {
                bad.push(format!("writer slot {slot} (killed: {killed}): value {s} read, {completed} written"));
            }
        }
    }
    if lost > reader_kills {
        bad.push(format!("{lost} written values never read, but only {reader_kills} readers were killed"));
    }
    bad
}

fn channel_scenario(one_to_one: bool, kills: usize, what: &str) {
    let _s = serial();
    let t0 = Instant::now();
    let mut rng = Rng::new(2 + one_to_one as u64);
    let mut st = Stats::default();
    let total = kills * scale();
    let writers = if one_to_one { 1 } else { 2 };
    while st.kills < total && (keep_going() || st.inconsistencies.is_empty()) {
        channel_batch(one_to_one, writers, 60.min(total - st.kills), &mut rng, &mut st);
    }
    st.finish(what, t0);
}

#[test]
fn any_to_one_channel_random_instant_kills() {
    channel_scenario(false, 200, "channel any-to-one");
}

#[test]
fn one_to_one_channel_random_instant_kills() {
    channel_scenario(true, 150, "channel one-to-one");
}

#[test]
fn checkers_catch_broken_logs() {
    // A mutation check of the checkers themselves: they must reject what a broken protocol
    // would produce.
    let run = GoldRun { slots: vec![(0, false), (1, false), (2, false)] };
    let good = vec![vec![(0, 1), (2, 1)], vec![(0, 1), (1, 1)], vec![(2, 1), (1, 1)]];
    assert!(check_gold(&good, &run, &[1, 1, 1]).0.is_empty(), "{:?}", check_gold(&good, &run, &[1, 1, 1]));
    let mut skipped = good.clone();
    skipped[0][0] = (0, 2); // role 0 saw ticket 2 of g0 without 1
    assert!(!check_gold(&skipped, &run, &[2, 1, 1]).0.is_empty());
    // A killed incarnation may hide one event, not two.
    let run_k = GoldRun { slots: vec![(0, true), (1, false), (2, false), (0, false)] };
    let one = vec![vec![(0, 1)], vec![(0, 1), (0, 2), (0, 3), (1, 1)], vec![(1, 1)], vec![(0, 3)]];
    let two = vec![vec![(0, 1)], vec![(0, 1), (0, 2), (0, 3), (0, 4), (1, 1)], vec![(1, 1)], vec![(0, 4)]];
    assert_eq!(check_gold(&one, &run_k, &[3, 1, 0]), (vec![], 1));
    assert!(!check_gold(&two, &run_k, &[4, 1, 0]).0.is_empty());
    // A channel value duplicated, or lost without a reader kill, is caught.
    let log = LogFile::new(&TempName::new("ccheck").0, 64);
    log.set(17, 2); // writer slot 1 completed 2 writes
    let slots = [(0, false), (1, false)];
    let v = |seq: u32| 1 << 28 | 1 << 20 | seq;
    assert!(check_channel(&[v(0), v(1)], &slots, &log).is_empty());
    assert!(!check_channel(&[v(0), v(0), v(1)], &slots, &log).is_empty());
    assert!(!check_channel(&[v(1)], &slots, &log).is_empty());
    assert!(!check_channel(&[v(0), v(1), v(2)], &slots, &log).is_empty());
    // A cycle: role 0 logs g2 before g0, role 1 g0 before g1, role 2 g1 before g2.
    let cyc = vec![vec![(2, 1), (0, 1)], vec![(0, 1), (1, 1)], vec![(1, 1), (2, 1)]];
    assert!(check_gold(&cyc, &run, &[1, 1, 1]).0.iter().any(|p| p.contains("global order")));
}
