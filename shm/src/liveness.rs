//! Liveness tokens: an open-file-description (OFD) write lock on one byte of a sidecar file.
//!
//! A process that attaches to a region takes `F_OFD_SETLK` on byte `slot` of the region's sidecar
//! file and holds it for as long as it is attached. The kernel drops the lock when the last
//! descriptor of that open file description closes, i.e. when the process dies, even by SIGKILL.
//! Others test it with `F_OFD_GETLK`. Unlike pids, the token cannot be fooled by pid reuse and
//! works across pid namespaces; unlike classic POSIX locks, OFD locks conflict between two opens in
//! the same process, so no in-process tracker is needed.
//!
//! `fork()` shares open file descriptions, so a child would keep its parent's token alive. A
//! `pthread_atfork` child handler closes every token descriptor in the child; the child must open
//! the region again to take part (a [`crate::Region`] used across `fork` reports misuse).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Once;

const MAX_TOKENS: usize = 256;

/// Sidecar byte a creator locks from before publishing a region until it is attached (beyond
/// every process slot), so removers never take a region being created for stale.
pub const CREATING_BYTE: u32 = 1 << 20;
static TOKEN_FDS: [AtomicI32; MAX_TOKENS] = [const { AtomicI32::new(-1) }; MAX_TOKENS];
static ATFORK: Once = Once::new();
/// Bumped in every forked child, so a token can tell cheaply (one load, no `getpid`) whether it is
/// used by the process that took it.
static FORKS: AtomicU32 = AtomicU32::new(0);

extern "C" fn close_tokens_in_child() {
    FORKS.fetch_add(1, Ordering::SeqCst);
    for slot in &TOKEN_FDS {
        let fd = slot.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: `fd` is a descriptor this library registered; closing it in the child only
            // drops the child's reference to the open file description. `close` is
            // async-signal-safe, as required after fork.
            unsafe {
                libc::close(fd);
            }
        }
    }
}

fn lock_op(fd: i32, cmd: libc::c_int, ty: libc::c_short, byte: u32) -> io::Result<libc::flock> {
    lock_range(fd, cmd, ty, byte, 1)
}

/// One OFD lock command on bytes `start..start + len` (`len == 0`: to the end of any file size).
fn lock_range(fd: i32, cmd: libc::c_int, ty: libc::c_short, start: u32, len: u32) -> io::Result<libc::flock> {
    // SAFETY: an all-zero `flock` is a valid value of this plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = ty;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = libc::off_t::from(start);
    fl.l_len = libc::off_t::from(len);
    fl.l_pid = 0; // required to be 0 for OFD commands
                  // SAFETY: `fd` is an open descriptor and `fl` a valid, writable flock for the call.
    let r = unsafe { libc::fcntl(fd, cmd, &mut fl) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fl)
}

/// A held liveness token.
pub struct Token {
    slot: usize, // index into TOKEN_FDS, or MAX_TOKENS when not registered for atfork
    fd: i32,
    forks: u32,
}

impl Token {
    /// Tries to lock `byte` of the sidecar through `file`: `Ok(false)` if another live process
    /// holds it. On success, wrap the file with [`Token::new`] to keep the lock.
    pub fn try_lock(file: &File, byte: u32) -> io::Result<bool> {
        match lock_op(file.as_raw_fd(), libc::F_OFD_SETLK, libc::F_WRLCK as libc::c_short, byte) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Releases a lock taken with [`Token::try_lock`] that will not be kept.
    pub fn unlock(file: &File, byte: u32) -> io::Result<()> {
        lock_op(file.as_raw_fd(), libc::F_OFD_SETLK, libc::F_UNLCK as libc::c_short, byte).map(|_| ())
    }

    /// Keeps the lock held through `file` for the life of the token (closed in forked children).
    pub fn new(file: File) -> Token {
        let fd = file.into_raw_fd();
        ATFORK.call_once(|| {
            // SAFETY: registering a plain `extern "C"` handler; no prepare/parent handlers.
            unsafe {
                libc::pthread_atfork(None, None, Some(close_tokens_in_child));
            }
        });
        let slot = TOKEN_FDS
            .iter()
            .position(|s| s.compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst).is_ok())
            .unwrap_or(MAX_TOKENS);
        Token { slot, fd, forks: FORKS.load(Ordering::SeqCst) }
    }

    /// Whether this token still belongs to the calling process (false in a forked child).
    #[inline]
    pub fn held_by_caller(&self) -> bool {
        self.forks == FORKS.load(Ordering::Relaxed)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        let fd = if self.slot < MAX_TOKENS {
            // In a forked child the handler already closed it and left -1.
            TOKEN_FDS[self.slot].compare_exchange(self.fd, -1, Ordering::SeqCst, Ordering::SeqCst).ok()
        } else {
            Some(self.fd)
        };
        if let Some(fd) = fd {
            if self.held_by_caller() {
                // SAFETY: we own `fd` (taken from the File in `acquire`) and close it once.
                unsafe {
                    libc::close(fd);
                }
            }
        }
    }
}

/// Whether some live process holds the token for `byte` (checked through `probe`, any open
/// descriptor of the sidecar file).
pub fn is_held(probe: &File, byte: u32) -> io::Result<bool> {
    let fl = lock_op(probe.as_raw_fd(), libc::F_OFD_GETLK, libc::F_WRLCK as libc::c_short, byte)?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// Whether any live process holds any token of the sidecar behind `probe` (one `F_OFD_GETLK` over
/// the whole file). Sees processes in the middle of attaching too: they lock before they write
/// the process table. Works on a read-only descriptor.
pub fn any_held(probe: &File) -> io::Result<bool> {
    let fl = lock_range(probe.as_raw_fd(), libc::F_OFD_GETLK, libc::F_WRLCK as libc::c_short, 0, 0)?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// Takes a write lock over the whole sidecar through `file` (opened read-write), or returns
/// `Ok(false)` if any live process holds a token. While held, no process can take a token, so no
/// process can attach; the lock goes when `file` is closed. Used by removal (see `clean.rs`).
pub fn try_lock_all(file: &File) -> io::Result<bool> {
    match lock_range(file.as_raw_fd(), libc::F_OFD_SETLK, libc::F_WRLCK as libc::c_short, 0, 0) {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether a process with this pid exists (in our pid namespace): the fallback when a region's
/// sidecar is missing. A reused pid reads as alive, which errs on the safe side for cleanup.
pub fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: `kill` with signal 0 only checks for existence and permission; no memory arguments.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether a remover holds its whole-file lock on the sidecar behind `probe` (see
/// [`try_lock_all`]): the lock that conflicts on byte 0 then covers the whole file, while a
/// token covers one byte (and no remover gets its lock while any token is held).
pub fn remover_active(probe: &File) -> bool {
    match lock_range(probe.as_raw_fd(), libc::F_OFD_GETLK, libc::F_WRLCK as libc::c_short, 0, 1) {
        Ok(fl) => fl.l_type != libc::F_UNLCK as libc::c_short && fl.l_len == 0,
        Err(_) => false,
    }
}
