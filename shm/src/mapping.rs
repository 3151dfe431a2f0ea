//! The mapping: region files under `/dev/shm`, `MAP_SHARED` mappings, and typed access to them.
//!
//! This module and `futex.rs`/`liveness.rs` hold all of the crate's `unsafe`. Access to mapped
//! memory goes through [`Mapping::get`], which bounds- and alignment-checks the offset and hands
//! out references only to types made entirely of atomics ([`Shared`]): another process may write
//! any bytes at any time, and atomics are the only Rust types for which that is not a data race.
//!
//! Trust boundary we cannot close: a same-user peer can `ftruncate` the file and make every other
//! process take `SIGBUS` on access. Peers are trusted not to shrink the file.

use crate::error::{Error, Result};
use memmap2::{MmapOptions, MmapRaw};
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;

/// Directory of region files.
pub const SHM_DIR: &str = "/dev/shm";

/// Types that may be viewed in shared memory.
///
/// # Safety
/// Implementors must be `#[repr(C)]`, contain only atomics (or arrays/structs of them) and plain
/// padding, be valid for every bit pattern, and have no drop glue.
pub unsafe trait Shared: Sized {}

// SAFETY: atomics are valid for every bit pattern and tolerate concurrent writes.
unsafe impl Shared for muster_core::sync::AtomicU32 {}
// SAFETY: as above.
unsafe impl Shared for muster_core::sync::AtomicU64 {}
// SAFETY: `BarrierCell` is `#[repr(C)]` and made of atomics plus one `u32` of padding that is
// never read.
unsafe impl Shared for muster_core::barrier::BarrierCell {}

// SAFETY: the alting tables are `#[repr(C)]` structs (and `#[repr(C, align(128))]` paddings) of
// atomics only; see `muster_core::alting::tables`.
unsafe impl Shared for muster_core::alting::tables::AgentCell {}
// SAFETY: as above.
unsafe impl Shared for muster_core::alting::tables::PartyCell {}
// SAFETY: as above.
unsafe impl Shared for muster_core::alting::tables::AltBarrierCell {}
// SAFETY: as above.
unsafe impl Shared for muster_core::alting::tables::FrontEndCell {}
// SAFETY: as above.
unsafe impl Shared for muster_core::alting::tables::ChannelCell {}
// SAFETY: as above.
unsafe impl Shared for muster_core::alting::tables::ChanSlotCell {}

/// A region file mapped `MAP_SHARED`, read-write.
pub struct Mapping {
    map: MmapRaw,
    _file: File,
}

fn cpath(path: &std::path::Path) -> Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Error::InvalidName("path contains NUL".into()))
}

fn last_os_error() -> io::Error {
    io::Error::last_os_error()
}

/// Opens `path` with `flags` (always adding `O_NOFOLLOW | O_CLOEXEC`) and `mode`.
pub fn open_file(path: &std::path::Path, flags: libc::c_int, mode: libc::mode_t) -> io::Result<File> {
    let c = cpath(path).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string; `open` has no other memory arguments.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_NOFOLLOW | libc::O_CLOEXEC, mode as libc::c_uint) };
    if fd < 0 {
        return Err(last_os_error());
    }
    // SAFETY: `fd` was just returned by `open` and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// `link(2)` without following symlinks: publishes a fully initialised file under its final name,
/// failing with `EEXIST` if that name exists (the atomic equivalent of `O_EXCL`).
pub fn link_file(from: &std::path::Path, to: &std::path::Path) -> io::Result<()> {
    let (a, b) = (
        cpath(from).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        cpath(to).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
    );
    // SAFETY: both arguments are valid NUL-terminated strings.
    let r = unsafe { libc::link(a.as_ptr(), b.as_ptr()) };
    if r != 0 {
        return Err(last_os_error());
    }
    Ok(())
}

/// `fchmod` to the requested mode (creation masks it with the umask).
pub fn chmod(file: &File, mode: u32) -> io::Result<()> {
    // SAFETY: `file` owns a valid descriptor.
    if unsafe { libc::fchmod(file.as_raw_fd(), mode as libc::mode_t) } != 0 {
        return Err(last_os_error());
    }
    Ok(())
}

/// Whether a process with this pid exists (any owner: `EPERM` counts as existing).
pub fn pid_exists(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 performs only the existence and permission checks; no signal is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Path of a region file.
pub fn region_path(name: &str) -> PathBuf {
    PathBuf::from(SHM_DIR).join(name)
}

/// Path of a region's liveness sidecar file (a leading dot: never a valid region name).
pub fn lock_path(name: &str) -> PathBuf {
    PathBuf::from(SHM_DIR).join(format!(".{name}.muster-lock"))
}

impl Mapping {
    /// Maps all of `file` (`len` bytes) shared and read-write.
    pub fn new(file: File, len: u64) -> Result<Mapping> {
        let len = usize::try_from(len).map_err(|_| Error::Corrupt("region larger than the address space".into()))?;
        let map = MmapOptions::new().len(len).map_raw(&file).map_err(Error::Io)?;
        Ok(Mapping { map, _file: file })
    }

    /// Maps all of `file` (`len` bytes) shared and **read-only** (`PROT_READ`), for inspection
    /// without joining. Only loads may be done through such a mapping: a store, CAS or other RMW
    /// on it faults (`SIGSEGV`), so it is handed only to read-only code (`inspect.rs`).
    pub fn new_read_only(file: File, len: u64) -> Result<Mapping> {
        let len = usize::try_from(len).map_err(|_| Error::Corrupt("region larger than the address space".into()))?;
        let map = MmapOptions::new().len(len).map_raw_read_only(&file).map_err(Error::Io)?;
        Ok(Mapping { map, _file: file })
    }

    /// The mapped file.
    pub fn file(&self) -> &File {
        &self._file
    }

    /// Mapped length in bytes.
    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// A shared view of the `T` at byte offset `off`, or `None` if it does not fit or is misaligned.
    pub fn get<T: Shared>(&self, off: u64) -> Option<&T> {
        let off = usize::try_from(off).ok()?;
        let end = off.checked_add(std::mem::size_of::<T>())?;
        if end > self.map.len() {
            return None;
        }
        let ptr = self.map.as_ptr().wrapping_add(off);
        if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return None;
        }
        // SAFETY: the range [off, end) lies inside the live mapping (checked above), the pointer is
        // aligned for T, T is made only of atomics and valid for any bytes (`Shared`), and the
        // mapping lives as long as `&self`. Concurrent writes by other processes are atomic
        // accesses to atomics, not data races.
        Some(unsafe { &*(ptr as *const T) })
    }
}

impl Mapping {
    /// A shared view of `count` consecutive `T`s at byte offset `off`, or `None` if they do not fit
    /// or are misaligned.
    pub fn slice<T: Shared>(&self, off: u64, count: usize) -> Option<&[T]> {
        let off = usize::try_from(off).ok()?;
        let bytes = count.checked_mul(std::mem::size_of::<T>())?;
        let end = off.checked_add(bytes)?;
        if end > self.map.len() {
            return None;
        }
        let ptr = self.map.as_ptr().wrapping_add(off);
        if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return None;
        }
        // SAFETY: as in `get`: the whole range lies in the live mapping, is aligned for T, and T
        // consists of atomics valid for any bytes; the slice lives no longer than `&self`.
        Some(unsafe { std::slice::from_raw_parts(ptr as *const T, count) })
    }
}

/// `fstat` facts needed to validate a region file before mapping it.
pub struct FileInfo {
    pub size: u64,
    pub regular: bool,
}

/// Size and type of an open file.
pub fn file_info(file: &File) -> Result<FileInfo> {
    let md = file.metadata().map_err(Error::Io)?;
    Ok(FileInfo { size: md.len(), regular: md.file_type().is_file() })
}
