//! Per-thread handles: [`ThreadBound`] keeps a `!Send` library handle on its creating thread,
//! [`blocking`] and [`sliced`] run its blocking calls with the GIL released.
//!
//! The library's alting handles are `!Send`: a front-end, channel handle or Alternative belongs
//! to the thread that created it. Python objects can reach any thread, so each one is wrapped in
//! [`ThreadBound`], which checks on every call that it runs on the owning thread and answers
//! any other thread with `MusterError(EMISUSE)` (the C ABI's behaviour) instead of touching the
//! value. A handle garbage-collected on another thread is leaked, not dropped there (its
//! front-end stays owned until the process exits; close handles explicitly or with ``with``).
//! Blocking calls release the GIL; the closure passed to `Python::detach` runs on the calling
//! thread, which is the owner, so the `!Send` value never leaves it ([`OnOwner`]).

use std::cell::RefCell;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::barrier::duration;
use crate::errors::misuse;
use crate::split::SLICE;

/// A `!Send` value usable only on the thread that created it.
pub struct ThreadBound<T> {
    owner: ThreadId,
    value: RefCell<Option<T>>,
}

// SAFETY: the value is only touched on the owning thread: every access goes through `with`,
// which compares the current thread with `owner` first, and `Drop` forgets the value instead of
// dropping it on another thread. Moving the wrapper itself between threads moves no access.
unsafe impl<T> Send for ThreadBound<T> {}
// SAFETY: as above; shared references from other threads can only reach the owner check.
unsafe impl<T> Sync for ThreadBound<T> {}

impl<T> ThreadBound<T> {
    pub fn new(value: T) -> ThreadBound<T> {
        ThreadBound { owner: std::thread::current().id(), value: RefCell::new(Some(value)) }
    }

    pub fn check(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        if std::thread::current().id() != self.owner {
            return Err(misuse(py, &format!("{what} handle used by a thread other than the one that created it")));
        }
        Ok(())
    }

    /// Runs `f` on the value, on the owning thread only (`ValueError` if closed).
    pub fn with<R>(&self, py: Python<'_>, what: &str, f: impl FnOnce(&mut T) -> PyResult<R>) -> PyResult<R> {
        self.check(py, what)?;
        let mut slot = self.value.try_borrow_mut().map_err(|_| PyValueError::new_err(format!("{what} is in use")))?;
        match slot.as_mut() {
            Some(v) => f(v),
            None => Err(PyValueError::new_err(format!("{what} is closed"))),
        }
    }

    /// Drops the value (on the owning thread only).
    pub fn close(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        self.check(py, what)?;
        let taken = self.value.try_borrow_mut().map_err(|_| PyValueError::new_err(format!("{what} is in use")))?.take();
        drop(taken);
        Ok(())
    }

    /// Whether the value is gone (false when asked from another thread while it is open).
    pub fn is_closed(&self) -> bool {
        if std::thread::current().id() != self.owner {
            // Only the owner may look inside; the Python object keeps its own flag for others.
            return false;
        }
        self.value.try_borrow().map(|v| v.is_none()).unwrap_or(false)
    }
}

impl<T> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        if std::thread::current().id() != self.owner {
            // Not ours to drop here: leak it (see the module comment).
            if let Some(v) = self.value.get_mut().take() {
                std::mem::forget(v);
            }
        }
    }
}

/// Carries a reference to an owner-thread value into `Python::detach`, whose closure runs on the
/// same (owning) thread.
struct OnOwner<T>(T);

// SAFETY: `Python::detach` runs its closure on the calling thread before returning, and the
// caller is the owner (checked by `ThreadBound::with`), so the value never crosses threads.
unsafe impl<T> Send for OnOwner<T> {}

impl<T> OnOwner<T> {
    /// Takes the value out (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> T {
        self.0
    }
}

/// Runs a blocking call with the GIL released, on the owning thread.
pub fn blocking<T, R: Send>(py: Python<'_>, value: &mut T, f: impl FnOnce(&mut T) -> R + Send) -> R {
    let v = OnOwner(value);
    py.detach(move || f(v.get()))
}

/// Runs a blocking call in GIL-released slices of at most `SLICE` until it returns something
/// other than a timeout or `deadline` passes (then the last timeout is returned), running the
/// interpreter's signal handlers between slices, so Ctrl-C interrupts it (`KeyboardInterrupt`).
/// Only for calls whose timeout changes nothing (a channel read, a select, a poll).
pub fn sliced<T, R: Send>(
    py: Python<'_>,
    value: &mut T,
    deadline: Option<Instant>,
    mut f: impl FnMut(&mut T, Duration) -> muster::Result<R> + Send,
) -> PyResult<muster::Result<R>> {
    loop {
        let slice = match deadline {
            None => SLICE,
            Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
        };
        let r = blocking(py, value, |v| f(v, slice));
        match r {
            Err(muster::Error::Timeout) if deadline.is_none_or(|d| Instant::now() < d) => py.check_signals()?,
            other => return Ok(other),
        }
    }
}

/// A deadline `timeout` seconds from now (`None`: forever, also when too far to represent).
pub fn deadline_of(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    Ok(match timeout {
        Some(t) => duration(t)?.and_then(|d| Instant::now().checked_add(d)),
        None => None,
    })
}

pub fn secs_u64(secs: f64) -> PyResult<Duration> {
    Ok(duration(secs)?.unwrap_or(Duration::MAX))
}
