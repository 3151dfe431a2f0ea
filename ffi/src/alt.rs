//! The Alternative: a choice among alting barriers, channel inputs, skip and a timeout.

use std::cell::RefCell;
use std::ffi::c_int;

use muster_shm::{Alternative, Region, Select};

use crate::alting::{code, frontend_arg, muster_alting, timeout_arg, Owner};
use crate::channel::{channel_arg, muster_channel};
use crate::error::{fail, guard, MUSTER_EINVAL, MUSTER_ETIMEDOUT, MUSTER_OK};
use crate::put;

/// `muster_alt_select` mode: any ready guard may be chosen.
pub const MUSTER_SELECT_ARBITRARY: c_int = 0;
/// `muster_alt_select` mode: guard order; a ready channel or skip guard beats the guards listed
/// after it. Priorities among barrier guards cannot be honoured (as in JCSP) and are not.
pub const MUSTER_SELECT_PRI: c_int = 1;
/// `muster_alt_select` mode: rotating priority; the guard chosen last has the lowest priority in
/// the next select of this Alternative, so no ready guard starves.
pub const MUSTER_SELECT_FAIR: c_int = 2;

/// An Alternative (opaque): a list of guards (alting barrier front-ends, channel inputs, skip)
/// of which `muster_alt_select` fires exactly one (JCSP `Alternative`). Created by
/// `muster_alt_create`, released by `muster_alt_destroy`. A per-thread handle (see
/// `muster_alting`): its guards must be handles of the same thread and region; it is bound to
/// that region by the first barrier or channel guard added.
pub struct muster_alt {
    owner: Owner,
    state: RefCell<AltState>,
}

struct AltState {
    /// Bound at the first barrier or channel guard.
    alt: Option<Alternative>,
    /// Skip guards added before binding (guards 0 .. early_skips - 1).
    early_skips: usize,
    /// Rotation of a fair select among early skips (before binding).
    fair_next: usize,
}

impl AltState {
    /// The Alternative, bound to `region` (and the calling thread) if it is not bound yet.
    fn bind(&mut self, region: &Region) -> muster_shm::Result<&mut Alternative> {
        let alt = match self.alt.take() {
            Some(a) => a,
            None => {
                let mut a = region.alternative()?;
                for _ in 0..self.early_skips {
                    a.add_skip();
                }
                a
            }
        };
        Ok(self.alt.insert(alt))
    }
}

/// # Safety
/// `p` must be NULL or a live handle.
unsafe fn with(p: *const muster_alt, f: impl FnOnce(&mut AltState) -> c_int) -> c_int {
    guard(|| {
        if p.is_null() {
            return fail(MUSTER_EINVAL, "alt is NULL");
        }
        // SAFETY: non-NULL live handle (caller guarantee). Only `&` is formed; `state` is
        // borrowed only after the owner check passed on this thread.
        let h = unsafe { &*p };
        if let Err(c) = h.owner.check("Alternative") {
            return c;
        }
        match h.state.try_borrow_mut() {
            Ok(mut s) => f(&mut s),
            Err(_) => fail(crate::error::MUSTER_EMISUSE, "Alternative used re-entrantly"),
        }
    })
}

fn index(i: usize) -> c_int {
    c_int::try_from(i).unwrap_or(c_int::MAX)
}

/// Creates an empty Alternative for the calling thread.
///
/// `out`: receives the new handle on success (untouched on failure).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL `out`).
///
/// Thread-safety: may be called from any thread; the handle belongs to the calling thread.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_create(out: *mut *mut muster_alt) -> c_int {
    guard(|| {
        if out.is_null() {
            return fail(MUSTER_EINVAL, "out is NULL");
        }
        let state = AltState { alt: None, early_skips: 0, fair_next: 0 };
        let h = Box::into_raw(Box::new(muster_alt { owner: Owner::here(), state: RefCell::new(state) }));
        // SAFETY: non-NULL and writable (caller guarantee).
        unsafe { put(out, h) };
        MUSTER_OK
    })
}

/// Destroys an Alternative (its guards' handles stay open).
///
/// `alt`: the handle, or NULL (a no-op). In a child forked from the creating process the call
/// does nothing but return `MUSTER_OK`.
///
/// Returns: `MUSTER_OK`; `MUSTER_EMISUSE` if called by another thread than the creator (the handle
/// then stays valid).
///
/// Thread-safety: on the creating thread only; no call may use `alt` afterwards.
///
/// # Safety
/// `alt` must be NULL or a handle returned by libmuster and not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_destroy(alt: *mut muster_alt) -> c_int {
    guard(|| {
        if alt.is_null() {
            return MUSTER_OK;
        }
        // SAFETY: a live handle (caller guarantee); only `owner` is read.
        let owner = unsafe { (*alt).owner };
        if owner.forked() {
            return MUSTER_OK;
        }
        if let Err(c) = owner.check("Alternative") {
            return c;
        }
        // SAFETY: a live handle from Box::into_raw; the caller gives up its use.
        drop(unsafe { Box::from_raw(alt) });
        MUSTER_OK
    })
}

/// Adds an alting barrier guard: the select offers the barrier and fires this guard when the
/// barrier completes (for every party at once). Offering one barrier twice in one Alternative is
/// an error at select time.
///
/// Returns: the guard's index (>= 0; guards are numbered 0, 1, ... in the order added);
/// `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (the front-end belongs to another region handle or
/// thread than the Alternative's other guards, or a handle is used by a thread other than its
/// creator), `MUSTER_EFULL` (no free agent slot).
///
/// Thread-safety: on the creating thread only. Keep `frontend` open while `alt` is selected.
///
/// # Safety
/// `alt` and `frontend` must each be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_add_alting(alt: *mut muster_alt, frontend: *mut muster_alting) -> c_int {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        with(alt, |s| {
            let (fe, region) = match frontend_arg(frontend) {
                Ok(x) => x,
                Err(c) => return c,
            };
            code(s.bind(region).and_then(|a| a.add_alting(fe)), index)
        })
    }
}

/// Adds a channel input guard: it fires when the channel holds a value; then read the value with
/// `muster_channel_try_read` (it is there).
///
/// Returns: the guard's index (>= 0); errors as `muster_alt_add_alting`.
///
/// Thread-safety: on the creating thread only. Keep `channel` open while `alt` is selected.
///
/// # Safety
/// `alt` and `channel` must each be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_add_channel(alt: *mut muster_alt, channel: *mut muster_channel) -> c_int {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        with(alt, |s| {
            let (ch, region) = match channel_arg(channel) {
                Ok(x) => x,
                Err(c) => return c,
            };
            code(s.bind(region).and_then(|a| a.add_channel(ch)), index)
        })
    }
}

/// Adds a guard that is always ready (CSP `SKIP`): a select with it never blocks.
///
/// Returns: the guard's index (>= 0); `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (wrong thread).
///
/// Thread-safety: on the creating thread only.
///
/// # Safety
/// `alt` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_add_skip(alt: *mut muster_alt) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(alt, |s| match s.alt.as_mut() {
            Some(a) => index(a.add_skip()),
            None => {
                s.early_skips += 1;
                index(s.early_skips - 1)
            }
        })
    }
}

/// Waits until one guard fires and returns its index (JCSP `select`, `priSelect`,
/// `fairSelect`). A fired barrier guard means the synchronisation happened for every party (see
/// `muster_alt_ticket`); a fired channel guard means a value can be read.
///
/// `mode`: `MUSTER_SELECT_ARBITRARY`, `MUSTER_SELECT_PRI` or `MUSTER_SELECT_FAIR`.
/// `timeout_ns`: a timeout guard in nanoseconds on `CLOCK_MONOTONIC`; negative: none.
///
/// Returns: the fired guard's index (>= 0); `MUSTER_ETIMEDOUT` if no guard fired in time (never
/// earlier); `MUSTER_EINVAL` (NULL, unknown `mode`, no guards and no timeout); `MUSTER_EMISUSE`
/// (a barrier offered twice, a guard's front-end resigned, contracted or owned by another live
/// agent, wrong thread/process); `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the creating thread only. Signals do not interrupt the wait.
///
/// # Safety
/// `alt` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_select(alt: *mut muster_alt, mode: c_int, timeout_ns: i64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(alt, |s| {
            let mode = match mode {
                MUSTER_SELECT_ARBITRARY => Select::Arbitrary,
                MUSTER_SELECT_PRI => Select::Priority,
                MUSTER_SELECT_FAIR => Select::Fair,
                m => return fail(MUSTER_EINVAL, format_args!("unknown select mode {m}")),
            };
            let timeout = timeout_arg(timeout_ns);
            if let Some(a) = s.alt.as_mut() {
                return code(a.select(mode, timeout), index);
            }
            // Not bound to a region: only skip guards (or none).
            let n = s.early_skips;
            if n == 0 {
                return match timeout {
                    None => fail(MUSTER_EINVAL, "select with no guards and no timeout would wait forever"),
                    Some(d) => {
                        std::thread::sleep(d);
                        fail(MUSTER_ETIMEDOUT, "timed out")
                    }
                };
            }
            let i = if mode == Select::Fair { s.fair_next % n } else { 0 };
            s.fair_next = i + 1;
            index(i)
        })
    }
}

/// The completion number (ticket 1, 2, ...) of the barrier that fired in the calling thread's last
/// select in this Alternative's region: the same for every party of that event, so processes can
/// match their logs. Read it right after `muster_alt_select`.
///
/// `out`: receives the ticket, or 0 if the last select fired a channel, skip or timeout guard.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument), `MUSTER_EMISUSE` (wrong
/// thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the creating thread only.
///
/// # Safety
/// `alt` must be NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_ticket(alt: *mut muster_alt, out: *mut u32) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(alt, |s| {
            if out.is_null() {
                return fail(MUSTER_EINVAL, "out is NULL");
            }
            let r = match s.alt.as_ref() {
                Some(a) => a.ticket(),
                None => Ok(None),
            };
            code(r, |t| {
                // SAFETY: non-NULL and writable (caller guarantee).
                put(out, t.unwrap_or(0));
                MUSTER_OK
            })
        })
    }
}

/// The number of guards added.
///
/// Returns: the count (>= 0); `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (wrong thread/process).
///
/// Thread-safety: on the creating thread only.
///
/// # Safety
/// `alt` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alt_count(alt: *const muster_alt) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(alt, |s| index(s.alt.as_ref().map_or(s.early_skips, Alternative::len))) }
}
