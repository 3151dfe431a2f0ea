//! The crate's error type.

use std::io;

/// Everything that can go wrong in Muster. The C ABI maps each variant to a stable negative code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A region or barrier name breaks the naming rules.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// An argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The region (or object) already exists.
    #[error("already exists")]
    Exists,
    /// No region (or barrier, alting barrier, channel) by that name.
    #[error("no such region or object")]
    NotFound,
    /// A fixed capacity of the region is exhausted.
    #[error("region full: {0}")]
    Full(&'static str),
    /// The wait timed out.
    #[error("timed out")]
    Timeout,
    /// The handle was cancelled (a member that timed out); enroll again to use it.
    #[error("barrier instance cancelled")]
    Cancelled,
    /// The barrier is broken (abort, reset, or a non-member's timeout).
    #[error("barrier broken")]
    Broken,
    /// A member process died while others waited; the barrier is broken until reset.
    #[error("peer process {pid} died")]
    PeerDied {
        /// The dead process's pid (diagnostic only).
        pid: u32,
    },
    /// A completion action failed (returned an error or panicked), which broke the generation
    /// for every party. The party that ran it gets the action's message.
    #[error("completion action failed: {0}")]
    ActionFailed(String),
    /// The barrier exists with a different kind or party count.
    #[error("barrier exists with {existing} parties, requested {requested}")]
    Mismatch {
        /// Parties of the existing barrier (0: membership barrier).
        existing: u32,
        /// Parties requested.
        requested: u32,
    },
    /// The region has another layout version.
    #[error("region layout version {found}, this library uses {expected}")]
    Version {
        /// Version found in the file.
        found: u32,
        /// Version this library writes.
        expected: u32,
    },
    /// The region file is malformed, truncated or inconsistent.
    #[error("corrupt region: {0}")]
    Corrupt(String),
    /// The call breaks the API's rules (e.g. enrolling twice, waiting on a membership barrier as a
    /// non-member, using a region handle in a forked child).
    #[error("misuse: {0}")]
    Misuse(&'static str),
    /// The region file is not accessible to this user.
    #[error("permission denied")]
    Permission,
    /// Memory (or address space) could not be obtained.
    #[error("out of memory")]
    NoMemory,
    /// Another I/O error.
    #[error("i/o error: {0}")]
    Io(#[source] io::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Maps an I/O error from opening or creating a region file.
    pub(crate) fn from_open(e: io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::ENOENT) => Error::NotFound,
            Some(libc::EEXIST) => Error::Exists,
            Some(libc::EACCES) | Some(libc::EPERM) => Error::Permission,
            Some(libc::ENOMEM) | Some(libc::ENOSPC) => Error::NoMemory,
            Some(libc::ELOOP) => Error::InvalidName("region path is a symbolic link".into()),
            _ => Error::Io(e),
        }
    }
}
