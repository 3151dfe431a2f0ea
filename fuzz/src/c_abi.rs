//! Target `c_abi`: the bytes are a program of C ABI calls, run through the exported functions
//! exactly as a C caller would make them: names of any bytes (cut at the first NUL, as C does)
//! and any length, NULL for any pointer argument, `muster_region_config` of any `size` (up to
//! the 4 KiB the library may read) and contents, out-of-range counts, indices and modes.
//!
//! Checked: every call returns `MUSTER_OK`, a non-negative count, or one of the documented
//! negative codes; never `MUSTER_EINTERNAL` (a panic the library caught) and never a panic or
//! fault. Handles are only passed while live (a closed handle is undefined behaviour in C and
//! not the library's to detect). Regions a program creates are unlinked at its end.

use ffi::*;
use std::ffi::{c_char, c_int, CString};
use std::ptr::{null, null_mut};

/// Reads the program.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    fn small(&mut self) -> u32 {
        // Mostly small values, sometimes anything.
        match self.byte() {
            b @ 0..=200 => u32::from(b % 8),
            _ => self.u32(),
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// A name argument: NULL, a name of this process's own prefix (so it can be cleaned up), or raw
/// fuzzer bytes.
fn name(c: &mut Cursor, prefix: &str) -> Option<CString> {
    let kind = c.byte();
    let len = usize::from(c.byte());
    let raw = c.bytes(len);
    let cut: Vec<u8> = raw.iter().copied().take_while(|&b| b != 0).collect();
    match kind % 4 {
        0 => None,
        1 => CString::new(cut).ok(),
        _ => {
            let mut v = prefix.as_bytes().to_vec();
            v.push(b'0' + kind % 4);
            CString::new(v).ok()
        }
    }
}

fn ptr(n: &Option<CString>) -> *const c_char {
    n.as_ref().map_or(null(), |s| s.as_ptr())
}

/// Fails the case unless `rc` is OK, a count, or a documented error.
pub fn check_code(what: &str, rc: c_int) {
    // MUSTER_EUNAVAILABLE (-18) is the lowest documented code: a region config naming a cluster
    // in a libmuster built without one gives it.
    assert!(rc >= MUSTER_EUNAVAILABLE, "{what} returned {rc} (MUSTER_EINTERNAL is -32: a caught panic)");
}

/// A config argument: NULL, `muster_region_config_init` then fields from the program, or raw
/// bytes with any `size`.
fn config(c: &mut Cursor, buf: &mut [u32; 1024]) -> *const muster_region_config {
    buf.fill(0);
    match c.byte() % 3 {
        0 => null(),
        1 => {
            // SAFETY: `buf` is 4 KiB, 4-aligned: room for a config.
            check_code("config_init", unsafe { muster_region_config_init(buf.as_mut_ptr().cast()) });
            let fields = usize::from(c.byte() % 4);
            for _ in 0..fields {
                let i = 1 + usize::from(c.byte()) % 15;
                buf[i] = c.small();
            }
            // Keep creations small and quick.
            for (i, cap) in [(1, 16u32), (2, 8), (4, 8), (5, 8), (7, 4)] {
                if buf[i] == 0 || buf[i] > cap * 4 {
                    buf[i] = cap;
                }
            }
            cluster_strings(c, buf);
            buf.as_ptr().cast()
        }
        _ => {
            let n = usize::from(c.byte() % 64);
            for w in buf.iter_mut().take(n) {
                *w = c.small();
            }
            // The library reads `size` bytes (at most 4096): the buffer has them.
            buf[0] = match c.byte() % 4 {
                0 => c.u32(),
                1 => 16,
                2 => size_of::<muster_region_config>() as u32,
                _ => (c.byte() as u32) * 16,
            };
            cluster_strings(c, buf);
            buf.as_ptr().cast()
        }
    }
}

/// The config's string fields are pointers: random words there would be wild pointers (the C
/// contract requires NULL or a NUL-terminated string, like every `const char *` argument). Each
/// becomes NULL or one of a few strings, valid and invalid ones, all `'static`.
fn cluster_strings(c: &mut Cursor, buf: &mut [u32; 1024]) {
    const ENDPOINTS: [&[u8]; 4] = [b"127.0.0.1:1\0", b"a:0\0", b",\0", b"localhost:2379,127.0.0.1:2380\0"];
    const HOSTS: [&[u8]; 3] = [b"h1\0", b"\0", b"bad/host\0"];
    for (field, options) in [
        (std::mem::offset_of!(muster_region_config, cluster_endpoints), &ENDPOINTS[..]),
        (std::mem::offset_of!(muster_region_config, host_id), &HOSTS[..]),
    ] {
        let p: *const c_char = match usize::from(c.byte()) % (options.len() + 4) {
            i if i < options.len() => options[i].as_ptr().cast(),
            _ => null(),
        };
        let i = field / 4;
        let bytes = (p as usize as u64).to_ne_bytes();
        buf[i] = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        buf[i + 1] = u32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    }
}

/// Live handles of one program.
#[derive(Default)]
struct Handles {
    regions: Vec<*mut muster_region>,
    barriers: Vec<*mut muster_barrier>,
    altings: Vec<*mut muster_alting>,
    channels: Vec<*mut muster_channel>,
    alts: Vec<*mut muster_alt>,
}

/// Picks a live handle or NULL.
fn pick<T>(c: &mut Cursor, v: &[*mut T]) -> *mut T {
    let i = usize::from(c.byte());
    if v.is_empty() || i % (v.len() + 1) == v.len() {
        null_mut()
    } else {
        v[i % v.len()]
    }
}

/// Takes a live handle out (for close) or NULL.
fn take<T>(c: &mut Cursor, v: &mut Vec<*mut T>) -> *mut T {
    let i = usize::from(c.byte());
    if v.is_empty() || i % (v.len() + 1) == v.len() {
        null_mut()
    } else {
        v.swap_remove(i % v.len())
    }
}

/// The target.
pub fn c_abi(data: &[u8]) {
    let prefix = crate::unique_name("c");
    let mut c = Cursor(data);
    let mut h = Handles::default();
    let mut cfg = [0u32; 1024];
    let mut steps = 0;
    // SAFETY: for every call below, pointers passed are NULL, live handles of this program, or
    // valid buffers of the stated sizes: exactly what the header requires of a C caller.
    unsafe {
        while !c.done() && steps < 64 {
            steps += 1;
            match c.byte() % 15 {
                0..=2 => {
                    let n = name(&mut c, &prefix);
                    let conf = config(&mut c, &mut cfg);
                    let mut out: *mut muster_region = null_mut();
                    let out_p = if c.byte() % 8 == 0 { null_mut() } else { &mut out as *mut _ };
                    // A raw (fuzzer-made) region name is only ever *created* (and then unlinked at
                    // once): opening or unlinking it could touch another program's region.
                    let raw = n.as_ref().is_some_and(|n| !n.to_bytes().starts_with(prefix.as_bytes()));
                    let rc = match if raw { 0 } else { c.byte() % 3 } {
                        0 => muster_region_create(ptr(&n), conf, out_p),
                        1 => muster_region_open(ptr(&n), out_p),
                        _ => muster_region_open_or_create(ptr(&n), conf, out_p),
                    };
                    check_code("region_create/open", rc);
                    if rc == MUSTER_OK {
                        assert!(!out.is_null(), "region OK with a NULL handle");
                        h.regions.push(out);
                        if let Some(n) = &n {
                            if !n.to_bytes().starts_with(prefix.as_bytes()) {
                                // A fuzzer-made name that is valid: do not leave it behind.
                                let _ = muster_region_unlink(n.as_ptr());
                            }
                        }
                    }
                }
                3 => check_code("region_close", muster_region_close(take(&mut c, &mut h.regions))),
                4 => {
                    let r = pick(&mut c, &h.regions);
                    let n = name(&mut c, "b");
                    let parties = c.small();
                    let mut out: *mut muster_barrier = null_mut();
                    let rc = muster_barrier_open(r, ptr(&n), parties, &mut out);
                    check_code("barrier_open", rc);
                    if rc == MUSTER_OK {
                        h.barriers.push(out);
                    }
                }
                5 => {
                    let b = pick(&mut c, &h.barriers);
                    let mut g = 0u64;
                    let rc = match c.byte() % 10 {
                        0 => muster_barrier_wait_timeout(b, u64::from(c.small()) % 1_000_000),
                        1 => muster_barrier_abort(b),
                        2 => muster_barrier_reset(b),
                        3 => muster_barrier_enroll(b),
                        4 => muster_barrier_resign(b),
                        5 => muster_barrier_parties(b),
                        6 => muster_barrier_waiting(b),
                        7 => muster_barrier_broken(b),
                        8 => muster_barrier_is_member(b),
                        _ => muster_barrier_generation(b, if c.byte() % 2 == 0 { null_mut() } else { &mut g }),
                    };
                    check_code("barrier op", rc);
                }
                6 => check_code("barrier_close", muster_barrier_close(take(&mut c, &mut h.barriers))),
                7 => {
                    let r = pick(&mut c, &h.regions);
                    let n = name(&mut c, "a");
                    check_code("alting_create", muster_alting_create(r, ptr(&n), c.small()));
                    let mut out: *mut muster_alting = null_mut();
                    let rc = muster_alting_attach(r, ptr(&n), c.small(), &mut out);
                    check_code("alting_attach", rc);
                    if rc == MUSTER_OK {
                        h.altings.push(out);
                    }
                    check_code("alting_reset", muster_alting_reset(r, ptr(&n), c.small()));
                }
                8 => {
                    let f = pick(&mut c, &h.altings);
                    let (mut first, mut done) = (0u32, 0u64);
                    let mut idx = [0u32; 8];
                    let rc = match c.byte() % 9 {
                        0 => muster_alting_poll(f, u64::from(c.small()) % 1_000_000),
                        1 => muster_alting_enroll(f),
                        2 => muster_alting_resign(f),
                        3 => {
                            muster_alting_expand(f, c.small(), if c.byte() % 4 == 0 { null_mut() } else { &mut first })
                        }
                        4 => {
                            let cap = c.small().min(8);
                            let p = if c.byte() % 4 == 0 { null_mut() } else { idx.as_mut_ptr() };
                            muster_alting_expanded(f, c.small(), p, cap)
                        }
                        5 => muster_alting_contract(f, c.small(), c.small()),
                        6 => muster_alting_index(f),
                        7 => muster_alting_completions(f, if c.byte() % 2 == 0 { null_mut() } else { &mut done }),
                        _ => muster_alting_contract_self(f),
                    };
                    check_code("alting op", rc);
                }
                9 => check_code("alting_close", muster_alting_close(take(&mut c, &mut h.altings))),
                10 => {
                    let r = pick(&mut c, &h.regions);
                    let n = name(&mut c, "c");
                    let mut out: *mut muster_channel = null_mut();
                    let rc = muster_channel_open(r, ptr(&n), c.small(), c.small(), &mut out);
                    check_code("channel_open", rc);
                    if rc == MUSTER_OK {
                        h.channels.push(out);
                    }
                }
                11 => {
                    let ch = pick(&mut c, &h.channels);
                    let mut v = 0u64;
                    let out = if c.byte() % 4 == 0 { null_mut() } else { &mut v as *mut u64 };
                    let rc = match c.byte() % 4 {
                        0 => muster_channel_try_write(ch, u64::from(c.u32())),
                        1 => muster_channel_try_read(ch, out),
                        2 => muster_channel_read(ch, i64::from(c.small() % 1_000_000), out),
                        _ => check_close_channel(&mut c, &mut h),
                    };
                    check_code("channel op", rc);
                }
                12 => {
                    let mut out: *mut muster_alt = null_mut();
                    let rc = muster_alt_create(if c.byte() % 8 == 0 { null_mut() } else { &mut out });
                    check_code("alt_create", rc);
                    if rc == MUSTER_OK && !out.is_null() {
                        h.alts.push(out);
                    }
                }
                13 => {
                    let a = pick(&mut c, &h.alts);
                    let mut t = 0u32;
                    let rc = match c.byte() % 7 {
                        0 => muster_alt_add_alting(a, pick(&mut c, &h.altings)),
                        1 => muster_alt_add_channel(a, pick(&mut c, &h.channels)),
                        2 => muster_alt_add_skip(a),
                        3 => {
                            muster_alt_select(a, (c.small() as c_int).wrapping_sub(2), i64::from(c.small() % 1_000_000))
                        }
                        4 => muster_alt_ticket(a, if c.byte() % 2 == 0 { null_mut() } else { &mut t }),
                        5 => muster_alt_count(a),
                        _ => muster_alt_destroy(take(&mut c, &mut h.alts)),
                    };
                    check_code("alt op", rc);
                }
                _ => {
                    let code = c.u32() as c_int;
                    assert!(!muster_strerror(code).is_null(), "strerror returned NULL");
                    let len = usize::from(c.byte());
                    let mut buf = vec![0u8; len];
                    let p = if c.byte() % 4 == 0 { null_mut() } else { buf.as_mut_ptr().cast() };
                    let _ = muster_last_error_message(p, if p.is_null() && c.byte() % 2 == 0 { 0 } else { len });
                    let _ = muster_last_peer_pid();
                    assert!(!muster_version().is_null());
                    let n = name(&mut c, &prefix);
                    if n.as_ref().is_none_or(|n| n.to_bytes().starts_with(prefix.as_bytes())) {
                        let _ = muster_region_unlink(ptr(&n));
                    }
                    assert_eq!(muster_region_config_init(null_mut()), MUSTER_EINVAL, "config_init(NULL)");
                }
            }
        }
        // Close everything (handles before their regions), then remove what this program made.
        for a in h.alts.drain(..) {
            check_code("alt_destroy", muster_alt_destroy(a));
        }
        for f in h.altings.drain(..) {
            check_code("alting_close", muster_alting_close(f));
        }
        for ch in h.channels.drain(..) {
            check_code("channel_close", muster_channel_close(ch));
        }
        for b in h.barriers.drain(..) {
            check_code("barrier_close", muster_barrier_close(b));
        }
        for r in h.regions.drain(..) {
            check_code("region_close", muster_region_close(r));
        }
        for k in 1..4u8 {
            if let Ok(n) = CString::new(format!("{prefix}{}", (b'0' + k) as char)) {
                let _ = muster_region_unlink(n.as_ptr());
            }
        }
    }
}

/// Closes a channel picked by the program (part of the channel ops).
///
/// # Safety
/// As for the other calls: only live handles are passed.
unsafe fn check_close_channel(c: &mut Cursor, h: &mut Handles) -> c_int {
    // SAFETY: a live channel handle of this program, removed from the list, or NULL.
    unsafe { muster_channel_close(take(c, &mut h.channels)) }
}
