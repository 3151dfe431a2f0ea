//! Alting API details through the Rust front door, with threads of one process: a front-end
//! leaving for good (`contract_self`, JCSP `contract()`), one-to-one channels, ownership moving
//! between threads by drop + attach. (Across processes: alting_multiprocess.rs.)

mod common;

use common::{bounded, TempName, WATCHDOG};
use muster::{Error, Region, RegionConfig};

fn region(tag: &str) -> (TempName, Region) {
    let name = TempName::new(tag);
    let r = Region::create(&name.0, &RegionConfig::default()).expect("create region");
    (name, r)
}

#[test]
fn contract_self_leaves_the_barrier_for_good() {
    let (_n, r) = region("cself");
    r.alting_create("x", 1).unwrap();
    let fe0 = r.alting_attach("x", 0).unwrap();
    let added = fe0.expand(1).unwrap();
    assert_eq!(added.len(), 1);
    let (r2, idx) = (r.clone(), added[0]);
    let helper = std::thread::spawn(move || {
        let f = r2.alting_attach("x", idx).unwrap();
        f.sync().unwrap(); // meets fe0's sync
        f.contract_self().unwrap();
    });
    fe0.sync().unwrap();
    bounded(WATCHDOG, move || helper.join().unwrap());
    // Only fe0 is left: it fires alone, and the contracted front-end fronts nothing.
    fe0.sync().unwrap();
    assert_eq!(fe0.completions().unwrap(), 2);
    assert!(matches!(r.alting_attach("x", idx), Err(Error::Misuse(_))));
}

#[test]
fn one_to_one_channel_refuses_a_second_writer() {
    let (_n, r) = region("o2o");
    let ch = r.channel_one_to_one("o", 2, false).unwrap();
    ch.write(1).unwrap();
    let r2 = r.clone();
    let second = bounded(WATCHDOG, move || {
        let c = r2.channel_one_to_one("o", 2, false).unwrap();
        matches!(c.write(2), Err(Error::Misuse(_)))
    });
    assert!(second, "a second writer must be refused");
    ch.write(3).unwrap();
    assert_eq!(ch.try_read().unwrap(), Some(1));
    assert_eq!(ch.try_read().unwrap(), Some(3));
    assert_eq!(ch.try_read().unwrap(), None);
    // An any-to-one channel takes both writers.
    let any = r.channel("any", 4, false).unwrap();
    any.write(5).unwrap();
    let r3 = r.clone();
    bounded(WATCHDOG, move || r3.channel("any", 4, false).unwrap().write(6).unwrap());
    assert_eq!((any.try_read().unwrap(), any.try_read().unwrap()), (Some(5), Some(6)));
}

#[test]
fn dropping_a_front_end_hands_it_over() {
    let (_n, r) = region("hand");
    r.alting_create("h", 2).unwrap();
    let mine = r.alting_attach("h", 0).unwrap();
    let r2 = r.clone();
    // Owned by this live thread: another thread may not take it...
    assert!(bounded(WATCHDOG, move || matches!(r2.alting_attach("h", 0), Err(Error::Misuse(_)))));
    drop(mine);
    // ...until it is dropped; it stayed enrolled, so the barrier still needs two parties.
    let r3 = r.clone();
    let other = std::thread::spawn(move || {
        let f = r3.alting_attach("h", 0).unwrap();
        f.sync().unwrap();
        f.completions().unwrap()
    });
    let f1 = r.alting_attach("h", 1).unwrap();
    f1.sync().unwrap();
    assert_eq!(bounded(WATCHDOG, move || other.join().unwrap()), 1);
}
