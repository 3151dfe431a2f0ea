//! Alting-barrier roles of the worker (`tests/alting_multiprocess.rs`, `tests/alting_gadget.rs`).
//!
//! Every role opens REGION (argument 2), prints progress lines on stdout and exits 0 on success,
//! 1 when a check fails. Blocking steps that could wait for a peer forever are bounded where the
//! API allows it (`poll`, `select` with a timeout, `Channel::read` with a timeout); the rest are
//! bounded by the parent's watchdog, which kills the process.

use crate::{fail, num, say, Log};
use muster::{Alternative, AltingBarrier, Error, Region, Select};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

/// Bound for a single blocking step inside a worker.
const STEP: Duration = Duration::from_secs(60);

/// splitmix64: a small deterministic PRNG (seeded from the test's seed and the process's number).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// CLOCK_MONOTONIC in ns (system-wide, so comparable between processes).
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

fn open(a: &[String]) -> Region {
    Region::open(&a[2]).unwrap_or_else(|e| fail(format!("open: {e}")))
}

fn attach(r: &Region, name: &str, index: u32) -> AltingBarrier {
    r.alting_attach(name, index).unwrap_or_else(|e| fail(format!("attach {name}[{index}]: {e}")))
}

fn alternative(r: &Region, fes: &[&AltingBarrier]) -> Alternative {
    let mut alt = r.alternative().unwrap_or_else(|e| fail(format!("alternative: {e}")));
    for f in fes {
        alt.add_alting(f).unwrap_or_else(|e| fail(format!("add_alting: {e}")));
    }
    alt
}

/// The ticket of this thread's last select or sync (it must have fired a barrier).
fn ticket(alt: &Alternative) -> u32 {
    alt.ticket().unwrap_or_else(|e| fail(format!("ticket: {e}"))).unwrap_or_else(|| fail("no ticket".into()))
}

/// Checks that `r` is `Error::Misuse`.
fn misuse<T: std::fmt::Debug>(what: &str, r: muster::Result<T>) {
    match r {
        Err(Error::Misuse(_)) => {}
        other => fail(format!("{what}: expected Error::Misuse, got {other:?}")),
    }
}

/// Waits (bounded by [`STEP`]) until log word `i` is non-zero.
fn await_flag(log: &Log, i: usize) {
    let t = Instant::now();
    while log.at(i).load(SeqCst) == 0 {
        if t.elapsed() > STEP {
            fail(format!("log flag {i} never set"));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// `alt-sync REGION NAME INDEX COUNT`: attaches front-end INDEX of NAME, prints `ready`, then
/// syncs COUNT times printing `ticket T` after each.
pub(crate) fn alt_sync(a: &[String]) {
    let region = open(a);
    let fe = attach(&region, &a[3], num(a, 4));
    let alt = alternative(&region, &[]);
    say("ready");
    for _ in 0..num(a, 5) {
        fe.sync().unwrap_or_else(|e| fail(format!("sync: {e}")));
        say(&format!("ticket {}", ticket(&alt)));
    }
}

/// `gadget REGION UNITS SPAN ME SEED LOG STRIDE`: one unit of JCSP's AltingBarrierGadget1 circle,
/// headless. Unit `me` holds front-end j of barrier `g{(me + j) % UNITS}` (the seed's
/// re-arrangement), reads the rail track from `t{me + 1}` and writes `t{me}`. Alternates off (sleep
/// 0-2 ms) and standby (fair select over its SPAN barriers, timeout 1-5 ms); a fired barrier starts a
/// play: the front-end-0 unit (furthest up-track) picks a colour, the others read it from up-track
/// and pass it down-track, then the group flashes (3 syncs on the same barrier).
///
/// LOG words: 0 stop flag (set by the parent, or by a unit whose log is full), 64 + me plays,
/// 128 + me entries, entries of 6 words from `256 + me * STRIDE * 6`:
/// `[kind | j << 8 | barrier << 16, ticket, colour lo, colour hi, time lo, time hi]`, kind 1 = play
/// start (ticket of the select, colour), 2 = flash (ticket of the sync), 3 = play end.
pub(crate) fn gadget(a: &[String]) {
    let region = open(a);
    let (units, span, me) = (num(a, 3) as usize, num(a, 4) as usize, num(a, 5) as usize);
    let seed: u64 = a[6].parse().unwrap_or_else(|_| fail("seed".into()));
    let log = Log::open(&a[7]);
    let stride = num(a, 8) as usize;
    let fes: Vec<AltingBarrier> =
        (0..span).map(|j| attach(&region, &format!("g{}", (me + j) % units), j as u32)).collect();
    let chan = |k: usize| region.channel(&format!("t{k}"), 1, false).unwrap_or_else(|e| fail(format!("channel: {e}")));
    let (input, output) = (chan((me + 1) % units), chan(me));
    let mut alt = alternative(&region, &fes.iter().collect::<Vec<_>>());
    let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(me as u64));
    let base = 256 + me * stride * 6;
    let mut n = 0usize;
    let mut push = |kind: u32, j: usize, b: usize, ticket: u32, colour: u64| {
        let t = now_ns();
        let w = [kind | (j as u32) << 8 | (b as u32) << 16, ticket, colour as u32, (colour >> 32) as u32, t as u32];
        for (k, v) in w.iter().chain([(t >> 32) as u32].iter()).enumerate() {
            log.at(base + n * 6 + k).store(*v, SeqCst);
        }
        n += 1;
        log.at(128 + me).store(n as u32, SeqCst);
    };
    let mut plays = 0u32;
    while log.at(0).load(SeqCst) == 0 {
        if log.at(128 + me).load(SeqCst) as usize + 5 > stride {
            log.at(0).store(1, SeqCst); // log full: everybody stops
            break;
        }
        std::thread::sleep(Duration::from_micros(rng.below(2001))); // off
        let standby = Duration::from_micros(1000 + rng.below(4001));
        let j = match alt.select(Select::Fair, Some(standby)) {
            Ok(j) => j,
            Err(Error::Timeout) => continue,
            Err(e) => fail(format!("select: {e}")),
        };
        // Play.
        let b = (me + j) % units;
        let t = ticket(&alt);
        let colour = if j == 0 {
            rng.next()
        } else {
            input.read(Some(STEP)).unwrap_or_else(|e| fail(format!("unit {me}: track read in g{b}#{t}: {e}")))
        };
        push(1, j, b, t, colour);
        if j != span - 1 {
            // The group owns its section of track: the channel must be empty.
            if !output.try_write(colour).unwrap_or_else(|e| fail(format!("track write: {e}"))) {
                fail(format!("unit {me}: track t{me} full at the start of g{b}#{t}"));
            }
        }
        for _ in 0..3 {
            if j == 0 {
                std::thread::sleep(Duration::from_micros(200)); // the time keeper
            }
            fes[j].sync().unwrap_or_else(|e| fail(format!("flash sync: {e}")));
            push(2, j, b, ticket(&alt), 0);
        }
        push(3, j, b, t, colour);
        plays += 1;
        log.at(64 + me).store(plays, SeqCst);
    }
    say(&format!("done {plays}"));
}

/// `resign-race REGION WHO TRIALS MILLIS LOG`: three processes on alting barrier `r` (3
/// front-ends) and plain barrier `gate` (3 parties). Per trial, after the gate: WHO 0 selects the
/// barrier (fair, with a long timeout), WHO 1 syncs, WHO 2 resigns after a random short spin (the
/// resign races the partners' offers, and either side may complete the barrier); gate again; WHO 2
/// enrolls again. WHO 0 stops everybody (LOG word 0) after MILLIS. Tickets of WHO 0/1 at
/// `16 + who * TRIALS + trial`; LOG word 1 + who = trials done.
pub(crate) fn resign_race(a: &[String]) {
    let region = open(a);
    let (who, trials, millis) = (num(a, 3) as usize, num(a, 4) as usize, num(a, 5));
    let log = Log::open(&a[6]);
    let fe = attach(&region, "r", who as u32);
    let gate = region.barrier("gate", 3).unwrap_or_else(|e| fail(format!("gate: {e}")));
    let mut alt = alternative(&region, &[&fe]);
    let mut rng = Rng::new(who as u64);
    let t0 = Instant::now();
    let mut done = 0;
    for k in 0..trials {
        if who == 0 && t0.elapsed() > Duration::from_millis(u64::from(millis)) {
            log.at(0).store(1, SeqCst);
        }
        gate.wait().unwrap_or_else(|e| fail(format!("gate 1: {e}")));
        if log.at(0).load(SeqCst) != 0 {
            break;
        }
        match who {
            0 => match alt.select(Select::Fair, Some(STEP)) {
                Ok(0) => {}
                other => fail(format!("trial {k}: select: {other:?}")),
            },
            1 => fe.sync().unwrap_or_else(|e| fail(format!("trial {k}: sync: {e}"))),
            _ => {
                for _ in 0..rng.below(3000) {
                    std::hint::spin_loop();
                }
                fe.resign().unwrap_or_else(|e| fail(format!("trial {k}: resign: {e}")));
            }
        }
        if who < 2 {
            log.at(16 + who * trials + k).store(ticket(&alt), SeqCst);
        }
        gate.wait().unwrap_or_else(|e| fail(format!("gate 2: {e}")));
        if who == 2 {
            fe.enroll().unwrap_or_else(|e| fail(format!("trial {k}: enroll: {e}")));
        }
        done = k + 1;
    }
    log.at(1 + who).store(done as u32, SeqCst);
    say(&format!("done {done}"));
}

/// `misuse REGION LOG`: every misuse case against barrier `m` (2 front-ends; the parent process
/// owns front-end 0) and `o` (1 front-end), each followed by a normal synchronisation with the
/// parent. Lines: `resigned` (the parent then fires `m` alone and sets LOG word 2), `sync`,
/// `ticket T`, `expanded X Y Z` (the parent starts `alt-hold` processes on them), `ticket T`,
/// `contracted` (after setting LOG word 0 for the holders), `sync`, `ticket T`, `done`.
pub(crate) fn misuse_role(a: &[String]) {
    let region = open(a);
    let log = Log::open(&a[3]);
    // A front-end owned by another live process.
    misuse("attach m[0] owned by the parent", region.alting_attach("m", 0));
    let fa = attach(&region, "m", 1);
    misuse("enroll while enrolled", fa.enroll());
    fa.resign().unwrap_or_else(|e| fail(format!("resign: {e}")));
    misuse("resign while resigned", fa.resign());
    misuse("sync while resigned", fa.sync());
    misuse("poll(0) while resigned", fa.poll(Duration::ZERO));
    misuse("poll(1ms) while resigned", fa.poll(Duration::from_millis(1)));
    misuse("expand while resigned", fa.expand(1));
    misuse("contract while resigned", fa.contract(&[0]));
    let mut alt = alternative(&region, &[&fa]);
    misuse("select while resigned", alt.select(Select::Fair, Some(Duration::from_millis(5))));
    misuse("priority select while resigned", alt.select(Select::Priority, None));
    say("resigned");
    await_flag(&log, 2); // the parent fired m alone
    fa.enroll().unwrap_or_else(|e| fail(format!("enroll: {e}")));
    say("sync");
    fa.sync().unwrap_or_else(|e| fail(format!("sync after misuse: {e}")));
    say(&format!("ticket {}", ticket(&alt)));
    // Contract with front-ends that did not come from one expand of this barrier.
    let x = fa.expand(3).unwrap_or_else(|e| fail(format!("expand: {e}")));
    let ob = attach(&region, "o", 0);
    let y = ob.expand(1).unwrap_or_else(|e| fail(format!("expand o: {e}")));
    misuse("contract with an original front-end", fa.contract(&[0]));
    misuse("contract with its own front-end", fa.contract(&[fa.index()]));
    misuse("contract with part of an expand", fa.contract(&x[..2]));
    misuse("contract with a duplicate", fa.contract(&[x[0], x[0], x[1]]));
    misuse("contract with another barrier's expand", fa.contract(&y));
    misuse("contract of x through another barrier", ob.contract(&x));
    match fa.contract(&[]) {
        Err(Error::InvalidArgument(_)) | Err(Error::Misuse(_)) => {}
        other => fail(format!("contract(&[]): {other:?}")),
    }
    say(&format!("expanded {} {} {}", x[0], x[1], x[2]));
    // Five parties fire together: the parent, this process and three holders of x.
    fa.sync().unwrap_or_else(|e| fail(format!("sync of the expanded barrier: {e}")));
    say(&format!("ticket {}", ticket(&alt)));
    await_flag(&log, 1); // the holders synced and are waiting (they still own x)
    fa.contract(&x).unwrap_or_else(|e| fail(format!("contract: {e}")));
    log.at(0).store(1, SeqCst);
    // Use after contract.
    misuse("attach a contracted front-end", region.alting_attach("m", x[0]));
    misuse("contract twice", fa.contract(&x));
    say("contracted");
    say("sync");
    fa.sync().unwrap_or_else(|e| fail(format!("sync after contract: {e}")));
    say(&format!("ticket {}", ticket(&alt)));
    ob.contract(&y).unwrap_or_else(|e| fail(format!("contract o: {e}")));
    ob.sync().unwrap_or_else(|e| fail(format!("sync o alone: {e}")));
    say("done");
}

/// `alt-hold REGION NAME INDEX LOG`: attaches, prints `ready`, syncs once (`ticket T`), counts
/// itself in LOG word 1, waits for LOG word 0 (its front-end was contracted by another process),
/// then checks that every use of the stale handle is misuse; prints `stale ok`.
pub(crate) fn alt_hold(a: &[String]) {
    let region = open(a);
    let log = Log::open(&a[5]);
    let fe = attach(&region, &a[3], num(a, 4));
    let mut alt = alternative(&region, &[&fe]);
    say("ready");
    fe.sync().unwrap_or_else(|e| fail(format!("sync: {e}")));
    say(&format!("ticket {}", ticket(&alt)));
    log.at(1).fetch_add(1, SeqCst);
    await_flag(&log, 0);
    misuse("sync after contract", fe.sync());
    misuse("poll after contract", fe.poll(Duration::from_millis(1)));
    misuse("select after contract", alt.select(Select::Fair, Some(Duration::from_millis(5))));
    misuse("expand after contract", fe.expand(1));
    misuse("resign after contract", fe.resign());
    misuse("enroll after contract", fe.enroll());
    say("stale ok");
}

/// `poll-partner REGION LOG`: the partner of the poll test on `p` (front-end 1). Prints `ready`;
/// after LOG word 0: `offering`, a committed sync, `ticket T`; then polls 20 ms until one fires
/// (`ticket T`); then, with the parent not offering, times 100 x poll(1 ms) and 100 x poll(0)
/// (all false; poll(1 ms) never shorter than 1 ms): `timing MIN_NS MAX_NS ZERO_MAX_NS`.
pub(crate) fn poll_partner(a: &[String]) {
    let region = open(a);
    let log = Log::open(&a[3]);
    let fe = attach(&region, "p", 1);
    let alt = alternative(&region, &[]);
    say("ready");
    await_flag(&log, 0);
    say("offering");
    fe.sync().unwrap_or_else(|e| fail(format!("sync: {e}")));
    say(&format!("ticket {}", ticket(&alt)));
    let mut tries = 0;
    while !fe.poll(Duration::from_millis(20)).unwrap_or_else(|e| fail(format!("poll: {e}"))) {
        tries += 1;
        if tries > 3000 {
            fail("two pollers never met".into());
        }
    }
    say(&format!("ticket {}", ticket(&alt)));
    await_flag(&log, 1); // the parent is no longer polling
    let (mut lo, mut hi, mut zero_hi) = (u128::MAX, 0u128, 0u128);
    for _ in 0..100 {
        let t = Instant::now();
        if fe.poll(Duration::from_millis(1)).unwrap_or_else(|e| fail(format!("poll(1ms): {e}"))) {
            fail("poll(1ms) fired with the partner absent".into());
        }
        let d = t.elapsed().as_nanos();
        if d < 1_000_000 {
            fail(format!("poll(1ms) returned after {d} ns"));
        }
        (lo, hi) = (lo.min(d), hi.max(d));
        let t = Instant::now();
        if fe.poll(Duration::ZERO).unwrap_or_else(|e| fail(format!("poll(0): {e}"))) {
            fail("poll(0) fired with the partner absent".into());
        }
        zero_hi = zero_hi.max(t.elapsed().as_nanos());
    }
    say(&format!("timing {lo} {hi} {zero_hi}"));
}

/// `expand-load REGION WHO SYNCS LOG`: barrier `l` (3 front-ends). WHO 0 syncs SYNCS times, WHO 1
/// fair-selects (long timeout) SYNCS times, both logging tickets at `16 + who * SYNCS + k`, then
/// set LOG word 2 + who. WHO 2, until both are done: expands by 1-4, checks that the barrier did
/// not fire while expanded, contracts, then offers for 2 ms (fair select with timeout), logging
/// each fire's ticket at `16 + 2 * SYNCS + k`. WHO 2 prints `cycles C fires F`.
pub(crate) fn expand_load(a: &[String]) {
    let region = open(a);
    let (who, syncs) = (num(a, 3) as usize, num(a, 4) as usize);
    let log = Log::open(&a[5]);
    let fe = attach(&region, "l", who as u32);
    let mut alt = alternative(&region, &[&fe]);
    match who {
        0 | 1 => {
            for k in 0..syncs {
                if who == 0 {
                    fe.sync().unwrap_or_else(|e| fail(format!("sync {k}: {e}")));
                } else if alt.select(Select::Fair, Some(STEP)).unwrap_or_else(|e| fail(format!("select {k}: {e}"))) != 0
                {
                    fail("bad guard".into());
                }
                log.at(16 + who * syncs + k).store(ticket(&alt), SeqCst);
            }
            log.at(2 + who).store(1, SeqCst);
            say("done");
        }
        _ => {
            let mut rng = Rng::new(7);
            let (mut cycles, mut fires) = (0u32, 0usize);
            while log.at(2).load(SeqCst) == 0 || log.at(3).load(SeqCst) == 0 {
                let before = fe.completions().unwrap_or_else(|e| fail(format!("completions: {e}")));
                let x = fe.expand(1 + rng.below(4) as u32).unwrap_or_else(|e| fail(format!("expand: {e}")));
                std::thread::yield_now();
                fe.contract(&x).unwrap_or_else(|e| fail(format!("contract: {e}")));
                let after = fe.completions().unwrap_or_else(|e| fail(format!("completions: {e}")));
                if after != before {
                    fail(format!("fired without the expander: {before} -> {after}"));
                }
                cycles += 1;
                match alt.select(Select::Fair, Some(Duration::from_millis(2))) {
                    Ok(_) => {
                        if fires >= syncs {
                            fail("more fires than syncs".into());
                        }
                        log.at(16 + 2 * syncs + fires).store(ticket(&alt), SeqCst);
                        fires += 1;
                    }
                    Err(Error::Timeout) => {}
                    Err(e) => fail(format!("select: {e}")),
                }
            }
            say(&format!("cycles {cycles} fires {fires}"));
        }
    }
}

/// `kill-sel REGION ROLE SLOT LOG RESET`: Goldsmith-style selects on `k0`, `k1`, `k2` (2
/// front-ends each). ROLE 0 (P) offers k0[1], k2[0]; ROLE 1 (Q) offers k1[1], k2[1]; ROLE 2 (V, the
/// victim) offers k0[0], k1[0], after `alting_reset` of both if RESET is 1 (a fresh process taking
/// over a killed victim's front-ends). Loops fair selects with a 5 ms timeout until LOG word 0;
/// logs `barrier << 24 | ticket` at `256 + SLOT * STRIDE + k` (STRIDE = LOG word 1), the count at
/// 16 + SLOT and per-barrier counts at `64 + SLOT * 4 + barrier`. Prints `ready` once attached.
pub(crate) fn kill_sel(a: &[String]) {
    let region = open(a);
    let (role, slot) = (num(a, 3) as usize, num(a, 4) as usize);
    let log = Log::open(&a[5]);
    let stride = log.at(1).load(SeqCst) as usize;
    let offers: [[(u32, u32); 2]; 3] = [[(0, 1), (2, 0)], [(1, 1), (2, 1)], [(0, 0), (1, 0)]];
    if num(a, 6) == 1 {
        for (b, i) in offers[role] {
            region.alting_reset(&format!("k{b}"), i).unwrap_or_else(|e| fail(format!("reset: {e}")));
        }
    }
    let fes: Vec<AltingBarrier> = offers[role].iter().map(|&(b, i)| attach(&region, &format!("k{b}"), i)).collect();
    let mut alt = alternative(&region, &fes.iter().collect::<Vec<_>>());
    say("ready");
    let mut n = 0usize;
    while log.at(0).load(SeqCst) == 0 {
        match alt.select(Select::Fair, Some(Duration::from_millis(5))) {
            Ok(g) => {
                let b = offers[role][g].0;
                if n >= stride {
                    fail("log full".into());
                }
                log.at(256 + slot * stride + n).store(b << 24 | ticket(&alt), SeqCst);
                n += 1;
                log.at(16 + slot).store(n as u32, SeqCst);
                log.at(64 + slot * 4 + b as usize).fetch_add(1, SeqCst);
                // P and Q alone fire k2 very fast: keep the logs small.
                std::thread::sleep(Duration::from_micros(20));
            }
            Err(Error::Timeout) => {}
            Err(e) => fail(format!("select: {e}")),
        }
    }
    say(&format!("done {n}"));
}
