//! Error codes, `muster_strerror`, the per-thread error details and the panic firewall.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};

use muster_shm::Error;

/// Success. Functions that return a count or an index return it (>= 0) instead.
pub const MUSTER_OK: c_int = 0;
/// An argument is invalid: a NULL pointer, a value out of range (capacities, config size or
/// reserved fields), or a timeout the clock cannot represent.
pub const MUSTER_EINVAL: c_int = -1;
/// A region or barrier name breaks the naming rules (see `muster_region_create` and
/// `muster_barrier_open`) or is not valid UTF-8.
pub const MUSTER_ENAME: c_int = -2;
/// The region already exists (`muster_region_create`).
pub const MUSTER_EEXIST: c_int = -3;
/// No region by that name (`muster_region_open`, `muster_region_unlink`), or no alting barrier by
/// that name in the region (`muster_alting_attach`, `muster_alting_reset`).
pub const MUSTER_ENOENT: c_int = -4;
/// A fixed capacity of the region is exhausted: barrier slots, process slots, or the alting
/// capacities of `muster_region_config` (agents, alting barriers, front-ends per barrier,
/// channels).
pub const MUSTER_EFULL: c_int = -5;
/// A timed wait's deadline passed (`muster_barrier_wait_timeout`, `muster_channel_read`,
/// `muster_alt_select`).
pub const MUSTER_ETIMEDOUT: c_int = -6;
/// The member handle was resigned (its timed wait expired, or `muster_barrier_resign` on a
/// membership barrier); enroll again to use it.
pub const MUSTER_ECANCELLED: c_int = -7;
/// The barrier is broken (abort, reset during the wait, or a non-member's timeout) until
/// `muster_barrier_reset`.
pub const MUSTER_EBROKEN: c_int = -8;
/// A member process died while others waited; the barrier is broken until `muster_barrier_reset`.
/// `muster_last_peer_pid` tells which process.
pub const MUSTER_EPEERDIED: c_int = -9;
/// The barrier exists with another kind or party count than requested, or the name belongs to
/// another kind of object (plain barrier, alting barrier, channel).
pub const MUSTER_EMISMATCH: c_int = -10;
/// The region was created with another, incompatible layout version.
pub const MUSTER_EVERSION: c_int = -11;
/// The region file is malformed, truncated or inconsistent.
pub const MUSTER_ECORRUPT: c_int = -12;
/// The call breaks the API's rules: enrolling twice, resigning a non-member, waiting on a
/// membership barrier as a non-member, a second concurrent wait on one member handle, resigning
/// while that handle waits, using a region or barrier handle inherited across `fork` (open the
/// region again in the child). Alting: enrolling an enrolled or resigning a resigned front-end,
/// sync/poll/expand/select on a resigned one, attaching a front-end another live thread or
/// process owns, contracting front-ends that are not one expansion, using a front-end after it
/// was contracted, using a front-end, channel or Alternative handle from another thread than its
/// creator, mixing guards of different regions or threads in one Alternative.
pub const MUSTER_EMISUSE: c_int = -13;
/// The region file exists but this user may not open it.
pub const MUSTER_EPERM: c_int = -14;
/// Memory, shared-memory space or address space could not be obtained.
pub const MUSTER_ENOMEM: c_int = -15;
/// Another operating-system error (see `muster_last_error_message`).
pub const MUSTER_EIO: c_int = -16;
/// A completion action (`muster_barrier_set_action`) failed: it returned non-zero (or, from
/// another language's binding, raised). The generation is broken for every party until
/// `muster_barrier_reset`; the party that ran the action gets this code, the others too.
pub const MUSTER_EACTION: c_int = -17;
/// An internal error: a bug in libmuster was caught before it could cross the C boundary.
/// Codes -18 to -31 are reserved for later versions.
pub const MUSTER_EINTERNAL: c_int = -32;

/// All codes, for tests and for `muster_strerror`.
pub(crate) const CODES: [(c_int, &CStr); 19] = [
    (MUSTER_OK, c"success"),
    (MUSTER_EINVAL, c"invalid argument"),
    (MUSTER_ENAME, c"invalid name"),
    (MUSTER_EEXIST, c"region already exists"),
    (MUSTER_ENOENT, c"no such region, barrier or channel"),
    (MUSTER_EFULL, c"region capacity exhausted"),
    (MUSTER_ETIMEDOUT, c"timed out"),
    (MUSTER_ECANCELLED, c"cancelled: member resigned after a timeout"),
    (MUSTER_EBROKEN, c"barrier broken"),
    (MUSTER_EPEERDIED, c"a peer process died"),
    (MUSTER_EMISMATCH, c"barrier exists with another kind or party count"),
    (MUSTER_EVERSION, c"incompatible region layout version"),
    (MUSTER_ECORRUPT, c"corrupt region"),
    (MUSTER_EMISUSE, c"API misuse"),
    (MUSTER_EPERM, c"permission denied"),
    (MUSTER_ENOMEM, c"out of memory"),
    (MUSTER_EIO, c"i/o error"),
    (MUSTER_EACTION, c"completion action failed"),
    (MUSTER_EINTERNAL, c"internal error in libmuster"),
];

pub(crate) fn strerror(code: c_int) -> &'static CStr {
    CODES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s).unwrap_or(if code > 0 {
        c"success (non-negative result)"
    } else {
        c"unknown error code"
    })
}

struct LastError {
    message: Vec<u8>,
    peer_pid: u32,
}

thread_local! {
    static LAST: RefCell<LastError> = const { RefCell::new(LastError { message: Vec::new(), peer_pid: 0 }) };
}

/// Records `msg` as this thread's last error and returns `code`.
pub(crate) fn fail(code: c_int, msg: impl Display) -> c_int {
    let mut text = msg.to_string().into_bytes();
    text.retain(|b| *b != 0);
    // try_with: a thread being torn down has no error slot; the code alone still gets through.
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.message = text;
        }
    });
    code
}

/// Maps a Rust error to its code, recording the details.
pub(crate) fn from_shm(e: &Error) -> c_int {
    let code = match e {
        Error::InvalidName(_) => MUSTER_ENAME,
        Error::InvalidArgument(_) => MUSTER_EINVAL,
        Error::Exists => MUSTER_EEXIST,
        Error::NotFound => MUSTER_ENOENT,
        Error::Full(_) => MUSTER_EFULL,
        Error::Timeout => MUSTER_ETIMEDOUT,
        Error::Cancelled => MUSTER_ECANCELLED,
        Error::Broken => MUSTER_EBROKEN,
        Error::PeerDied { pid } => {
            let pid = *pid;
            let _ = LAST.try_with(|l| {
                if let Ok(mut l) = l.try_borrow_mut() {
                    l.peer_pid = pid;
                }
            });
            MUSTER_EPEERDIED
        }
        Error::Mismatch { .. } => MUSTER_EMISMATCH,
        Error::Version { .. } => MUSTER_EVERSION,
        Error::Corrupt(_) => MUSTER_ECORRUPT,
        Error::Misuse(_) => MUSTER_EMISUSE,
        Error::Permission => MUSTER_EPERM,
        Error::NoMemory => MUSTER_ENOMEM,
        Error::Io(_) => MUSTER_EIO,
        Error::ActionFailed(_) => MUSTER_EACTION,
        // A variant added to muster_shm after this table was written.
        _ => MUSTER_EIO,
    };
    fail(code, e)
}

/// Copies this thread's last error message into `buf` (see `muster_last_error_message`).
pub(crate) fn last_message(buf: &mut [u8]) -> usize {
    LAST.try_with(|l| match l.try_borrow() {
        Ok(l) => {
            if let Some((last, head)) = buf.split_last_mut() {
                let n = l.message.len().min(head.len());
                head[..n].copy_from_slice(&l.message[..n]);
                if n < head.len() {
                    head[n] = 0;
                } else {
                    *last = 0;
                }
            }
            l.message.len()
        }
        Err(_) => 0,
    })
    .unwrap_or(0)
}

pub(crate) fn last_peer_pid() -> u32 {
    LAST.try_with(|l| l.try_borrow().map(|l| l.peer_pid).unwrap_or(0)).unwrap_or(0)
}

/// Runs an export's body so that no panic crosses the C boundary: a panic becomes
/// `MUSTER_EINTERNAL` with the panic message as the thread's last error.
pub(crate) fn guard(f: impl FnOnce() -> c_int) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(code) => code,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            // Dropping the payload could itself panic; forget it (a leak on a bug path only).
            std::mem::forget(payload);
            fail(MUSTER_EINTERNAL, format_args!("internal error (panic): {msg}"))
        }
    }
}

/// `guard` for exports that return a pointer to a static string.
pub(crate) fn guard_str(f: impl FnOnce() -> &'static CStr) -> *const c_char {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(c"internal error in libmuster").as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_have_messages() {
        for (i, (a, sa)) in CODES.iter().enumerate() {
            assert!(!sa.to_bytes().is_empty());
            for (b, _) in &CODES[i + 1..] {
                assert_ne!(a, b);
            }
            assert_eq!(strerror(*a), *sa);
        }
        assert_eq!(strerror(-1000), c"unknown error code");
        assert_eq!(strerror(i32::MIN), c"unknown error code");
    }

    #[test]
    fn stable_values() {
        let want = [
            MUSTER_EINVAL,
            MUSTER_ENAME,
            MUSTER_EEXIST,
            MUSTER_ENOENT,
            MUSTER_EFULL,
            MUSTER_ETIMEDOUT,
            MUSTER_ECANCELLED,
            MUSTER_EBROKEN,
            MUSTER_EPEERDIED,
            MUSTER_EMISMATCH,
            MUSTER_EVERSION,
            MUSTER_ECORRUPT,
            MUSTER_EMISUSE,
            MUSTER_EPERM,
            MUSTER_ENOMEM,
            MUSTER_EIO,
            MUSTER_EACTION,
        ];
        for (i, c) in want.iter().enumerate() {
            assert_eq!(*c, -(i as c_int) - 1);
        }
    }

    #[test]
    fn message_truncates_and_terminates() {
        fail(MUSTER_EIO, "hello world");
        let mut buf = [0xffu8; 6];
        assert_eq!(last_message(&mut buf), 11);
        assert_eq!(&buf, b"hello\0");
        let mut big = [0xffu8; 32];
        assert_eq!(last_message(&mut big), 11);
        assert_eq!(&big[..12], b"hello world\0");
        assert_eq!(last_message(&mut []), 11);
    }

    #[test]
    fn guard_catches_panics() {
        let code = guard(|| panic!("boom"));
        assert_eq!(code, MUSTER_EINTERNAL);
        let mut buf = [0u8; 64];
        let n = last_message(&mut buf);
        assert!(std::str::from_utf8(&buf[..n]).unwrap().contains("boom"));
    }
}
