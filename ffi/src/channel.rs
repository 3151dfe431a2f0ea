//! Channels of `uint64_t` values: open, write, read, close.

use std::ffi::{c_char, c_int};

use muster_shm::{Channel, Region};

use crate::alting::{code, region_arg, timeout_arg, Owner};
use crate::error::{fail, guard, MUSTER_EINVAL, MUSTER_OK};
use crate::region::muster_region;
use crate::{name_arg, put};

/// `muster_channel_open` flag: a full channel drops its oldest value instead of blocking the
/// writer (JCSP `OverWriteOldestBuffer`).
pub const MUSTER_CHANNEL_OVERWRITE: u32 = 1;
/// `muster_channel_open` flag: one-to-one; the first thread that writes becomes the only writer
/// (others get `MUSTER_EMISUSE`) until it is gone. Without it a channel is any-to-one.
pub const MUSTER_CHANNEL_ONE_TO_ONE: u32 = 2;

/// A channel of `uint64_t` values between threads and processes (opaque; any number of writers,
/// one reader at a time), usable as an input guard of an Alternative. Created by
/// `muster_channel_open`, released by `muster_channel_close`. A per-thread handle (see
/// `muster_alting`): use and close it on the thread that opened it.
pub struct muster_channel {
    owner: Owner,
    inner: Channel,
    region: Region,
}

/// Borrows a channel on its own thread, or records `MUSTER_EINVAL`/`MUSTER_EMISUSE`.
///
/// # Safety
/// `p` must be NULL or a live handle.
pub(crate) unsafe fn channel_arg<'a>(p: *const muster_channel) -> Result<(&'a Channel, &'a Region), c_int> {
    if p.is_null() {
        return Err(fail(MUSTER_EINVAL, "channel is NULL"));
    }
    // SAFETY: non-NULL live handle (caller guarantee); `inner` is touched only after the owner
    // check passed on this thread.
    let h = unsafe { &*p };
    h.owner.check("channel")?;
    Ok((&h.inner, &h.region))
}

/// # Safety
/// `p` must be NULL or a live handle.
unsafe fn with(p: *const muster_channel, f: impl FnOnce(&Channel) -> c_int) -> c_int {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        match unsafe { channel_arg(p) } {
            Ok((c, _)) => f(c),
            Err(c) => c,
        }
    })
}

/// Opens the channel `name` in `region`, creating it if it does not exist.
///
/// `name`: as for `muster_alting_create` (shared name table). `capacity`: the number of values it
/// buffers, 1 ..= `max_channel_capacity`. `flags`: 0, or `MUSTER_CHANNEL_OVERWRITE` and/or
/// `MUSTER_CHANNEL_ONE_TO_ONE`. `capacity`
/// and `flags` apply when this call creates the channel; an existing channel keeps its own.
/// `out`: receives the new handle on success (untouched on failure).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument, `capacity` 0 or too large, unknown
/// flags), `MUSTER_ENAME`, `MUSTER_EMISMATCH` (the name is a barrier), `MUSTER_EFULL` (no free
/// name or channel slot, or no free agent slot), `MUSTER_EMISUSE` (region handle inherited across
/// `fork`), `MUSTER_ECORRUPT`.
///
/// Thread-safety: may be called from any thread; the handle belongs to the calling thread.
///
/// # Safety
/// `region` must be NULL or a live region handle; `name` NULL or NUL-terminated; `out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn muster_channel_open(
    region: *mut muster_region,
    name: *const c_char,
    capacity: u32,
    flags: u32,
    out: *mut *mut muster_channel,
) -> c_int {
    guard(|| {
        if out.is_null() {
            return fail(MUSTER_EINVAL, "out is NULL");
        }
        if capacity == 0 {
            return fail(MUSTER_EINVAL, "capacity is 0");
        }
        if flags & !(MUSTER_CHANNEL_OVERWRITE | MUSTER_CHANNEL_ONE_TO_ONE) != 0 {
            return fail(MUSTER_EINVAL, format_args!("unknown channel flags {flags:#x}"));
        }
        // SAFETY: forwarded caller guarantees.
        let (region, name) = match unsafe { (region_arg(region), name_arg(name, "name")) } {
            (Ok(r), Ok(n)) => (r, n),
            (Err(c), _) | (_, Err(c)) => return c,
        };
        let overwrite = flags & MUSTER_CHANNEL_OVERWRITE != 0;
        let opened = if flags & MUSTER_CHANNEL_ONE_TO_ONE != 0 {
            region.channel_one_to_one(name, capacity, overwrite)
        } else {
            region.channel(name, capacity, overwrite)
        };
        code(opened, |ch| {
            let h = muster_channel { owner: Owner::here(), inner: ch, region: region.clone() };
            // SAFETY: `out` is non-NULL and writable (caller guarantee).
            unsafe { put(out, Box::into_raw(Box::new(h))) };
            MUSTER_OK
        })
    })
}

/// Closes a channel handle. The channel and its buffered values live on in the region.
///
/// `channel`: the handle, or NULL (a no-op). In a child forked from the opening process the call
/// does nothing but return `MUSTER_OK`.
///
/// Returns: `MUSTER_OK`; `MUSTER_EMISUSE` if called by another thread than the opener (the handle
/// then stays open).
///
/// Thread-safety: on the opening thread only; no call may use `channel` afterwards. Keep it open
/// while an Alternative it was added to is still selected.
///
/// # Safety
/// `channel` must be NULL or a handle returned by libmuster and not yet closed.
#[no_mangle]
pub unsafe extern "C" fn muster_channel_close(channel: *mut muster_channel) -> c_int {
    guard(|| {
        if channel.is_null() {
            return MUSTER_OK;
        }
        // SAFETY: a live handle (caller guarantee); only `owner` is read.
        let owner = unsafe { (*channel).owner };
        if owner.forked() {
            return MUSTER_OK;
        }
        if let Err(c) = owner.check("channel") {
            return c;
        }
        // SAFETY: a live handle from Box::into_raw; the caller gives up its use.
        drop(unsafe { Box::from_raw(channel) });
        MUSTER_OK
    })
}

/// Writes `value`, blocking while the channel is full (an overwriting channel drops its oldest
/// value instead). The write happens-before the read that returns the value.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_EMISUSE` (wrong thread/process),
/// `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the opening thread only; any number of handles (threads, processes) may
/// write to one channel at once.
///
/// # Safety
/// `channel` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_channel_write(channel: *mut muster_channel, value: u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(channel, |c| code(c.write(value), |()| MUSTER_OK)) }
}

/// Writes `value` unless the channel is full.
///
/// Returns: 1 if written, 0 if the channel was full; errors as `muster_channel_write`.
///
/// Thread-safety: as `muster_channel_write`.
///
/// # Safety
/// `channel` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn muster_channel_try_write(channel: *mut muster_channel, value: u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe { with(channel, |c| code(c.try_write(value), c_int::from)) }
}

/// Reads the oldest value, blocking until there is one.
///
/// `timeout_ns`: the longest wait in nanoseconds on `CLOCK_MONOTONIC`; negative waits forever.
/// `out`: receives the value on success (untouched on failure).
///
/// Returns: `MUSTER_OK`; `MUSTER_ETIMEDOUT` (no value in time; never earlier), `MUSTER_EINVAL`
/// (NULL argument), `MUSTER_EMISUSE` (wrong thread/process), `MUSTER_ECORRUPT`.
///
/// Thread-safety: on the opening thread only; read one channel from one thread at a time (the
/// channel is any-to-one).
///
/// # Safety
/// `channel` must be NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_channel_read(channel: *mut muster_channel, timeout_ns: i64, out: *mut u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(channel, |c| {
            if out.is_null() {
                return fail(MUSTER_EINVAL, "out is NULL");
            }
            code(c.read(timeout_arg(timeout_ns)), |v| {
                // SAFETY: non-NULL and writable (caller guarantee).
                put(out, v);
                MUSTER_OK
            })
        })
    }
}

/// Reads the oldest value if there is one (after a channel guard fired, there is).
///
/// `out`: receives the value when one was read (untouched otherwise).
///
/// Returns: 1 if a value was read, 0 if the channel was empty; errors as `muster_channel_read`.
///
/// Thread-safety: as `muster_channel_read`.
///
/// # Safety
/// `channel` must be NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_channel_try_read(channel: *mut muster_channel, out: *mut u64) -> c_int {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        with(channel, |c| {
            if out.is_null() {
                return fail(MUSTER_EINVAL, "out is NULL");
            }
            code(c.try_read(), |v| match v {
                Some(v) => {
                    // SAFETY: non-NULL and writable (caller guarantee).
                    put(out, v);
                    1
                }
                None => 0,
            })
        })
    }
}
