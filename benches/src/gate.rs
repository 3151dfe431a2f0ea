//! The step gate between the harness and a configuration's workers (see `ctl.rs`): futex waits
//! and wakes on the control file's gate and done words. Workers sleep in the kernel while other
//! systems take their turn, so an interleaved round costs the idle systems no CPU.
//!
//! `std` has no futex API and no crate offers a process-shared futex on a `MAP_SHARED` word with
//! a timeout in a form simpler than these two system calls (`atomic-wait` is process-private), so
//! they are written here.

use crate::ctl::{Ctl, GATE_QUIT};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout` (shared futex: the word may live in a
/// mapping shared between processes). Spurious returns are fine: every caller loops.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as _ };
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call; `ts` is a valid timespec.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, &ts as *const libc::timespec);
    }
}

/// Wakes every waiter on `word`.
pub fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE only reads the address.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
    }
}

/// The parent this worker started under; a worker whose parent is gone (the harness killed
/// without cleaning up) stops waiting at the gate and exits instead of lingering.
static PARENT: OnceLock<libc::pid_t> = OnceLock::new();

fn parent_gone() -> bool {
    // SAFETY: getppid has no preconditions.
    let now = unsafe { libc::getppid() };
    *PARENT.get_or_init(|| now) != now
}

/// Worker side: waits until step `step` may run. `false`: leave (the harness said quit, or died).
pub fn enter(ctl: &Ctl, step: u32) -> bool {
    let g = ctl.gate();
    let _ = parent_gone(); // records the parent on the first call
    loop {
        let v = g.load(Ordering::Acquire);
        if v == GATE_QUIT || parent_gone() {
            return false;
        }
        if v > step {
            return true;
        }
        futex_wait(g, v, Duration::from_millis(200));
    }
}

/// Worker side: this worker finished step `step`.
pub fn leave(ctl: &Ctl, step: u32) {
    let parties = ctl.header().parties;
    let d = ctl.done().fetch_add(1, Ordering::AcqRel) + 1;
    if d == parties * (step + 1) {
        futex_wake(ctl.done());
    }
}

/// Harness side: lets step `step` run.
pub fn open(ctl: &Ctl, step: u32) {
    ctl.gate().store(step + 1, Ordering::Release);
    futex_wake(ctl.gate());
}

/// Harness side: tells every waiting worker to leave.
pub fn quit(ctl: &Ctl) {
    ctl.gate().store(GATE_QUIT, Ordering::Release);
    futex_wake(ctl.gate());
}

/// Harness side: whether every worker finished step `step`.
pub fn finished(ctl: &Ctl, step: u32) -> bool {
    ctl.done().load(Ordering::Acquire) >= ctl.header().parties * (step + 1)
}

/// Harness side: sleeps until step `step` is finished or `timeout` passes.
pub fn wait_finished(ctl: &Ctl, step: u32, timeout: Duration) {
    let d = ctl.done().load(Ordering::Acquire);
    if d < ctl.header().parties * (step + 1) {
        futex_wait(ctl.done(), d, timeout);
    }
}
