//! Region handles: create, open, close, unlink.

use std::ffi::{c_char, c_int, CStr};
use std::mem::size_of;
use std::time::Duration;

use muster_shm::{ClusterConfig, Region, RegionConfig};

use crate::cluster::{self, RegionCluster};

use crate::error::{fail, from_shm, guard, MUSTER_EINVAL, MUSTER_OK};
use crate::{name_arg, put};

/// An open shared-memory region (opaque). Created by `muster_region_create`,
/// `muster_region_open` or `muster_region_open_or_create`; released by `muster_region_close`.
pub struct muster_region {
    pub(crate) inner: Region,
    /// The etcd cluster this handle's membership barriers span (see `cluster.rs`).
    pub(crate) cluster: Option<RegionCluster>,
}

/// Capacities and permissions of a new region, and the cluster it spans.
///
/// Initialise it with `muster_region_config_init` (which sets `size` and the defaults), then
/// change the fields you need. A field left 0 (or NULL) takes its default. Passing NULL instead
/// of a config means "all defaults". Fields beyond the caller's `size` read as defaults, so
/// programs compiled against an older header keep working.
///
/// Across hosts: a region opened with `cluster_endpoints` set (or with `MUSTER_CLUSTER` in the
/// environment) spans the hosts: its membership barriers (`parties == 0`) are met by the members
/// on every host whose region has the same name and cluster (host leaders meet through etcd; see
/// `muster_barrier_open`). The environment variables `MUSTER_CLUSTER` (endpoints),
/// `MUSTER_HOST_ID` and `MUSTER_LEASE_MS` override the three cluster fields, and
/// `MUSTER_CLUSTER_NAME` the name the region has across hosts (to simulate hosts on one
/// machine). Needs a libmuster built with the cargo feature `cluster`; other builds refuse a
/// configuration naming a cluster with `MUSTER_EUNAVAILABLE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct muster_region_config {
    /// `sizeof(muster_region_config)` as compiled into the caller; set by
    /// `muster_region_config_init`. Lets later versions of the library add fields.
    pub size: u32,
    /// Most barriers the region can hold, 1..=65536 (0: default 1024).
    pub max_barriers: u32,
    /// Most processes attached to the region at once, 1..=4096 (0: default 256).
    pub max_processes: u32,
    /// Permission bits of the region file, e.g. `0600` or `0660`; must include `0600`
    /// (0: default `0600`). The umask does not apply.
    pub mode: u32,
    /// Most threads that use alting barriers, channels or Alternatives in the region at once
    /// (each such thread takes one agent slot while it holds a handle), 1..=65535 (0: default
    /// 256).
    pub max_agents: u32,
    /// Most alting barriers, 1..=2^28 - 1 (0: default 256).
    pub max_alting_barriers: u32,
    /// Most front-ends per alting barrier, counting those added by `muster_alting_expand`,
    /// 1..=64 (0: default 32).
    pub max_frontends_per_barrier: u32,
    /// Most channels (0: default 256).
    pub max_channels: u32,
    /// Largest channel capacity, 1..=65535 (0: default 64).
    pub max_channel_capacity: u32,
    /// TTL of this process's etcd lease in milliseconds, rounded up to whole seconds: how soon
    /// the other hosts notice that this process died or was cut off (0: default 3000). Only with
    /// a cluster.
    pub lease_ms: u32,
    /// The etcd cluster, as comma-separated `host:port` endpoints (e.g.
    /// `"10.0.0.1:2379,10.0.0.2:2379"`); NULL: this host only. The string is read during the
    /// call only.
    pub cluster_endpoints: *const c_char,
    /// This host's id across the cluster, 1..=128 bytes of `[A-Za-z0-9._-]`, the same for every
    /// process of one host (NULL: the hostname). Only with a cluster.
    pub host_id: *const c_char,
    /// Reserved for later versions; must be zero.
    pub reserved: [u32; 2],
}

/// Size of the fields every version of `muster_region_config` has.
const CONFIG_V1_SIZE: usize = 16;
/// Word index of `lease_ms` (after the alting capacities).
const LEASE_WORD: usize = 9;
/// Byte offsets of the two string pointers (64-bit layout; see the `config_layout` test).
const ENDPOINTS_AT: usize = 40;
const HOST_ID_AT: usize = 48;
/// Index of the first reserved word (after the cluster fields).
const FIRST_RESERVED_WORD: usize = 14;
/// Larger sizes are certainly garbage.
const CONFIG_MAX_SIZE: usize = 4096;

impl muster_region_config {
    fn defaults() -> muster_region_config {
        let d = RegionConfig::default();
        muster_region_config {
            size: size_of::<muster_region_config>() as u32,
            max_barriers: d.max_barriers,
            max_processes: d.max_processes,
            mode: d.mode,
            max_agents: d.max_agents,
            max_alting_barriers: d.max_alting_barriers,
            max_frontends_per_barrier: d.max_frontends_per_barrier,
            max_channels: d.max_channels,
            max_channel_capacity: d.max_channel_capacity,
            lease_ms: 0,
            cluster_endpoints: std::ptr::null(),
            host_id: std::ptr::null(),
            reserved: [0; 2],
        }
    }
}

/// Reads a caller's config (NULL: defaults), honouring its `size`.
///
/// # Safety
/// `config` must be NULL or point to `config->size` readable bytes, whose non-NULL string
/// pointers (within `size`) are NUL-terminated.
unsafe fn read_config(config: *const muster_region_config) -> Result<RegionConfig, c_int> {
    let mut c = RegionConfig::default();
    if config.is_null() {
        return Ok(c);
    }
    // SAFETY: the caller guarantees at least the `size` field is readable; read_unaligned has no
    // alignment requirement.
    let size = unsafe { config.cast::<u32>().read_unaligned() } as usize;
    if !(CONFIG_V1_SIZE..=CONFIG_MAX_SIZE).contains(&size) {
        return Err(fail(MUSTER_EINVAL, format_args!("config->size is {size}; use muster_region_config_init")));
    }
    // A size that ends inside a field is no version of this struct: it would leave half a
    // pointer (or half a number) to be read.
    let ptr_len = size_of::<usize>();
    let cuts = |at: usize, len: usize| size > at && size < at + len;
    if !size.is_multiple_of(4) || cuts(ENDPOINTS_AT, ptr_len) || cuts(HOST_ID_AT, ptr_len) {
        return Err(fail(
            MUSTER_EINVAL,
            format_args!("config->size is {size}, inside a field; use muster_region_config_init"),
        ));
    }
    let ours = size_of::<muster_region_config>();
    let mut local = [0u8; size_of::<muster_region_config>()];
    // SAFETY: the caller guarantees `size` readable bytes; we copy min(size, ours) of them into a
    // local buffer of `ours` bytes.
    unsafe { std::ptr::copy_nonoverlapping(config.cast::<u8>(), local.as_mut_ptr(), size.min(ours)) };
    if size > ours {
        // SAFETY: bytes [ours, size) are readable (the caller's struct is `size` bytes long).
        let tail = unsafe { std::slice::from_raw_parts(config.cast::<u8>().add(ours), size - ours) };
        if tail.iter().any(|b| *b != 0) {
            return Err(fail(MUSTER_EINVAL, "config has fields this library does not know; they must be zero"));
        }
    }
    let word = |i: usize| u32::from_ne_bytes([local[4 * i], local[4 * i + 1], local[4 * i + 2], local[4 * i + 3]]);
    if (FIRST_RESERVED_WORD..ours / 4).any(|i| word(i) != 0) {
        return Err(fail(MUSTER_EINVAL, "config->reserved must be zero"));
    }
    let pick = |v: u32, d: u32| if v == 0 { d } else { v };
    c.max_barriers = pick(word(1), c.max_barriers);
    c.max_processes = pick(word(2), c.max_processes);
    c.mode = pick(word(3), c.mode);
    // A v1 caller (size 16) has no alting fields: `local` holds zeros there, so the defaults.
    c.max_agents = pick(word(4), c.max_agents);
    c.max_alting_barriers = pick(word(5), c.max_alting_barriers);
    c.max_frontends_per_barrier = pick(word(6), c.max_frontends_per_barrier);
    c.max_channels = pick(word(7), c.max_channels);
    c.max_channel_capacity = pick(word(8), c.max_channel_capacity);
    let ptr = |at: usize| {
        let mut b = [0u8; size_of::<usize>()];
        b.copy_from_slice(&local[at..at + size_of::<usize>()]);
        usize::from_ne_bytes(b) as *const c_char
    };
    // SAFETY: pointers within the caller's `size` are NULL or NUL-terminated (caller guarantee);
    // beyond it `local` holds zeros, so NULL.
    let (endpoints, host) =
        unsafe { (c_string(ptr(ENDPOINTS_AT), "cluster_endpoints")?, c_string(ptr(HOST_ID_AT), "host_id")?) };
    let lease_ms = word(LEASE_WORD);
    if endpoints.is_some() || host.is_some() || lease_ms != 0 {
        let mut cc = ClusterConfig::default();
        if let Some(e) = endpoints {
            cc.endpoints = ClusterConfig::parse_endpoints(e)
                .map_err(|e| fail(MUSTER_EINVAL, format_args!("cluster_endpoints: {e}")))?;
        }
        if let Some(h) = host {
            muster_shm::cluster_config::check_host_id(h)
                .map_err(|e| fail(MUSTER_EINVAL, format_args!("host_id: {e}")))?;
            cc.host_id = Some(h.to_owned());
        }
        cc.lease_ttl = (lease_ms != 0).then(|| Duration::from_millis(u64::from(lease_ms)));
        c.cluster = Some(cc);
    }
    Ok(c)
}

/// A config string field: NULL is `None`; not UTF-8 is `MUSTER_EINVAL`.
///
/// # Safety
/// `p` must be NULL or NUL-terminated, valid for `'a`.
unsafe fn c_string<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, c_int> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated (caller guarantee).
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| fail(MUSTER_EINVAL, format_args!("config->{what} is not valid UTF-8")))
}

/// Fills `config` with the defaults and sets `config->size`.
///
/// `config`: the struct to initialise.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` if `config` is NULL.
///
/// Thread-safety: may be called from any thread.
///
/// # Safety
/// `config` must be NULL or point to a writable `muster_region_config`.
#[no_mangle]
pub unsafe extern "C" fn muster_region_config_init(config: *mut muster_region_config) -> c_int {
    guard(|| {
        if config.is_null() {
            return fail(MUSTER_EINVAL, "config is NULL");
        }
        // SAFETY: non-NULL; the caller guarantees it points to a writable config.
        unsafe { put(config, muster_region_config::defaults()) };
        MUSTER_OK
    })
}

/// The common body of create/open/open_or_create.
///
/// # Safety
/// `name` must be NULL or NUL-terminated; `out` must be NULL or writable.
unsafe fn open_with(
    name: *const c_char,
    out: *mut *mut muster_region,
    cluster: Option<&ClusterConfig>,
    f: impl FnOnce(&str) -> muster_shm::Result<Region>,
) -> c_int {
    if out.is_null() {
        return fail(MUSTER_EINVAL, "out is NULL");
    }
    // SAFETY: forwarded caller guarantee.
    let name = match unsafe { name_arg(name, "name") } {
        Ok(n) => n,
        Err(code) => return code,
    };
    // Decided before the region is touched: a refused cluster configuration leaves nothing.
    let cluster = match cluster::for_region(cluster) {
        Ok(c) => c,
        // A bad host id (from MUSTER_HOST_ID) is a bad configuration, not a bad region name.
        Err(muster_shm::Error::InvalidName(m)) => return fail(MUSTER_EINVAL, m),
        Err(e) => return from_shm(&e),
    };
    match f(name) {
        Ok(region) => {
            let handle = Box::into_raw(Box::new(muster_region { inner: region, cluster }));
            // SAFETY: `out` is non-NULL and writable (caller guarantee).
            unsafe { put(out, handle) };
            MUSTER_OK
        }
        Err(e) => from_shm(&e),
    }
}

/// [`open_with`] for the calls that take a config (create, open_or_create): reads `config`, then
/// opens with `f(name, &config)`.
///
/// # Safety
/// As for `read_config` (`config`) and `open_with` (`name`, `out`).
unsafe fn open_with_config(
    name: *const c_char,
    config: *const muster_region_config,
    out: *mut *mut muster_region,
    f: impl FnOnce(&str, &RegionConfig) -> muster_shm::Result<Region>,
) -> c_int {
    // SAFETY: forwarded caller guarantee.
    let cfg = match unsafe { read_config(config) } {
        Ok(c) => c,
        Err(code) => return code,
    };
    // SAFETY: forwarded caller guarantees.
    unsafe { open_with(name, out, cfg.cluster.as_ref(), |n| f(n, &cfg)) }
}

/// Creates the region `name` and opens it.
///
/// The region is a file `/dev/shm/<name>` (plus a sidecar `/dev/shm/.<name>.muster-lock`). It is
/// fully initialised before it becomes visible, so concurrent openers never see half a region,
/// and of several racing creators exactly one succeeds.
///
/// `name`: 1 to 64 bytes of `[A-Za-z0-9._-]`, not starting with `.`.
/// `config`: capacities and mode, or NULL for the defaults (see `muster_region_config`).
/// `out`: receives the new handle on success (untouched on failure).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL `name` or `out`, bad config: also a malformed
/// `cluster_endpoints` or `host_id`, or bad `MUSTER_CLUSTER` / `MUSTER_HOST_ID` /
/// `MUSTER_LEASE_MS` values), `MUSTER_ENAME`, `MUSTER_EEXIST` (the region exists),
/// `MUSTER_EPERM`, `MUSTER_ENOMEM` (`/dev/shm` is full), `MUSTER_EFULL`, `MUSTER_EIO`,
/// `MUSTER_EUNAVAILABLE` (a cluster is named but this libmuster was built without the `cluster`
/// feature; nothing is created). etcd is not contacted here: the first cluster barrier open
/// connects.
///
/// Thread-safety: may be called from any thread, concurrently with any other function.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `config` must be NULL or point to
/// `config->size` readable bytes; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_region_create(
    name: *const c_char,
    config: *const muster_region_config,
    out: *mut *mut muster_region,
) -> c_int {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { open_with_config(name, config, out, Region::create) })
}

/// Opens the existing region `name`, validating its header (magic, layout version, sizes) before
/// using it.
///
/// `name`: the region's name (rules as for `muster_region_create`).
/// `out`: receives the new handle on success (untouched on failure).
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL argument), `MUSTER_ENAME`, `MUSTER_ENOENT` (no such
/// region), `MUSTER_ECORRUPT` (not a Muster region, truncated or inconsistent),
/// `MUSTER_EVERSION` (created by an incompatible libmuster), `MUSTER_EPERM`,
/// `MUSTER_EFULL` (process table full), `MUSTER_ENOMEM`, `MUSTER_EIO`; with `MUSTER_CLUSTER` in
/// the environment (the handle then spans hosts, see `muster_region_config`), errors as for
/// `muster_region_create`'s cluster checks.
///
/// Thread-safety: may be called from any thread, concurrently with any other function. Several
/// handles to one region in one process are allowed (each takes a process-table slot).
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn muster_region_open(name: *const c_char, out: *mut *mut muster_region) -> c_int {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { open_with(name, out, None, Region::open) })
}

/// Opens the region `name`, creating it with `config` if it does not exist. Racing callers all
/// end up with the same region.
///
/// Arguments, returns and thread-safety as for `muster_region_create` and `muster_region_open`
/// (never `MUSTER_EEXIST`).
///
/// # Safety
/// As for `muster_region_create`.
#[no_mangle]
pub unsafe extern "C" fn muster_region_open_or_create(
    name: *const c_char,
    config: *const muster_region_config,
    out: *mut *mut muster_region,
) -> c_int {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { open_with_config(name, config, out, Region::open_or_create) })
}

/// Closes a region handle.
///
/// Barrier handles opened from it stay valid (they keep the mapping alive); the process detaches
/// from the region when its last handle and barrier are closed. The region itself persists until
/// `muster_region_unlink`.
///
/// `region`: the handle, or NULL (a no-op).
///
/// Returns: `MUSTER_OK`.
///
/// Thread-safety: no other call may use `region` concurrently or afterwards.
///
/// # Safety
/// `region` must be NULL or a handle returned by libmuster and not yet closed.
#[no_mangle]
pub unsafe extern "C" fn muster_region_close(region: *mut muster_region) -> c_int {
    guard(|| {
        if !region.is_null() {
            // SAFETY: the caller passes a live handle from Box::into_raw and gives up its use.
            drop(unsafe { Box::from_raw(region) });
        }
        MUSTER_OK
    })
}

/// Removes the region's name (and its sidecar file). Processes that have it open keep working
/// on it; a later `muster_region_create` of the same name makes a new, separate region.
///
/// `name`: the region's name.
///
/// Returns: `MUSTER_OK`; `MUSTER_EINVAL` (NULL), `MUSTER_ENAME`, `MUSTER_ENOENT`, `MUSTER_EPERM`,
/// `MUSTER_EIO`.
///
/// Thread-safety: may be called from any thread, concurrently with any other function.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn muster_region_unlink(name: *const c_char) -> c_int {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        let name = match unsafe { name_arg(name, "name") } {
            Ok(n) => n,
            Err(code) => return code,
        };
        match Region::unlink(name) {
            Ok(()) => MUSTER_OK,
            Err(e) => from_shm(&e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_layout() {
        assert_eq!(size_of::<muster_region_config>(), 64);
        assert_eq!(std::mem::offset_of!(muster_region_config, max_agents), CONFIG_V1_SIZE);
        assert_eq!(std::mem::offset_of!(muster_region_config, lease_ms), LEASE_WORD * 4);
        assert_eq!(std::mem::offset_of!(muster_region_config, cluster_endpoints), ENDPOINTS_AT);
        assert_eq!(std::mem::offset_of!(muster_region_config, host_id), HOST_ID_AT);
        assert_eq!(std::mem::offset_of!(muster_region_config, reserved), FIRST_RESERVED_WORD * 4);
    }

    #[test]
    fn config_reading() {
        let mut c = muster_region_config::defaults();
        // SAFETY: valid pointer to a full config.
        let r = unsafe { read_config(&c) }.unwrap();
        assert_eq!(r, RegionConfig::default());
        c.max_barriers = 7;
        c.mode = 0;
        // SAFETY: as above.
        let r = unsafe { read_config(&c) }.unwrap();
        assert_eq!((r.max_barriers, r.mode), (7, RegionConfig::default().mode));
        c.max_frontends_per_barrier = 4;
        c.max_channel_capacity = 0;
        // SAFETY: as above.
        let r = unsafe { read_config(&c) }.unwrap();
        assert_eq!(
            (r.max_frontends_per_barrier, r.max_channel_capacity),
            (4, RegionConfig::default().max_channel_capacity)
        );
        c.reserved[1] = 1;
        // SAFETY: as above.
        assert_eq!(unsafe { read_config(&c) }, Err(MUSTER_EINVAL));
        c.reserved[1] = 0;
        c.size = 3;
        // SAFETY: as above.
        assert_eq!(unsafe { read_config(&c) }, Err(MUSTER_EINVAL));
        // A future, larger struct with zero tail is accepted; a non-zero tail is not.
        #[repr(C)]
        struct Bigger {
            base: muster_region_config,
            // Two words: no padding, whose bytes would be undefined and read as a tail.
            extra: u32,
            extra2: u32,
        }
        let mut b = Bigger { base: muster_region_config::defaults(), extra: 0, extra2: 0 };
        b.base.size = size_of::<Bigger>() as u32;
        // SAFETY: the pointer covers all of `b`, which is `size` bytes long.
        assert!(unsafe { read_config(std::ptr::from_ref(&b).cast()) }.is_ok());
        b.extra = 5;
        // SAFETY: as above.
        assert_eq!(unsafe { read_config(std::ptr::from_ref(&b).cast()) }, Err(MUSTER_EINVAL));
        // A smaller (v1-only) struct reads only its fields.
        let mut small = muster_region_config::defaults();
        small.size = CONFIG_V1_SIZE as u32;
        small.reserved[0] = 9; // outside the declared size: ignored
        small.max_agents = 9; // likewise
                              // SAFETY: the full struct is readable.
        let r = unsafe { read_config(&small) }.unwrap();
        assert_eq!(r.max_agents, RegionConfig::default().max_agents);
        // A size that ends inside a pointer field (found by the fuzzer: half a pointer was read
        // and dereferenced) or inside a number is refused.
        let mut cut = muster_region_config::defaults();
        cut.cluster_endpoints = c"127.0.0.1:2379".as_ptr();
        cut.host_id = c"node-1".as_ptr();
        for size in [44u32, 52, 18] {
            cut.size = size;
            // SAFETY: the full struct is readable; strings are NUL-terminated literals.
            assert_eq!(unsafe { read_config(&cut) }, Err(MUSTER_EINVAL), "size {size}");
        }
        // Sizes on field boundaries read the fields they cover.
        cut.size = 48;
        // SAFETY: as above.
        let r = unsafe { read_config(&cut) }.unwrap();
        assert_eq!(r.cluster.map(|c| c.host_id), Some(None), "host_id lies beyond size 48");
    }

    #[test]
    fn cluster_fields() {
        let mut c = muster_region_config::defaults();
        c.cluster_endpoints = c"127.0.0.1:2379, 10.0.0.2:2380".as_ptr();
        c.host_id = c"node-1".as_ptr();
        c.lease_ms = 1500;
        // SAFETY: a full config whose strings are NUL-terminated literals.
        let r = unsafe { read_config(&c) }.unwrap();
        let cc = r.cluster.expect("cluster");
        assert_eq!(cc.endpoints, vec!["127.0.0.1:2379".to_owned(), "10.0.0.2:2380".to_owned()]);
        assert_eq!((cc.host_id.as_deref(), cc.lease_ttl), (Some("node-1"), Some(Duration::from_millis(1500))));
        for bad in [c"", c"nohostport", c"a:1,,b:2", c"h:99999"] {
            c.cluster_endpoints = bad.as_ptr();
            // SAFETY: as above.
            assert_eq!(unsafe { read_config(&c) }, Err(MUSTER_EINVAL), "{bad:?}");
        }
        c.cluster_endpoints = c"h:1".as_ptr();
        c.host_id = c"a/b".as_ptr();
        // SAFETY: as above.
        assert_eq!(unsafe { read_config(&c) }, Err(MUSTER_EINVAL));
        // An older caller's struct ends before the cluster fields: they read as defaults.
        c.size = (FIRST_RESERVED_WORD - 5) as u32 * 4;
        // SAFETY: the full struct is readable.
        assert_eq!(unsafe { read_config(&c) }.unwrap().cluster, None);
    }
}
