//! Roles of the worker for the random-instant SIGKILL tests (`tests/crash_alting.rs`,
//! `tests/crash_region.rs`). Each role may be killed at any instant; what it has *finished* it
//! records in a shared log (a file of u32 words, see [`Log`]) so the parent can check that the
//! survivors' view stays consistent with the dead one's.
//!
//! * `crash-gold REGION ROLE SLOT LOG RESET [N CHANNELS]`: one of N (default 3: Goldsmith)
//!   processes in a circle of barriers `g0..g{N-1}`: role r offers g{r}[0] and g{r-1}[1]. With
//!   CHANNELS=1 (the Gadget1-style circle) it also writes a counter to its right-hand neighbour on
//!   the one-to-one channel `k{r}` after every event (try_write: dropped when full) and selects
//!   on the input from its left-hand neighbour `k{r-1}` beside the barriers; the values it reads
//!   from each writer incarnation must increase.
//!   With RESET=1 it first resets its front-ends (their previous owner was killed). Logs every
//!   event as `barrier << 24 | ticket` at `HDR + SLOT * stride`, the count at `16 + SLOT`, and
//!   per-role per-barrier counters at `CNT + ROLE * 8 + barrier` and per-slot ones at
//!   `SLOT_CNT + SLOT * 8 + barrier` (N <= 7); channel values read at `CNT + ROLE * 8 + 7`. Stops when word 0 is non-zero.
//! * `crash-writer REGION ROLE SLOT LOG ONE2ONE`: writes `ROLE << 28 | SLOT << 20 | seq` on
//!   channel `ch` (capacity 4), seq = 0, 1, ...; after each write returns, word `16 + SLOT` = seq
//!   + 1. Stops when word 0 is non-zero.
//! * `crash-reader REGION SLOT LOG ONE2ONE`: reads `ch`, appending each value at `RD + n` with n in
//!   word 2 (continuing where the previous reader stopped). Drains and stops once word 0 is 2.
//! * `crash-region PREFIX SLOT COUNT`: for k in 0..COUNT, `open_or_create` PREFIX-k (small
//!   capacities), checks the capacities, opens channel `c` and writes SLOT into it; prints
//!   `ok WORST_NS` (the slowest open_or_create).

use crate::{fail, num, say, Log};
use muster::{Error, Region, RegionConfig, Select};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

/// First word of the Goldsmith event logs.
pub(crate) const HDR: usize = 4096;
/// Per-role per-barrier event counters.
pub(crate) const CNT: usize = 1024;
/// Per-slot per-barrier event counters.
pub(crate) const SLOT_CNT: usize = 2048;
/// First word of the channel reader's value log.
pub(crate) const RD: usize = 4096;

fn open(name: &str) -> Region {
    Region::open(name).unwrap_or_else(|e| fail(format!("open: {e}")))
}

pub(crate) fn gold(a: &[String]) {
    let region = open(&a[2]);
    let (role, slot) = (num(a, 3) as usize, num(a, 4) as usize);
    let log = Log::open(&a[5]);
    let stride = log.at(1).load(SeqCst) as usize;
    let n = if a.len() > 7 { num(a, 7) } else { 3 };
    let channels = a.len() > 8 && num(a, 8) == 1;
    if !(3..=7).contains(&n) || role as u32 >= n {
        fail("role out of range".into());
    }
    let r = role as u32;
    let offers = [(r, 0), ((r + n - 1) % n, 1)];
    let offers = &offers;
    if num(a, 6) == 1 {
        for &(b, i) in offers {
            region.alting_reset(&format!("g{b}"), i).unwrap_or_else(|e| fail(format!("reset g{b}[{i}]: {e}")));
        }
    }
    let fes: Vec<_> = offers
        .iter()
        .map(|&(b, i)| region.alting_attach(&format!("g{b}"), i).unwrap_or_else(|e| fail(format!("attach g{b}: {e}"))))
        .collect();
    let mut alt = region.alternative().unwrap_or_else(|e| fail(format!("alternative: {e}")));
    for f in &fes {
        alt.add_alting(f).unwrap_or_else(|e| fail(format!("add: {e}")));
    }
    let open_ch = |k: u32| {
        region.channel_one_to_one(&format!("k{k}"), 4, false).unwrap_or_else(|e| fail(format!("channel k{k}: {e}")))
    };
    let (out, input) = if channels { (Some(open_ch(r)), Some(open_ch((r + n - 1) % n))) } else { (None, None) };
    if let Some(i) = &input {
        alt.add_channel(i).unwrap_or_else(|e| fail(format!("add_channel: {e}")));
    }
    // Last value read from each writer incarnation (slot).
    let mut last_in: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    let mut sent = 0u64;
    say("ready");
    let mut rng = crate::alting::Rng::new((slot as u64) << 8 | role as u64);
    let mut n = 0usize;
    while log.at(0).load(SeqCst) == 0 {
        match alt.select(Select::Fair, Some(Duration::from_millis(5))) {
            Ok(2) => {
                let Some(i) = &input else { fail("channel guard without a channel".into()) };
                let v = i.try_read().unwrap_or_else(|e| fail(format!("read: {e}")));
                let v = v.unwrap_or_else(|| fail("input guard fired on an empty channel".into()));
                let (from, seq) = (v >> 32, v & 0xffff_ffff);
                if last_in.get(&from).is_some_and(|&p| seq <= p) {
                    fail(format!("channel value {seq} from slot {from} after {:?}", last_in.get(&from)));
                }
                last_in.insert(from, seq);
                log.at(CNT + role * 8 + 7).fetch_add(1, SeqCst);
            }
            Ok(g) => {
                let b = offers[g].0;
                if let Some(o) = &out {
                    sent += 1;
                    let _ = o.try_write((slot as u64) << 32 | sent).unwrap_or_else(|e| fail(format!("write: {e}")));
                }
                let t = alt.ticket().unwrap_or_else(|e| fail(format!("ticket: {e}"))).unwrap_or_else(|| {
                    fail("a barrier fired without a ticket".into());
                });
                if n >= stride {
                    fail("log full".into());
                }
                log.at(HDR + slot * stride + n).store(b << 24 | t, SeqCst);
                n += 1;
                log.at(16 + slot).store(n as u32, SeqCst);
                log.at(CNT + role * 8 + b as usize).fetch_add(1, SeqCst);
                log.at(SLOT_CNT + slot * 8 + b as usize).fetch_add(1, SeqCst);
                // Vary the timing so kills land in every phase (offering, completing, waiting,
                // idle), and keep the logs small.
                match rng.below(4) {
                    0 => {}
                    1 => std::thread::yield_now(),
                    _ => std::thread::sleep(Duration::from_micros(20)),
                }
            }
            Err(Error::Timeout) => {}
            Err(e) => fail(format!("select: {e}")),
        }
    }
    say(&format!("done {n}"));
}

fn channel(r: &Region, one_to_one: bool) -> muster::Channel {
    let c = if one_to_one { r.channel_one_to_one("ch", 4, false) } else { r.channel("ch", 4, false) };
    c.unwrap_or_else(|e| fail(format!("channel: {e}")))
}

pub(crate) fn writer(a: &[String]) {
    let region = open(&a[2]);
    let (role, slot) = (num(a, 3), num(a, 4));
    let log = Log::open(&a[5]);
    let ch = channel(&region, num(a, 6) == 1);
    if role >= 8 || slot >= 256 {
        fail("role or slot out of range".into());
    }
    say("ready");
    let mut seq = 0u32;
    let t = Instant::now();
    while log.at(0).load(SeqCst) == 0 {
        let v = u64::from(role << 28 | slot << 20 | seq);
        loop {
            // A one-to-one channel refuses us while the previous (killed) writer is not yet known
            // to be dead; bounded.
            match ch.write(v) {
                Ok(()) => break,
                Err(Error::Misuse(_)) if t.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => fail(format!("write: {e}")),
            }
        }
        seq += 1;
        log.at(16 + slot as usize).store(seq, SeqCst);
        if seq >= 1 << 20 {
            fail("sequence overflow".into());
        }
    }
    say(&format!("done {seq}"));
}

pub(crate) fn reader(a: &[String]) {
    let region = open(&a[2]);
    let slot = num(a, 3) as usize;
    let log = Log::open(&a[4]);
    let ch = channel(&region, num(a, 5) == 1);
    say("ready");
    let mut n = log.at(2).load(SeqCst) as usize;
    let mut got = 0u32;
    loop {
        let stop = log.at(0).load(SeqCst) == 2;
        match ch.read(Some(Duration::from_millis(5))) {
            Ok(v) => {
                log.at(RD + n).store(v as u32, SeqCst);
                n += 1;
                log.at(2).store(n as u32, SeqCst);
                got += 1;
            }
            Err(Error::Timeout) if stop => break,
            Err(Error::Timeout) => {}
            Err(e) => fail(format!("read: {e}")),
        }
    }
    log.at(16 + slot).store(got, SeqCst);
    say(&format!("done {got}"));
}

/// The configuration every racer of `crash-region` creates with.
pub(crate) fn small_config() -> RegionConfig {
    RegionConfig { max_barriers: 64, max_processes: 32, max_agents: 32, max_channels: 8, ..RegionConfig::default() }
}

pub(crate) fn region_racer(a: &[String]) {
    let cfg = small_config();
    let (slot, count) = (num(a, 3), num(a, 4));
    let mut worst = 0u128;
    for k in 0..count {
        let name = format!("{}-{k}", a[2]);
        let t = Instant::now();
        let r = Region::open_or_create(&name, &cfg).unwrap_or_else(|e| fail(format!("open_or_create {name}: {e}")));
        worst = worst.max(t.elapsed().as_nanos());
        if r.capacities() != (cfg.max_barriers, cfg.max_processes) {
            fail(format!("{name}: capacities {:?}", r.capacities()));
        }
        let ch = r.channel("c", 8, true).unwrap_or_else(|e| fail(format!("{name}: channel: {e}")));
        ch.try_write(u64::from(slot)).unwrap_or_else(|e| fail(format!("{name}: write: {e}")));
    }
    say(&format!("ok {worst}"));
}
