//! JCSP's AltingBarrierGadget1 circle (see the AltingBarrier documentation), headless, with every
//! unit a process: N units around a circle, barrier i shared by the `span` consecutive units that
//! hold its front-ends, a rail track of channels between neighbours. Units alternate off and standby
//! (a fair select over their barriers with a random timeout); a fired barrier makes its group play:
//! a colour passed down the track, then three flashes (syncs on the group's barrier). The parent
//! checks the per-process logs. Every step is bounded by a watchdog.
//!
//! Reproduce a run with `MUSTER_SEED=<seed printed by the test>`.

mod common;

use common::{wait_all_bounded, worker, TempName};
use muster::{Region, RegionConfig};
use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// Bound for the whole run of the units after the stop flag.
const LIMIT: Duration = Duration::from_secs(60);
/// Entries per unit in the log (each play takes 5).
const STRIDE: usize = 5 * 4000;

/// One log entry of a unit (see `gadget` in `tests/worker/alting.rs`).
#[derive(Clone, Copy, Debug)]
struct Entry {
    kind: u32,
    j: usize,
    b: usize,
    ticket: u32,
    colour: u64,
    t: u64,
}

/// One unit's view of one play.
#[derive(Debug)]
struct Seen {
    unit: usize,
    j: usize,
    colour: u64,
    start: u64,
    end: u64,
}

fn seed() -> u64 {
    std::env::var("MUSTER_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos().into()
    })
}

fn read_word(f: &std::fs::File, i: usize) -> u32 {
    let mut b = [0u8; 4];
    f.read_exact_at(&mut b, (i * 4) as u64).unwrap();
    u32::from_le_bytes(b)
}

fn gadget_circle(units: usize, span: usize, min_plays: u32, max_run: Duration) {
    let name = TempName::new("gadget");
    let r = Region::create(&name.0, &RegionConfig::default()).expect("create region");
    for b in 0..units {
        r.alting_create(&format!("g{b}"), span as u32).unwrap();
    }
    for k in 0..units {
        r.channel(&format!("t{k}"), 1, false).unwrap();
    }
    let seed = seed();
    eprintln!("gadget {units}/{span}: MUSTER_SEED={seed}");
    let path = format!("/dev/shm/{}.log", name.0);
    let words = 256 + units * STRIDE * 6;
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    file.set_len((words * 4) as u64).unwrap();
    let t0 = Instant::now();
    let (n, s, seed_s, stride) = (units.to_string(), span.to_string(), seed.to_string(), STRIDE.to_string());
    let mut kids: Vec<_> =
        (0..units).map(|u| worker(&["gadget", &name.0, &n, &s, &u.to_string(), &seed_s, &path, &stride])).collect();
    // Run until every unit played `min_plays` times, `max_run` passed, or a unit stopped.
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let least = (0..units).map(|u| read_word(&file, 64 + u)).min().unwrap();
        let stopped = read_word(&file, 0) != 0 || kids.iter_mut().any(|k| k.try_wait().unwrap().is_some());
        if least >= min_plays || t0.elapsed() > max_run || stopped {
            break;
        }
    }
    file.write_all_at(&1u32.to_le_bytes(), 0).unwrap();
    assert!(wait_all_bounded(&mut kids, LIMIT), "a gadget unit failed or hung (MUSTER_SEED={seed})");
    let secs = t0.elapsed().as_secs_f64();
    let bytes = std::fs::read(&path).unwrap();
    let w = |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());

    // 1. Each unit's log is a sequence of whole plays: start, 3 flashes with the next tickets, end;
    //    so a unit never plays in two groups at once. Its barrier is the one its choice names.
    let mut plays: HashMap<(usize, u32), Vec<Seen>> = HashMap::new();
    let mut per_unit = vec![0u32; units];
    for (u, played) in per_unit.iter_mut().enumerate() {
        let count = w(128 + u) as usize;
        let entries: Vec<Entry> = (0..count)
            .map(|k| {
                let e = 256 + u * STRIDE * 6 + k * 6;
                Entry {
                    kind: w(e) & 0xff,
                    j: (w(e) >> 8 & 0xff) as usize,
                    b: (w(e) >> 16) as usize,
                    ticket: w(e + 1),
                    colour: u64::from(w(e + 2)) | u64::from(w(e + 3)) << 32,
                    t: u64::from(w(e + 4)) | u64::from(w(e + 5)) << 32,
                }
            })
            .collect();
        assert_eq!(count % 5, 0, "unit {u}: a play was cut short: {:?}", &entries[count - count % 5..]);
        for p in entries.chunks(5) {
            let s = p[0];
            assert_eq!((s.kind, p[4].kind), (1, 3), "unit {u}: play does not start/end properly: {p:?}");
            assert_eq!(s.b, (u + s.j) % units, "unit {u}: choice {} is not barrier {}", s.j, s.b);
            for (k, f) in p[1..4].iter().enumerate() {
                assert_eq!(f.kind, 2, "unit {u}: overlapping plays: {p:?}");
                assert_eq!((f.j, f.b), (s.j, s.b), "unit {u}: flash on another barrier: {p:?}");
                assert_eq!(f.ticket, s.ticket + 1 + k as u32, "unit {u}: flash tickets not consecutive: {p:?}");
            }
            assert_eq!((p[4].b, p[4].ticket), (s.b, s.ticket));
            assert!(p[4].t >= s.t, "unit {u}: clock went backwards");
            plays.entry((s.b, s.ticket)).or_default().push(Seen {
                unit: u,
                j: s.j,
                colour: s.colour,
                start: s.t,
                end: p[4].t,
            });
            *played += 1;
        }
        assert_eq!(*played, w(64 + u), "unit {u}: play count");
    }
    // 2. Every play (barrier, ticket) was played by exactly its span units, each through its own
    //    front-end, all with the colour the up-track unit chose, all at the same time (every member
    //    started before any member ended: they met at the flashes).
    for ((b, t), seen) in &mut plays {
        seen.sort_by_key(|s| s.j);
        let who: Vec<(usize, usize)> = seen.iter().map(|s| (s.j, s.unit)).collect();
        let want: Vec<(usize, usize)> = (0..span).map(|j| (j, (b + units - j) % units)).collect();
        assert_eq!(who, want, "g{b}#{t}: wrong members");
        assert!(seen.iter().all(|s| s.colour == seen[0].colour), "g{b}#{t}: members disagree on the colour: {seen:?}");
        let (first_end, last_start) = (seen.iter().map(|s| s.end).min(), seen.iter().map(|s| s.start).max());
        assert!(last_start < first_end, "g{b}#{t}: members did not play together: {seen:?}");
    }
    // 3. Per barrier every completion is accounted for: play tickets 1, 5, 9, ... (each play is one
    //    select plus 3 flashes), and the barrier's completion counter agrees.
    let mut total = 0;
    for b in 0..units {
        let mut tickets: Vec<u32> = plays.keys().filter(|k| k.0 == b).map(|k| k.1).collect();
        tickets.sort_unstable();
        let want: Vec<u32> = (0..tickets.len() as u32).map(|k| 4 * k + 1).collect();
        assert_eq!(tickets, want, "g{b}: play tickets");
        let fe = r.alting_attach(&format!("g{b}"), 0).expect("attach after the units exited");
        assert_eq!(fe.completions().unwrap(), 4 * tickets.len() as u64, "g{b}: completions");
        total += tickets.len();
    }
    let (lo, hi) = (per_unit.iter().min().unwrap(), per_unit.iter().max().unwrap());
    eprintln!("gadget {units}/{span}: {total} plays in {secs:.2} s, per unit {lo}..{hi} (MUSTER_SEED={seed})");
    assert!(*lo >= 1, "a unit never played (MUSTER_SEED={seed}): {per_unit:?}");
    if *lo < min_plays {
        eprintln!("gadget {units}/{span}: stopped at {max_run:?} before every unit played {min_plays} times");
    }
}

#[test]
fn gadget_circle_30_units_span_6() {
    gadget_circle(30, 6, 50, Duration::from_secs(20));
}

#[test]
fn gadget_circle_8_units_span_2() {
    gadget_circle(8, 2, 300, Duration::from_secs(10));
}
