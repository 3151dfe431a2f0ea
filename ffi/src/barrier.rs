//! Barrier handles: open, close, membership, waits, abort/reset and queries.

use std::ffi::{c_char, c_int};
use std::time::Duration;

use muster_shm::{Barrier, WaitResult};

use crate::cluster::{not_across_hosts, Remote};
use crate::error::{fail, from_shm, guard, MUSTER_EINVAL, MUSTER_OK};
use crate::region::muster_region;
use crate::{name_arg, put};

/// A handle on a named barrier in a region (opaque). Created by `muster_barrier_open`, released
/// by `muster_barrier_close`.
pub struct muster_barrier {
    pub(crate) inner: Barrier,
    /// On a region with a cluster: the barrier across hosts, which the calls go to (`inner` is
    /// then a non-member handle on its local stage, for the queries).
    pub(crate) remote: Option<Remote>,
}

/// Borrows a handle, or records `MUSTER_EINVAL` for NULL.
///
/// # Safety
/// `p` must be NULL or a live handle.
pub(crate) unsafe fn handle<'a>(p: *const muster_barrier) -> Result<&'a Barrier, c_int> {
    if p.is_null() {
        return Err(fail(MUSTER_EINVAL, "barrier is NULL"));
    }
    // SAFETY: non-NULL; the caller guarantees a live handle, used only through `&` (Barrier is
    // Sync), so concurrent calls on one handle are sound.
    Ok(unsafe { &(*p).inner })
}

/// Runs `f` on the barrier behind `p`, mapping errors to codes.
///
/// # Safety
/// `p` must be NULL or a live handle.
pub(crate) unsafe fn with(p: *const muster_barrier, f: impl FnOnce(&Barrier) -> muster_shm::Result<c_int>) -> c_int {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        match unsafe { handle(p) } {
            Ok(b) => f(b).unwrap_or_else(|e| from_shm(&e)),
            Err(code) => code,
        }
    })
}

/// Runs `remote` on a cluster barrier handle and `local` on any other, mapping errors to codes.
///
/// # Safety
/// `p` must be NULL or a live handle.
pub(crate) unsafe fn with_remote(
    p: *const muster_barrier,
    remote: impl FnOnce(&Remote) -> muster_shm::Result<c_int>,
    local: impl FnOnce(&Barrier) -> muster_shm::Result<c_int>,
) -> c_int {
    guard(|| {
        if p.is_null() {
            return fail(MUSTER_EINVAL, "barrier is NULL");
        }
        // SAFETY: non-NULL; the caller guarantees a live handle, used only through `&` (both
        // kinds are Sync).
        let h = unsafe { &*p };
        let r = match &h.remote {
            Some(c) => remote(c),
            None => local(&h.inner),
        };
        r.unwrap_or_else(|e| from_shm(&e))
    })
}

/// The refusal of a call cluster barriers do not offer.
pub(crate) fn refuse(what: &'static str) -> impl FnOnce(&Remote) -> muster_shm::Result<c_int> {
    move |_| Err(not_across_hosts(what))
}

fn index(r: WaitResult) -> c_int {
    // Indices are below 16384 (the most parties a barrier can have).
    c_int::try_from(r.index).unwrap_or(c_int::MAX)
}

/// Opens the barrier `name` in `region`, creating it if it does not exist.
///
/// `region`: an open region. The barrier handle keeps the region mapped: `region` may be closed
/// before the barrier.
/// `name`: 1 to 64 bytes of UTF-8 without control characters (e.g. `"phase 1"`).
/// `parties`: `> 0` for a counted barrier that releases every `parties` arrivals (any handle may
/// wait; at most 16383); `0` for a membership barrier whose parties are the enrolled handles
/// (see `muster_barrier_enroll`).
/// `out`: receives the new handle on success (untouched on failure).
///
/// On a region whose configuration names a cluster (`muster_region_config.cluster_endpoints` or
/// `MUSTER_CLUSTER`), a membership barrier spans the hosts: its members on every host meet in
/// each generation (inside a host through the region, host leaders through etcd). The first such
/// open connects the region handle to etcd (up to the lease TTL). On such a barrier: a member
/// whose process or host dies breaks the generation everywhere with `MUSTER_EPEERDIED`
/// (`muster_last_error_message` names the host) within about the lease TTL; etcd unreachable
/// for the TTL (or the caller's timeout) gives `MUSTER_EUNAVAILABLE`, and so does a host cut off
/// from etcd; `muster_barrier_reset` clears a broken handle. `muster_barrier_arrive` /
/// `_await` work across hosts (the host's arrival reaches etcd when its local leader awaits; a
/// handle may not arrive, wait or resign again before it awaited its pending arrival to the
/// outcome, `MUSTER_EMISUSE`; a timed-out await leaves the arrival standing).
/// `muster_barrier_parties`, `_waiting` and `_generation` report the local stage (this host);
/// abort, `_is_complete`, `_arrive_and_drop` and completion actions are `MUSTER_EMISUSE`.
/// Counted barriers (`parties > 0`) do not span hosts: `MUSTER_EINVAL`.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument, `parties` > 16383, a counted barrier on
/// a region with a cluster), `MUSTER_ENAME`, `MUSTER_EMISMATCH` (the barrier exists with another
/// kind or party count), `MUSTER_EFULL` (no free barrier slot), `MUSTER_ECORRUPT`,
/// `MUSTER_EUNAVAILABLE` (a region with a cluster whose etcd does not answer).
///
/// Thread-safety: may be called concurrently with any function on the same region; racing
/// openers of one name all get the same barrier.
///
/// # Safety
/// `region` must be NULL or a live region handle; `name` NULL or NUL-terminated; `out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_open(
    region: *mut muster_region,
    name: *const c_char,
    parties: u32,
    out: *mut *mut muster_barrier,
) -> c_int {
    guard(|| {
        if region.is_null() {
            return fail(MUSTER_EINVAL, "region is NULL");
        }
        if out.is_null() {
            return fail(MUSTER_EINVAL, "out is NULL");
        }
        // SAFETY: forwarded caller guarantee.
        let name = match unsafe { name_arg(name, "name") } {
            Ok(n) => n,
            Err(code) => return code,
        };
        // SAFETY: non-NULL live handle (caller guarantee), used through `&` only.
        let handle = unsafe { &*region };
        let region = &handle.inner;
        let opened = match &handle.cluster {
            Some(c) => c
                .barrier(region, name, parties)
                .and_then(|remote| Ok(muster_barrier { inner: region.host_barrier(name, 0)?, remote: Some(remote) })),
            // Routing is decided here (the `cluster` field), so this host's barrier either way.
            None => region.host_barrier(name, parties).map(|inner| muster_barrier { inner, remote: None }),
        };
        match opened {
            Ok(b) => {
                let h = Box::into_raw(Box::new(b));
                // SAFETY: `out` is non-NULL and writable (caller guarantee).
                unsafe { put(out, h) };
                MUSTER_OK
            }
            Err(e) => from_shm(&e),
        }
    })
}

/// Closes a barrier handle. If the handle is an enrolled member it resigns first (which may
/// complete a generation the other members are waiting for). The barrier itself lives on in the
/// region.
///
/// `barrier`: the handle, or NULL (a no-op).
///
/// Returns: `MUSTER_OK`.
///
/// Thread-safety: no other call may use `barrier` concurrently or afterwards (in particular no
/// thread may be waiting on it).
///
/// # Safety
/// `barrier` must be NULL or a handle returned by libmuster and not yet closed.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_close(barrier: *mut muster_barrier) -> c_int {
    guard(|| {
        if !barrier.is_null() {
            // SAFETY: the caller passes a live handle from Box::into_raw and gives up its use.
            drop(unsafe { Box::from_raw(barrier) });
        }
        MUSTER_OK
    })
}

/// Makes this handle a member of a membership barrier (`parties == 0`): the barrier gains one
/// party, counted from the current generation. Only members may wait on a membership barrier. A
/// member whose process dies is resigned by its peers, who see `MUSTER_EPEERDIED`. (Counted
/// barriers have a fixed count; their parties are the processes that arrive, see
/// `muster_barrier_wait`.)
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (already a member, a counted
/// barrier, or handle inherited across `fork`), `MUSTER_EFULL` (16383 parties), `MUSTER_ECORRUPT`. Enrolling in a
/// broken barrier is allowed; the new member's waits fail until someone resets it.
///
/// Thread-safety: do not call concurrently with another enroll/resign/wait on the same handle.
/// Different handles may enroll concurrently. A handle cancelled by a timeout enrolls again
/// with this function.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_enroll(barrier: *mut muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with_remote(barrier, |c| c.enroll().map(|()| MUSTER_OK), |b| b.enroll().map(|()| MUSTER_OK)) }
}

/// Withdraws this member: the barrier loses one party. If all other members are already waiting,
/// this completes their generation. Afterwards a wait on a membership barrier returns
/// `MUSTER_ECANCELLED` until the handle enrolls again.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (not a member, or a wait on
/// this handle is in progress), `MUSTER_ECORRUPT`.
///
/// Thread-safety: not while a thread waits on this handle; other handles are unaffected.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_resign(barrier: *mut muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with_remote(barrier, |c| c.resign().map(|()| MUSTER_OK), |b| b.resign().map(|()| MUSTER_OK)) }
}

/// Arrives at the barrier and blocks until the generation completes (all parties arrived).
///
/// Who is a party: on a counted barrier, a process becomes a party when one of its handles first
/// arrives (through this function, `muster_barrier_wait_timeout`, `muster_barrier_arrive` or
/// `muster_barrier_arrive_and_drop`, from any thread) and stays one until it has closed every
/// such handle; a handle that never arrives (an observer) never makes it one. On a membership
/// barrier the parties are the processes holding enrolled members. A party process that dies at
/// any instant (while waiting, mid-arrival, between its arrival and the release, or between two
/// waits) breaks the current generation for the others with `MUSTER_EPEERDIED` within about
/// 20-100 ms; closing the handles and then exiting breaks nothing.
///
/// Memory ordering: everything any participant did before arriving happens-before everything
/// every participant does after its wait returns, in every process.
///
/// Returns: the arrival index (>= 0), distinct per waiter within a generation; exactly one waiter
/// per generation gets 0 (the leader). Errors: `MUSTER_EINVAL` (NULL), `MUSTER_EBROKEN` (aborted,
/// reset during the wait, a non-member timed out, or already broken), `MUSTER_EPEERDIED` (a
/// member process died; see `muster_last_peer_pid`), `MUSTER_ECANCELLED` (this member was
/// resigned by a timeout or `muster_barrier_resign`), `MUSTER_EMISUSE` (a non-member waiting on a
/// membership barrier, or a second concurrent wait on one member handle), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on a counted barrier, any number of threads may wait on one handle at once
/// (each arrival counts). A member handle stands for one party: one thread waits on it at a
/// time. Signals do not interrupt the wait; use `muster_barrier_wait_timeout` to stay responsive.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_wait(barrier: *mut muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with_remote(barrier, |c| c.wait().map(|w| index(w.local)), |b| b.wait().map(index)) }
}

/// `muster_barrier_wait` with a timeout.
///
/// `timeout_ns`: the longest wait in nanoseconds, measured on `CLOCK_MONOTONIC`; `UINT64_MAX`
/// waits forever; 0 succeeds only if this arrival completes the generation.
///
/// Returns: as `muster_barrier_wait`, plus `MUSTER_ETIMEDOUT` when the time runs out before the
/// generation completes. The arrival is then withdrawn: a member is resigned (later waits return
/// `MUSTER_ECANCELLED` until it enrolls again); a non-member breaks the barrier for everyone
/// waiting (they get `MUSTER_EBROKEN`) until `muster_barrier_reset`. If the generation completes
/// while the timeout is being handled, the wait succeeds instead.
///
/// Thread-safety: as `muster_barrier_wait`.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_wait_timeout(barrier: *mut muster_barrier, timeout_ns: u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with_remote(
            barrier,
            |c| {
                let w =
                    if timeout_ns == u64::MAX { c.wait() } else { c.wait_timeout(Duration::from_nanos(timeout_ns)) };
                w.map(|w| index(w.local))
            },
            |b| {
                if timeout_ns == u64::MAX {
                    b.wait().map(index)
                } else {
                    b.wait_timeout(Duration::from_nanos(timeout_ns)).map(index)
                }
            },
        )
    }
}

/// Breaks the barrier: every waiter returns `MUSTER_EBROKEN`, and so does every later wait until
/// `muster_barrier_reset`. Breaking a broken barrier is a no-op.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_ECORRUPT`.
///
/// Thread-safety: may be called from any thread and process at any time, also while others wait
/// on the same handle.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_abort(barrier: *mut muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with_remote(barrier, refuse("abort does not span hosts"), |b| b.abort().map(|()| MUSTER_OK)) }
}

/// Starts a fresh, unbroken generation: whoever is waiting now returns `MUSTER_EBROKEN`; later
/// arrivals meet in the new generation. Members stay members.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_ECORRUPT`.
///
/// Thread-safety: may be called from any thread and process at any time, also while others wait
/// on the same handle; make sure the waiters of the old generation have left before you rely on
/// the new one being complete.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_reset(barrier: *mut muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with_remote(barrier, |c| c.reset().map(|()| MUSTER_OK), |b| b.reset().map(|()| MUSTER_OK)) }
}

/// The number of parties the current generation waits for: the fixed count of a counted
/// barrier (plus enrolled handles), or the number of members of a membership barrier.
///
/// Returns: the count (>= 0); `MUSTER_EINVAL` (NULL).
///
/// Thread-safety: may be called from any thread at any time; the value is a snapshot.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_parties(barrier: *const muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(barrier, |b| Ok(c_int::try_from(b.parties()).unwrap_or(c_int::MAX))) }
}

/// The number of arrivals in the current generation (those now waiting).
///
/// Returns: the count (>= 0); `MUSTER_EINVAL` (NULL).
///
/// Thread-safety: may be called from any thread at any time; the value is a snapshot.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_waiting(barrier: *const muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(barrier, |b| Ok(c_int::try_from(b.waiting()).unwrap_or(c_int::MAX))) }
}

/// Whether the barrier is broken (by abort, a non-member timeout or a dead member) and not yet
/// reset.
///
/// Returns: 1 if broken, 0 if not; `MUSTER_EINVAL` (NULL).
///
/// Thread-safety: may be called from any thread at any time; the value is a snapshot.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_broken(barrier: *const muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with_remote(barrier, |c| Ok(c_int::from(c.is_broken())), |b| Ok(c_int::from(b.is_broken()))) }
}

/// Whether this handle is an enrolled member.
///
/// Returns: 1 if it is, 0 if not (never enrolled, resigned, or cancelled by a timeout);
/// `MUSTER_EINVAL` (NULL).
///
/// Thread-safety: may be called from any thread at any time.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_is_member(barrier: *const muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with_remote(barrier, |c| Ok(c_int::from(c.is_member())), |b| Ok(c_int::from(b.is_member()))) }
}

/// The barrier's current generation: the number of completed or reset generations, wrapping at
/// 2^32.
///
/// `out`: receives the generation on success (untouched on failure).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL `barrier` or `out`).
///
/// Thread-safety: may be called from any thread at any time; the value is a snapshot.
///
/// # Safety
/// `barrier` must be NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_generation(barrier: *const muster_barrier, out: *mut u64) -> c_int {
    if out.is_null() {
        return guard(|| fail(MUSTER_EINVAL, "out is NULL"));
    }
    // SAFETY: forwarded caller guarantees; `out` is non-NULL and writable.
    unsafe {
        with(barrier, |b| {
            put(out, b.generation());
            Ok(MUSTER_OK)
        })
    }
}
