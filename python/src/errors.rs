//! Mapping `muster::Error` to the Python exceptions of the `muster` package.
//!
//! The exception classes are defined in Python (`muster/_errors.py`): `BrokenBarrierError` must
//! subclass both `threading.BrokenBarrierError` and `MusterError`, which a class made with
//! `create_exception!` (one base) cannot. At import, the package hands this module a factory,
//! `make_error(code, detail, pid, wait)`, that builds the right exception instance; every failing
//! call goes through it. Codes are the stable `MUSTER_E*` values of the C ABI (include/muster.h),
//! so `e.code` means the same in C, Java and Python.

use muster::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

pub const EINVAL: i32 = -1;
pub const ENAME: i32 = -2;
pub const EEXIST: i32 = -3;
pub const ENOENT: i32 = -4;
pub const EFULL: i32 = -5;
pub const ETIMEDOUT: i32 = -6;
pub const ECANCELLED: i32 = -7;
pub const EBROKEN: i32 = -8;
pub const EPEERDIED: i32 = -9;
pub const EMISMATCH: i32 = -10;
pub const EVERSION: i32 = -11;
pub const ECORRUPT: i32 = -12;
pub const EMISUSE: i32 = -13;
pub const EPERM: i32 = -14;
pub const ENOMEM: i32 = -15;
pub const EIO: i32 = -16;
pub const EACTION: i32 = -17;

/// The Python-side factory of exception instances (set once by `muster/__init__.py`).
static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Registers the exception factory (called once by the package at import).
#[pyfunction]
pub fn _set_error_factory(py: Python<'_>, factory: Py<PyAny>) -> PyResult<()> {
    // A second import of the package (importlib.reload) keeps the first factory.
    let _ = FACTORY.set(py, factory);
    Ok(())
}

/// The `MUSTER_E*` code of an error.
pub fn code_of(e: &Error) -> i32 {
    match e {
        Error::InvalidName(_) => ENAME,
        Error::InvalidArgument(_) => EINVAL,
        Error::Exists => EEXIST,
        Error::NotFound => ENOENT,
        Error::Full(_) => EFULL,
        Error::Timeout => ETIMEDOUT,
        Error::Cancelled => ECANCELLED,
        Error::Broken => EBROKEN,
        Error::PeerDied { .. } => EPEERDIED,
        Error::Mismatch { .. } => EMISMATCH,
        Error::Version { .. } => EVERSION,
        Error::Corrupt(_) => ECORRUPT,
        Error::Misuse(_) => EMISUSE,
        Error::Permission => EPERM,
        Error::NoMemory => ENOMEM,
        Error::Io(_) => EIO,
        Error::ActionFailed(_) => EACTION,
        // A variant added to the library after this table was written.
        _ => EIO,
    }
}

/// Builds the exception for `code` with `detail` (`pid`: the dead peer of `EPEERDIED`; `wait`:
/// a timeout is a channel/select `WaitTimeoutError`, not a barrier's `BarrierTimeoutError`).
pub fn raise(py: Python<'_>, code: i32, detail: &str, pid: u32, wait: bool) -> PyErr {
    match FACTORY.get(py) {
        Some(f) => match f.bind(py).call1((code, detail, pid, wait)) {
            Ok(exc) => PyErr::from_value(exc),
            Err(e) => e,
        },
        None => PyRuntimeError::new_err(format!("muster error {code}: {detail}")),
    }
}

/// Converts a library error from a barrier call.
pub fn err(py: Python<'_>, e: Error) -> PyErr {
    convert(py, e, false)
}

/// Converts a library error from a channel read or a select (timeouts are `WaitTimeoutError`).
pub fn wait_err(py: Python<'_>, e: Error) -> PyErr {
    convert(py, e, true)
}

fn convert(py: Python<'_>, e: Error, wait: bool) -> PyErr {
    let pid = if let Error::PeerDied { pid } = e { pid } else { 0 };
    raise(py, code_of(&e), &e.to_string(), pid, wait)
}

/// `MusterError(EMISUSE)` with `detail`.
pub fn misuse(py: Python<'_>, detail: &str) -> PyErr {
    raise(py, EMISUSE, detail, 0, false)
}

/// Extension trait: `result.py(py)?` converts a library result for Python.
pub trait ToPy<T> {
    /// Converts with barrier semantics (a timeout breaks or resigns).
    fn py(self, py: Python<'_>) -> PyResult<T>;
    /// Converts with wait semantics (a timeout is a `TimeoutError`).
    fn py_wait(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> ToPy<T> for muster::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| err(py, e))
    }
    fn py_wait(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| wait_err(py, e))
    }
}

/// The library's description of a code (the C ABI's `muster_strerror` texts).
#[pyfunction]
pub fn strerror(code: i64) -> &'static str {
    match code {
        0 => "success",
        -1 => "invalid argument",
        -2 => "invalid name",
        -3 => "region already exists",
        -4 => "no such region, barrier or channel",
        -5 => "region capacity exhausted",
        -6 => "timed out",
        -7 => "cancelled: member resigned after a timeout",
        -8 => "barrier broken",
        -9 => "a peer process died",
        -10 => "barrier exists with another kind or party count",
        -11 => "incompatible region layout version",
        -12 => "corrupt region",
        -13 => "API misuse",
        -14 => "permission denied",
        -15 => "out of memory",
        -16 => "i/o error",
        -17 => "completion action failed",
        -32 => "internal error in libmuster",
        c if c > 0 => "success (non-negative result)",
        _ => "unknown error code",
    }
}
