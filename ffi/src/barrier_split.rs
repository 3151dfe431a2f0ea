//! Split-phase arrivals (`muster_barrier_arrive` / `_await` / `_is_complete` /
//! `_arrive_and_drop`) and completion actions (`muster_barrier_set_action`).

use std::ffi::{c_int, c_void};
use std::time::Duration;

use crate::barrier::{handle, muster_barrier, refuse, with_remote};
use crate::error::{fail, from_shm, guard, MUSTER_EINVAL, MUSTER_OK};
use crate::put;

fn arrival_index(index: u32) -> c_int {
    // Indices are below 16384 (the most parties a barrier can have).
    c_int::try_from(index).unwrap_or(c_int::MAX)
}

/// Split phase: arrives at the barrier and returns at once (C++20 `std::barrier::arrive`, Java
/// `Phaser.arrive`, `MPI_Ibarrier`). The caller does other work and later calls
/// `muster_barrier_await` with the ticket. If this arrival completes the generation, the
/// handle's completion action (`muster_barrier_set_action`) runs before this call returns.
/// Counts as an arrival for party identity (see `muster_barrier_wait`).
///
/// `ticket_out`: receives the ticket naming this arrival's generation (on success only). A
/// ticket is valid on this barrier only.
///
/// Returns: the arrival index (>= 0; 0 for the generation's leader); `MUSTER_EINVAL` (NULL),
/// `MUSTER_EBROKEN`, `MUSTER_EPEERDIED`, `MUSTER_EACTION` (this handle's completion action failed;
/// the generation is broken for all), `MUSTER_ECANCELLED`, `MUSTER_EMISUSE` (a non-member on a
/// membership barrier, a member arriving again before the generation of its previous arrival
/// ended, a handle that dropped out, or a handle inherited across `fork`), `MUSTER_ECORRUPT`.
///
/// Thread-safety: as `muster_barrier_wait`.
///
/// # Safety
/// `barrier` must be NULL or a live handle; `ticket_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_arrive(barrier: *mut muster_barrier, ticket_out: *mut u64) -> c_int {
    if ticket_out.is_null() {
        return guard(|| fail(MUSTER_EINVAL, "ticket_out is NULL"));
    }
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with_remote(
            barrier,
            |c| {
                let a = c.arrive()?;
                // SAFETY: `ticket_out` is non-NULL and writable (caller guarantee).
                put(ticket_out, a.ticket);
                Ok(arrival_index(a.index))
            },
            |b| {
                let a = b.arrive()?;
                // SAFETY: `ticket_out` is non-NULL and writable (caller guarantee).
                put(ticket_out, a.ticket);
                Ok(arrival_index(a.index))
            },
        )
    }
}

/// Split phase: blocks until the generation named by `ticket` completes.
///
/// `timeout_ns`: the longest wait in nanoseconds (`CLOCK_MONOTONIC`); `UINT64_MAX` waits forever;
/// 0 polls. Unlike `muster_barrier_wait_timeout`, a timeout changes nothing: the arrival stands
/// and the caller may await again (Phaser's `awaitAdvance` semantics).
///
/// Returns: `MUSTER_OK` when the generation completed (at once for a ticket of a generation
/// that already completed); `MUSTER_ETIMEDOUT` (nothing changed); `MUSTER_EBROKEN`,
/// `MUSTER_EPEERDIED` (see `muster_last_peer_pid`) or `MUSTER_EACTION` when the generation was
/// broken; `MUSTER_EINVAL` (NULL, a ticket of another barrier or of a generation that has not
/// started); `MUSTER_EMISUSE` (on a membership barrier a handle that is not an enrolled member or
/// a second concurrent wait on one member handle; a handle that dropped out; a handle inherited
/// across `fork`), `MUSTER_ECORRUPT`.
///
/// Thread-safety: as `muster_barrier_wait`.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_await(barrier: *mut muster_barrier, ticket: u64, timeout_ns: u64) -> c_int {
    let timeout = (timeout_ns != u64::MAX).then(|| Duration::from_nanos(timeout_ns));
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with_remote(
            barrier,
            |c| c.await_arrival(ticket, timeout).map(|_| MUSTER_OK),
            |b| b.await_ticket(ticket, timeout).map(|()| MUSTER_OK),
        )
    }
}

/// Split phase: whether the generation named by `ticket` has completed, without blocking.
///
/// Returns: 1 (completed), 0 (not yet); `MUSTER_EBROKEN`, `MUSTER_EPEERDIED` or `MUSTER_EACTION`
/// for a broken generation; `MUSTER_EINVAL` (NULL, a ticket of another barrier or of a future
/// generation); `MUSTER_EMISUSE` (handle inherited across `fork`), `MUSTER_ECORRUPT`.
///
/// Thread-safety: any thread, any time.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_is_complete(barrier: *const muster_barrier, ticket: u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with_remote(
            barrier,
            refuse("muster_barrier_is_complete does not span hosts (use muster_barrier_await with timeout 0)"),
            |b| b.is_complete(ticket).map(c_int::from),
        )
    }
}

/// Split phase: arrives and leaves. The arrival counts for the current generation; from the next
/// one the barrier has one party less (a member is resigned; a counted barrier's party count
/// drops by one). Returns at once; the handle can no longer arrive or await (a member handle may
/// enroll again).
///
/// Returns: the arrival index (>= 0); errors as `muster_barrier_arrive`.
///
/// Thread-safety: as `muster_barrier_wait`.
///
/// # Safety
/// `barrier` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_arrive_and_drop(barrier: *mut muster_barrier) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with_remote(
            barrier,
            refuse("muster_barrier_arrive_and_drop does not span hosts (await, then muster_barrier_resign)"),
            |b| b.arrive_and_drop().map(|a| arrival_index(a.index)),
        )
    }
}

/// A completion action: called with the `arg` given to `muster_barrier_set_action`; returns 0 on
/// success, anything else to fail (which breaks the generation with `MUSTER_EACTION`).
pub type muster_action_fn = Option<unsafe extern "C" fn(arg: *mut c_void) -> c_int>;

/// The callback and argument of a C completion action.
struct CAction {
    f: unsafe extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
}

impl CAction {
    fn call(&self) -> Result<(), String> {
        // SAFETY: the caller of muster_barrier_set_action promised the callback may be called
        // with `arg` from any arriving thread.
        match unsafe { (self.f)(self.arg) } {
            0 => Ok(()),
            rc => Err(format!("completion action returned {rc}")),
        }
    }
}

// SAFETY: the caller of `muster_barrier_set_action` promises that `action(arg)` may be called
// from any thread that waits on the handle; the pointer is only passed back to that callback.
unsafe impl Send for CAction {}
// SAFETY: as above; the callback is never called concurrently for one handle's generation (one
// party trips a generation), and concurrent trips of different generations are the caller's
// promise too.
unsafe impl Sync for CAction {}

/// Gives this handle a completion action (C++20 `std::barrier`'s completion function, Java
/// `CyclicBarrier`'s barrier action, Python `threading.Barrier(action=)`): when a generation
/// completes and the last party to arrive did so through this handle, `action(arg)` runs in that
/// thread before anyone is released. Everyone's writes before arriving are visible to it. A
/// non-zero return breaks the generation for every party with `MUSTER_EACTION`. Each handle has
/// its own action; give every party's handle the same one for "the barrier's action".
///
/// `action`: the callback, or NULL to remove it. `arg`: passed to it unchanged.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL barrier).
///
/// Thread-safety: may be called at any time; an arrival uses the action set when it arrived.
/// The callback may run in any thread that arrives through this handle; it must not call
/// libmuster functions on this barrier.
///
/// # Safety
/// `barrier` must be NULL or a live handle; `action`, if not NULL, must be safe to call with `arg`
/// from any thread until it is replaced or the handle is closed.
#[no_mangle]
pub unsafe extern "C" fn muster_barrier_set_action(
    barrier: *mut muster_barrier,
    action: muster_action_fn,
    arg: *mut c_void,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        let b = match unsafe { handle(barrier) } {
            Ok(b) => b,
            Err(code) => return code,
        };
        // SAFETY: `handle` checked that `barrier` is non-NULL; it is live (caller guarantee).
        if unsafe { (*barrier).remote.is_some() } {
            return from_shm(&crate::cluster::not_across_hosts("completion actions do not span hosts"));
        }
        match action {
            None => b.set_action(None),
            Some(f) => {
                let act = CAction { f, arg };
                b.set_action(Some(Box::new(move || act.call())));
            }
        }
        MUSTER_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{from_shm, MUSTER_EACTION, MUSTER_EINVAL};

    #[test]
    fn null_arguments() {
        let mut t = 0u64;
        // SAFETY: NULL handles are allowed and rejected.
        unsafe {
            assert_eq!(muster_barrier_arrive(std::ptr::null_mut(), &mut t), MUSTER_EINVAL);
            assert_eq!(muster_barrier_arrive(std::ptr::null_mut(), std::ptr::null_mut()), MUSTER_EINVAL);
            assert_eq!(muster_barrier_await(std::ptr::null_mut(), 1, 0), MUSTER_EINVAL);
            assert_eq!(muster_barrier_is_complete(std::ptr::null(), 1), MUSTER_EINVAL);
            assert_eq!(muster_barrier_arrive_and_drop(std::ptr::null_mut()), MUSTER_EINVAL);
            assert_eq!(muster_barrier_set_action(std::ptr::null_mut(), None, std::ptr::null_mut()), MUSTER_EINVAL);
        }
        assert_eq!(from_shm(&muster_shm::Error::ActionFailed("x".into())), MUSTER_EACTION);
    }
}
