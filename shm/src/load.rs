//! The machine's load as the waiting policy sees it: Linux's runnable-task count, read from
//! `/proc/loadavg`, and the process-wide [`Contention`] memory the parkers hand to waits.
//!
//! `/proc/loadavg`'s fourth field is `nr_running/nr_threads`: `nr_running` is the number of tasks
//! runnable on the whole machine at the moment of the read (the reader included), the same count
//! as `/proc/stat`'s `procs_running` but without formatting every CPU's and interrupt's counters.
//! The file is opened once per process and re-read with `pread` at offset 0 (one system call,
//! about a microsecond; `seq_file` regenerates the text on every read at offset 0, and a `pread`
//! shares no file position with forked children). Waits call it only through
//! [`Contention::load`], at most once per `refresh_ns` per process, and only after their spin
//! phase failed.
//!
//! The count is machine-wide, while the scheduler shares CPUs between groups first (autogroups per
//! session, cgroups): CPU-bound work in *another* group does not take a yield's slice from ours,
//! yet reads as busy; so do compiler jobs and the like that block often and give a yield's CPU
//! back within microseconds. So by default the count alone never stops yields (slow yields do;
//! see [`Tuning::busy_samples`]); it lifts busy verdicts (an idle CPU) and caps spinning while
//! more tasks are runnable than there are CPUs. `MUSTER_LOAD_BUSY=1` lets a busy count stop
//! yields by itself.
//!
//! Where the file cannot be read (not Linux, a sandbox without `/proc`), the sample is `None` and
//! the policy decides from yield timings alone.

use muster_core::contention::{Contention, Load, Tuning};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

/// Parses `/proc/loadavg` (`"0.18 0.55 0.30 1/96 9208"`) into its running-task count.
pub fn parse_running(text: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(text).ok()?;
    let field = text.split_ascii_whitespace().nth(3)?;
    let (running, _threads) = field.split_once('/')?;
    running.parse().ok()
}

/// The CPUs to compare the machine-wide runnable count with: the online CPUs, or fewer if this
/// process may use fewer (affinity, cgroup quota: `available_parallelism`). With fewer, a
/// machine-wide count below the online CPUs does not mean *our* CPUs are free, so the smaller
/// number is the safe one: its errors read "busy" (a futex wake-up where a yield would have done),
/// never "quiet" (a yield into a busy loop's slice).
pub fn load_cpus() -> u32 {
    static CPUS: OnceLock<u32> = OnceLock::new();
    *CPUS.get_or_init(|| {
        // SAFETY: sysconf has no preconditions; a failure returns -1, handled below.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        let usable = std::thread::available_parallelism().map_or(1, |n| n.get());
        let online = usize::try_from(online).ok().filter(|&n| n > 0).unwrap_or(usable);
        u32::try_from(online.min(usable)).unwrap_or(u32::MAX)
    })
}

/// Reads the machine's load now (one `pread`), or `None` if `/proc/loadavg` is unavailable.
pub fn sample() -> Option<Load> {
    static FILE: OnceLock<Option<File>> = OnceLock::new();
    let file = FILE.get_or_init(|| File::open("/proc/loadavg").ok()).as_ref()?;
    let mut buf = [0u8; 128];
    let n = file.read_at(&mut buf, 0).ok()?;
    let running = parse_running(&buf[..n])?;
    Some(Load { running, cpus: load_cpus() })
}

/// The tunables for this process: [`Tuning::DEFAULT`], overridden by `MUSTER_LOAD_SENSE=0`
/// (ignore the machine's load and yield timings: the quiet-machine policy), `MUSTER_LOAD_BUSY=1`
/// (a busy runnable count alone stops yields; see [`Tuning::busy_samples`]),
/// `MUSTER_LOAD_REFRESH_NS`, `MUSTER_SLOW_YIELD_NS`, `MUSTER_BUSY_HOLD_NS`,
/// `MUSTER_BUSY_MAX_HOLD_NS`, `MUSTER_STRIKE_WINDOW_NS` (read once).
fn tuning_from_env() -> Tuning {
    let mut t = Tuning::DEFAULT;
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(v) = var("MUSTER_LOAD_SENSE") {
        t.enabled = v != 0;
    }
    if let Some(v) = var("MUSTER_LOAD_BUSY") {
        t.busy_samples = v != 0;
    }
    if let Some(v) = var("MUSTER_LOAD_REFRESH_NS") {
        t.refresh_ns = v;
    }
    if let Some(v) = var("MUSTER_SLOW_YIELD_NS") {
        t.slow_yield_ns = v;
    }
    if let Some(v) = var("MUSTER_BUSY_HOLD_NS") {
        t.hold_ns = v;
    }
    if let Some(v) = var("MUSTER_BUSY_MAX_HOLD_NS") {
        t.max_hold_ns = v;
    }
    if let Some(v) = var("MUSTER_STRIKE_WINDOW_NS") {
        t.strike_window_ns = v;
    }
    t
}

/// This process's contention memory (one for all its regions and heap barriers: they share the
/// machine).
pub fn process_contention() -> &'static Contention {
    static MEMORY: OnceLock<Contention> = OnceLock::new();
    MEMORY.get_or_init(|| Contention::new(tuning_from_env()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_running_field() {
        assert_eq!(parse_running(b"0.18 0.55 0.30 1/96 9208\n"), Some(1));
        assert_eq!(parse_running(b"12.00 9.51 7.02 17/1203 42\n"), Some(17));
        assert_eq!(parse_running(b"0.18 0.55 0.30"), None);
        assert_eq!(parse_running(b"0.18 0.55 0.30 x/96 1"), None);
        assert_eq!(parse_running(b"0.18 0.55 0.30 196 1"), None);
        assert_eq!(parse_running(&[0xff, 0xfe]), None);
    }

    #[test]
    fn samples_this_machine() {
        if let Some(l) = sample() {
            // The reader itself is running.
            assert!(l.running >= 1, "{l:?}");
            assert!(l.cpus >= 1);
        } else {
            assert!(File::open("/proc/loadavg").is_err(), "/proc/loadavg exists but did not parse");
        }
    }
}
