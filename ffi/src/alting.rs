//! Alting barrier front-ends: create, attach, close, reset, enroll/resign, sync/poll,
//! expand/contract (also of a front-end itself) and queries. Channels are in `channel.rs`, the
//! Alternative in `alt.rs`.

use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Once;
use std::thread::ThreadId;
use std::time::Duration;

use muster_shm::{AltingBarrier, Region};

use crate::error::{fail, from_shm, guard, MUSTER_EINVAL, MUSTER_EMISUSE, MUSTER_OK};
use crate::region::muster_region;
use crate::{name_arg, put};

/// The thread and process a per-thread handle (front-end, channel, Alternative) belongs to. The
/// Rust objects behind these handles are `!Send`: every call checks that it runs on the creating
/// thread of the creating process before touching them.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    thread: ThreadId,
    pid: u32,
    forks: u64,
}

/// Forks this process has gone through (counted in the child by a `pthread_atfork` handler), so
/// the per-call fork check is a load instead of a `getpid` system call.
static FORKS: AtomicU64 = AtomicU64::new(0);
/// Whether the handler is registered (if registration failed, `getpid` is compared instead).
static FORK_HOOK: AtomicBool = AtomicBool::new(false);
static FORK_HOOK_ONCE: Once = Once::new();

extern "C" fn count_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

fn forks() -> u64 {
    FORK_HOOK_ONCE.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic (async-signal-safe, as a
        // child handler of fork must be); it stays valid for the life of the process.
        if unsafe { libc::pthread_atfork(None, None, Some(count_fork_in_child)) } == 0 {
            FORK_HOOK.store(true, Ordering::Release);
        }
    });
    FORKS.load(Ordering::Relaxed)
}

impl Owner {
    pub(crate) fn here() -> Owner {
        let forks = forks();
        Owner { thread: std::thread::current().id(), pid: std::process::id(), forks }
    }

    /// Whether the caller is a child forked from the creating process.
    pub(crate) fn forked(&self) -> bool {
        if FORK_HOOK.load(Ordering::Acquire) {
            FORKS.load(Ordering::Relaxed) != self.forks
        } else {
            std::process::id() != self.pid
        }
    }

    /// `MUSTER_EMISUSE` unless called by the creating thread of the creating process.
    pub(crate) fn check(&self, what: &str) -> Result<(), c_int> {
        if self.forked() {
            return Err(fail(
                MUSTER_EMISUSE,
                format_args!("{what} handle inherited across fork; open the region again in the child"),
            ));
        }
        if std::thread::current().id() != self.thread {
            return Err(fail(
                MUSTER_EMISUSE,
                format_args!("{what} handle used by a thread other than the one that created it"),
            ));
        }
        Ok(())
    }
}

/// Borrows a region handle, or records `MUSTER_EINVAL` for NULL.
///
/// # Safety
/// `p` must be NULL or a live region handle.
pub(crate) unsafe fn region_arg<'a>(p: *const muster_region) -> Result<&'a Region, c_int> {
    if p.is_null() {
        return Err(fail(MUSTER_EINVAL, "region is NULL"));
    }
    // SAFETY: non-NULL live handle (caller guarantee), used through `&` only (Region is Sync).
    Ok(unsafe { &(*p).inner })
}

/// Converts a timeout in nanoseconds (negative: none).
pub(crate) fn timeout_arg(timeout_ns: i64) -> Option<Duration> {
    u64::try_from(timeout_ns).ok().map(Duration::from_nanos)
}

/// Maps a `muster_shm` result to a code (`Ok` values are converted by `f`).
pub(crate) fn code<T>(r: muster_shm::Result<T>, f: impl FnOnce(T) -> c_int) -> c_int {
    match r {
        Ok(v) => f(v),
        Err(e) => from_shm(&e),
    }
}

/// One owned front-end of an alting barrier (opaque). Created by `muster_alting_attach`,
/// released by `muster_alting_close`.
///
/// ALTING BARRIERS
///   An alting barrier (`muster_alting_create`) has front-ends with indices 0, 1, ...; each party
///   owns one (`muster_alting_attach`). It fires when every enrolled front-end offers it: by a
///   committed `muster_alting_sync`, a bounded `muster_alting_poll`, or as a guard of a
///   `muster_alt_select` among other barriers, channel inputs, skip and a timeout (CSP external
///   choice, JCSP `AltingBarrier`). When it fires, every party's offer is taken at once: all
///   parties of one event see the same ticket (`muster_alt_ticket`). Everything a party did before
///   offering happens-before everything the other parties do after their sync, poll or select
///   returns the event.
///
/// PER-THREAD HANDLES
///   `muster_alting`, `muster_channel` and `muster_alt` handles belong to the thread that created
///   them: use and close them on that thread only (other threads get `MUSTER_EMISUSE`), and never
///   in a child after `fork()` (open the region again there). To hand a front-end to another
///   thread or process, close it (it stays enrolled) and attach the same index there. A front-end
///   whose owner died stays enrolled: the other parties wait until someone attaches it (live
///   processes may, once the owner is dead) or recycles it with `muster_alting_reset`.
pub struct muster_alting {
    owner: Owner,
    inner: AltingBarrier,
    /// The region it lives in (to bind an Alternative to).
    region: Region,
    /// Expansions made through this handle: (first index, all indices), for `contract`.
    expansions: RefCell<Vec<(u32, Vec<u32>)>>,
}

/// Borrows a front-end on its own thread, or records `MUSTER_EINVAL`/`MUSTER_EMISUSE`.
///
/// # Safety
/// `p` must be NULL or a live handle.
pub(crate) unsafe fn frontend_arg<'a>(p: *const muster_alting) -> Result<(&'a AltingBarrier, &'a Region), c_int> {
    // SAFETY: forwarded caller guarantee.
    unsafe { handle(p) }.map(|h| (&h.inner, &h.region))
}

/// # Safety
/// `p` must be NULL or a live handle.
unsafe fn handle<'a>(p: *const muster_alting) -> Result<&'a muster_alting, c_int> {
    if p.is_null() {
        return Err(fail(MUSTER_EINVAL, "frontend is NULL"));
    }
    // SAFETY: non-NULL live handle (caller guarantee). Only `&` is formed; the `owner` field is
    // never written, and the other fields are touched only after the owner check passed.
    let h = unsafe { &*p };
    h.owner.check("front-end")?;
    Ok(h)
}

/// Runs `f` on the front-end behind `p` (on its own thread), mapping errors to codes.
///
/// # Safety
/// `p` must be NULL or a live handle.
unsafe fn with(p: *const muster_alting, f: impl FnOnce(&muster_alting) -> c_int) -> c_int {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        match unsafe { handle(p) } {
            Ok(h) => f(h),
            Err(code) => code,
        }
    })
}

/// Creates the alting barrier `name` in `region` with `n` enrolled, unowned front-ends, indices
/// `0 .. n-1` (JCSP `AltingBarrier.create(n)`). The parties then attach them.
///
/// `name`: 1 to 64 bytes of UTF-8 without control characters; alting barriers, channels and
/// plain barriers share the region's names. `n`: 1 ..= `max_frontends_per_barrier`.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument, `n` is 0), `MUSTER_ENAME`,
/// `MUSTER_EEXIST` (the name is taken), `MUSTER_EFULL` (no free name or alting barrier slot, or
/// `n` > `max_frontends_per_barrier`), `MUSTER_ECORRUPT`.
///
/// Thread-safety: may be called from any thread, concurrently with any function; of racing
/// creators of one name exactly one succeeds.
///
/// # Safety
/// `region` must be NULL or a live region handle; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_create(region: *mut muster_region, name: *const c_char, n: u32) -> c_int {
    guard(|| {
        // SAFETY: forwarded caller guarantees.
        let (region, name) = match unsafe { (region_arg(region), name_arg(name, "name")) } {
            (Ok(r), Ok(n)) => (r, n),
            (Err(c), _) | (_, Err(c)) => return c,
        };
        code(region.alting_create(name, n), |()| MUSTER_OK)
    })
}

/// Takes ownership of front-end `index` of the alting barrier `name` for the calling thread
/// (JCSP `mark`). The front-end keeps its enrollment (a resigned one stays resigned).
///
/// `out`: receives the new handle on success (untouched on failure). The handle keeps the region
/// mapped: `region` may be closed before it.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument, `index` >= `max_frontends_per_barrier`),
/// `MUSTER_ENAME`, `MUSTER_ENOENT` (no such name), `MUSTER_EMISMATCH` (the name is a plain barrier
/// or a channel), `MUSTER_EMISUSE` (another live thread or process owns the front-end, `index` is
/// not in use, or the region handle was inherited across `fork`), `MUSTER_EFULL` (no free agent
/// slot: `max_agents` threads already use alting objects in the region), `MUSTER_ECORRUPT`.
///
/// Thread-safety: may be called from any thread; the handle belongs to the calling thread (see
/// `muster_alting`). Attaching a front-end this thread already owns gives a second handle on it.
///
/// # Safety
/// `region` must be NULL or a live region handle; `name` NULL or NUL-terminated; `out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_attach(
    region: *mut muster_region,
    name: *const c_char,
    index: u32,
    out: *mut *mut muster_alting,
) -> c_int {
    guard(|| {
        if out.is_null() {
            return fail(MUSTER_EINVAL, "out is NULL");
        }
        // SAFETY: forwarded caller guarantees.
        let (region, name) = match unsafe { (region_arg(region), name_arg(name, "name")) } {
            (Ok(r), Ok(n)) => (r, n),
            (Err(c), _) | (_, Err(c)) => return c,
        };
        code(region.alting_attach(name, index), |fe| {
            let h = muster_alting {
                owner: Owner::here(),
                inner: fe,
                region: region.clone(),
                expansions: RefCell::new(Vec::new()),
            };
            // SAFETY: `out` is non-NULL and writable (caller guarantee).
            unsafe { put(out, Box::into_raw(Box::new(h))) };
            MUSTER_OK
        })
    })
}

/// Closes a front-end handle, giving up its ownership. The front-end stays enrolled (or
/// resigned): the other parties wait for it until it is attached again (by any thread or
/// process) or resigned there.
///
/// `frontend`: the handle, or NULL (a no-op). In a child forked from the creating process the
/// call does nothing but return `MUSTER_OK` (the parent's objects are not the child's to release).
///
/// Returns: `MUSTER_OK`; `MUSTER_EMISUSE` if called by another thread than the owner (the handle
/// then stays open).
///
/// Thread-safety: on the owning thread only; no call may use `frontend` afterwards. Keep the
/// handle open while an Alternative it was added to is still selected.
///
/// # Safety
/// `frontend` must be NULL or a handle returned by libmuster and not yet closed.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_close(frontend: *mut muster_alting) -> c_int {
    guard(|| {
        if frontend.is_null() {
            return MUSTER_OK;
        }
        // SAFETY: a live handle (caller guarantee); only `owner` is read.
        let owner = unsafe { (*frontend).owner };
        if owner.forked() {
            return MUSTER_OK;
        }
        if let Err(c) = owner.check("front-end") {
            return c;
        }
        // SAFETY: a live handle from Box::into_raw; the caller gives up its use.
        drop(unsafe { Box::from_raw(frontend) });
        MUSTER_OK
    })
}

/// Recycles front-end `index` of `name` whose owner terminated: it becomes enrolled (also if it
/// was resigned) and unowned (JCSP `reset`). Do not use it to move a front-end between live
/// threads (close and attach do that).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument, `index` out of range), `MUSTER_ENAME`,
/// `MUSTER_ENOENT`, `MUSTER_EMISMATCH` (not an alting barrier), `MUSTER_EMISUSE` (`index` not in
/// use), `MUSTER_ECORRUPT`.
///
/// Thread-safety: may be called from any thread.
///
/// # Safety
/// `region` must be NULL or a live region handle; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_reset(region: *mut muster_region, name: *const c_char, index: u32) -> c_int {
    guard(|| {
        // SAFETY: forwarded caller guarantees.
        let (region, name) = match unsafe { (region_arg(region), name_arg(name, "name")) } {
            (Ok(r), Ok(n)) => (r, n),
            (Err(c), _) | (_, Err(c)) => return c,
        };
        code(region.alting_reset(name, index), |()| MUSTER_OK)
    })
}

/// Enrolls a resigned front-end again: the barrier waits for it from now on.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (already enrolled, owned by
/// another live agent, contracted, or wrong thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only (see `muster_alting`).
///
/// # Safety
/// `frontend` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_enroll(frontend: *mut muster_alting) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(frontend, |h| code(h.inner.enroll(), |()| MUSTER_OK)) }
}

/// Resigns the front-end: the others may complete the barrier without it (this call completes it
/// if all the other enrolled front-ends are offering).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (already resigned, contracted,
/// or wrong thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only.
///
/// # Safety
/// `frontend` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_resign(frontend: *mut muster_alting) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(frontend, |h| code(h.inner.resign(), |()| MUSTER_OK)) }
}

/// Committed synchronisation: offers the barrier and blocks until it fires (every enrolled
/// front-end offers it).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (resigned, contracted, or wrong
/// thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only. Signals do not interrupt the wait.
///
/// # Safety
/// `frontend` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_sync(frontend: *mut muster_alting) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(frontend, |h| code(h.inner.sync(), |()| MUSTER_OK)) }
}

/// Offers the barrier for at most `offer_ns` nanoseconds (JCSP `poll`). 0 fires only if all the
/// other enrolled front-ends are already offering; otherwise the offer is withdrawn when the time
/// is up (never earlier).
///
/// Returns: 1 if the barrier fired, 0 if not; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (resigned,
/// contracted, or wrong thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only.
///
/// # Safety
/// `frontend` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_poll(frontend: *mut muster_alting, offer_ns: u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(frontend, |h| code(h.inner.poll(Duration::from_nanos(offer_ns)), c_int::from)) }
}

/// Adds `n` enrolled, unowned front-ends to the barrier (JCSP `expand`); the new parties attach
/// them. The barrier now waits for them too.
///
/// `first_index`: receives the lowest index of the new front-ends. They are the lowest free
/// indices, so they are `first_index .. first_index + n - 1` unless earlier contractions left
/// gaps; `muster_alting_expanded` lists them exactly. This handle remembers the expansion, so
/// `muster_alting_contract(frontend, first_index, n)` removes exactly these front-ends either way.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL, `n` is 0), `MUSTER_EFULL` (fewer than `n` free
/// front-end slots: `max_frontends_per_barrier`; nothing is added), `MUSTER_EMISUSE` (resigned,
/// contracted, or wrong thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only.
///
/// # Safety
/// `frontend` must be NULL or a live handle; `first_index` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_expand(frontend: *mut muster_alting, n: u32, first_index: *mut u32) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(frontend, |h| {
            if first_index.is_null() {
                return fail(MUSTER_EINVAL, "first_index is NULL");
            }
            code(h.inner.expand(n), |mut indices| {
                indices.sort_unstable();
                let Some(&first) = indices.first() else {
                    return fail(MUSTER_EINVAL, "expand added no front-end");
                };
                let mut list = h.expansions.borrow_mut();
                list.retain(|(f, _)| *f != first);
                list.push((first, indices));
                // SAFETY: non-NULL and writable (caller guarantee).
                put(first_index, first);
                MUSTER_OK
            })
        })
    }
}

/// The indices of the front-ends that the expansion starting at `first_index` (made through this
/// handle and not yet contracted through it) added, in increasing order.
///
/// `indices`: receives up to `capacity` indices; may be NULL when `capacity` is 0.
///
/// Returns: the number of front-ends of that expansion (may exceed `capacity`; only `capacity`
/// are written); `MUSTER_EINVAL` (NULL `frontend`, NULL `indices` with `capacity` > 0, or no such
/// expansion through this handle), `MUSTER_EMISUSE` (wrong thread/process).
///
/// Thread-safety: on the owning thread only.
///
/// # Safety
/// `frontend` must be NULL or a live handle; `indices` NULL or writable for `capacity` values.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_expanded(
    frontend: *mut muster_alting,
    first_index: u32,
    indices: *mut u32,
    capacity: u32,
) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(frontend, |h| {
            if indices.is_null() && capacity > 0 {
                return fail(MUSTER_EINVAL, "indices is NULL");
            }
            let list = h.expansions.borrow();
            let Some((_, all)) = list.iter().find(|(f, _)| *f == first_index) else {
                return fail(MUSTER_EINVAL, format_args!("no expansion starting at {first_index} through this handle"));
            };
            for (i, v) in all.iter().take(capacity as usize).enumerate() {
                // SAFETY: `indices` is writable for `capacity` values (caller guarantee), i < capacity.
                put(indices.add(i), *v);
            }
            c_int::try_from(all.len()).unwrap_or(c_int::MAX)
        })
    }
}

/// Removes the `n` front-ends of one earlier expansion (all of them; JCSP `contract`); this may
/// complete the barrier. Handles on removed front-ends fail with `MUSTER_EMISUSE` afterwards.
///
/// If this handle made an expansion of `n` front-ends starting at `first_index`, exactly those are
/// removed. Otherwise the front-ends `first_index .. first_index + n - 1` are, which must be all
/// of one expansion (made through any handle).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL, `n` is 0, indices out of range), `MUSTER_EMISUSE`
/// (the front-ends are not exactly one expansion of this barrier, include this handle's own
/// front-end or were already removed; this handle resigned, contracted, or wrong thread/process),
/// `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only.
///
/// # Safety
/// `frontend` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_contract(frontend: *mut muster_alting, first_index: u32, n: u32) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(frontend, |h| {
            if n == 0 {
                return fail(MUSTER_EINVAL, "n is 0");
            }
            // No expansion is larger than a barrier; a bigger n must not size the index list
            // (n = 2^32 - 1 spent seconds and gigabytes collecting it; found by fuzzing).
            if n > muster_core::alting::MAX_FRONTENDS_PER_BARRIER {
                return fail(MUSTER_EINVAL, "n is larger than any barrier's front-end count");
            }
            let known = h.expansions.borrow().iter().find(|(f, v)| *f == first_index && v.len() == n as usize).cloned();
            let indices = match known {
                Some((_, v)) => v,
                None => match first_index.checked_add(n) {
                    Some(end) => (first_index..end).collect(),
                    None => return fail(MUSTER_EINVAL, "first_index + n overflows"),
                },
            };
            code(h.inner.contract(&indices), |()| {
                h.expansions.borrow_mut().retain(|(f, _)| *f != first_index);
                MUSTER_OK
            })
        })
    }
}

/// Removes this front-end from the barrier for good (JCSP `contract()`): the barrier waits for one
/// party less from now on, and this call completes it if all the other enrolled front-ends are
/// offering. Meant for a party that was given its front-end by `muster_alting_expand` (or
/// `muster_alting_create`) and is about to terminate; a resigned party that may come back
/// resigns instead.
///
/// On `MUSTER_OK` the front-end fronts nothing: every later call on this handle (and on other
/// handles on it) fails with `MUSTER_EMISUSE`, except `muster_alting_close`, which the caller
/// still makes. Its index may be handed out again by a later expansion, and the expansion it
/// came from can no longer be removed as a whole by `muster_alting_contract` (its other
/// front-ends leave by this call too). On failure nothing changed: the handle is still enrolled
/// (or resigned) and owned.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (resigned, contracted already,
/// or wrong thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only. An Alternative this front-end was added to fails with
/// `MUSTER_EMISUSE` when selected afterwards.
///
/// # Safety
/// `frontend` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_contract_self(frontend: *mut muster_alting) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(frontend, |h| code(h.inner.contract_self_keep_handle(), |()| MUSTER_OK)) }
}

/// This front-end's index within its barrier.
///
/// Returns: the index (>= 0); `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (wrong thread/process).
///
/// Thread-safety: on the owning thread only.
///
/// # Safety
/// `frontend` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_index(frontend: *const muster_alting) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(frontend, |h| c_int::try_from(h.inner.index()).unwrap_or(c_int::MAX)) }
}

/// How many times the barrier has fired (its latest ticket).
///
/// `out`: receives the count on success (untouched on failure).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument), `MUSTER_EMISUSE` (wrong
/// thread/process, barrier gone), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the owning thread only; the value is a snapshot.
///
/// # Safety
/// `frontend` must be NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_alting_completions(frontend: *const muster_alting, out: *mut u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(frontend, |h| {
            if out.is_null() {
                return fail(MUSTER_EINVAL, "out is NULL");
            }
            code(h.inner.completions(), |c| {
                // SAFETY: non-NULL and writable (caller guarantee).
                put(out, c);
                MUSTER_OK
            })
        })
    }
}
