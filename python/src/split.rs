//! The parts of `muster.Barrier` built on the library's split-phase API (`arrive` /
//! `await_ticket`): the Ctrl-C-interruptible `wait()`, `arrive` / `await_` / `is_complete` /
//! `arrive_and_drop`, and the completion action.
//!
//! **Interruptible waits.** A wait without a timeout arrives, then awaits its ticket in slices of
//! [`SLICE`] with the GIL released, running the interpreter's signal handlers between slices
//! (`PyErr_CheckSignals`). When a handler raises (Ctrl-C: `KeyboardInterrupt`), the wait stops
//! there and the exception propagates; the arrival stands (an await's timeout changes nothing),
//! so the generation completes and releases the others once the remaining parties arrive, as if
//! the interrupted caller were still waiting. The exception carries the arrival's ticket as
//! `muster_ticket`, for `await_` to resume the wait.
//!
//! **The hand-off with the GIL held.** Releasing and re-taking the GIL costs about as much as a
//! whole quiet two-process hand-off in Rust, so `wait()` first arrives and spins for
//! [`GIL_SPIN`] *holding* the GIL (`Barrier::try_arrive`, `Barrier::poll_ticket`: neither
//! blocks, yields nor sleeps), and only a wait that outlasts that releases the GIL and blocks.
//! The spin is bounded and short, so threads of this process that need the GIL (a partner thread
//! arriving at the same barrier, a completion action another thread runs) lose at most
//! [`GIL_SPIN`]; an arrival that would have to wait for a completion action still running
//! (which may need the GIL) takes the blocking path at once instead. A barrier with more parties
//! than CPUs is not spun on at all (`poll_ticket` follows the library's waiting policy there).
//!
//! **Completion action.** `action` is called, with the GIL, by the last party to arrive, before
//! anyone is released (in whichever process that party is: each process's handle carries the
//! action, pickled along with the barrier). If it raises, the generation breaks for everyone
//! (`ActionFailedError`, a `BrokenBarrierError`) and the thread that ran it gets the action's
//! own exception, as with `threading.Barrier`.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use muster::{Arrival, Error};
use pyo3::prelude::*;

use crate::errors::{err, wait_err};

/// How long one GIL-released slice of an interruptible wait lasts.
pub const SLICE: Duration = Duration::from_millis(50);

/// How long `wait()` spins holding the GIL before it releases it to block (see the module docs).
pub const GIL_SPIN: Duration = Duration::from_micros(3);

thread_local! {
    /// The exception of a completion action that failed on this thread (re-raised by the call
    /// that ran it instead of the library's `ActionFailed`).
    static ACTION_ERROR: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Converts a barrier error; an `ActionFailed` from this thread's own action becomes the
/// action's exception.
fn barrier_err(py: Python<'_>, e: Error) -> PyErr {
    if matches!(e, Error::ActionFailed(_)) {
        if let Some(own) = ACTION_ERROR.with(|a| a.borrow_mut().take()) {
            return own;
        }
    }
    err(py, e)
}

/// Awaits `ticket` in slices until it completes, `deadline` passes (`Err(Timeout)`) or a signal
/// handler raises. `last` is the outcome of the slice already waited.
fn await_sliced(
    py: Python<'_>,
    b: &muster::Barrier,
    ticket: u64,
    deadline: Option<Instant>,
    mut last: muster::Result<()>,
) -> PyResult<std::result::Result<(), Error>> {
    loop {
        match last {
            Err(Error::Timeout) => {}
            other => return Ok(other),
        }
        if let Err(e) = py.check_signals() {
            // Lets the caller resume: `b.await_(e.muster_ticket)` (best effort: an exception
            // that takes no attributes goes on without it).
            let _ = e.value(py).setattr("muster_ticket", ticket);
            return Err(e);
        }
        let slice = match deadline {
            None => SLICE,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(SLICE),
                _ => return Ok(Err(Error::Timeout)),
            },
        };
        last = py.detach(|| b.await_ticket(ticket, Some(slice)));
    }
}

/// `wait()` without a timeout: arrive, spin briefly with the GIL, then await in slices
/// (interruptible), return the index.
pub fn wait_forever(py: Python<'_>, b: &muster::Barrier) -> PyResult<u32> {
    if let Some(a) = b.try_arrive().map_err(|e| barrier_err(py, e))? {
        if b.poll_ticket(a.ticket, GIL_SPIN).map_err(|e| barrier_err(py, e))? {
            return Ok(a.index);
        }
        let first = py.detach(|| b.await_ticket(a.ticket, Some(SLICE)));
        return match await_sliced(py, b, a.ticket, None, first)? {
            Ok(()) => Ok(a.index),
            Err(e) => Err(barrier_err(py, e)),
        };
    }
    // The previous generation's completion action is running (perhaps in a thread of this
    // process that needs the GIL): arrive with the GIL released. The first slice runs in the
    // same release.
    let (arrival, first): (Arrival, _) = py
        .detach(|| {
            let a = b.arrive()?;
            let r = b.await_ticket(a.ticket, Some(SLICE));
            Ok((a, r))
        })
        .map_err(|e| barrier_err(py, e))?;
    match await_sliced(py, b, arrival.ticket, None, first)? {
        Ok(()) => Ok(arrival.index),
        Err(e) => Err(barrier_err(py, e)),
    }
}

/// A timed `wait`: the library's `wait_timeout` (its timeout breaks the barrier or resigns the
/// member); not interruptible before the timeout ends.
pub fn wait_timed(py: Python<'_>, b: &muster::Barrier, timeout: Duration) -> PyResult<u32> {
    py.detach(|| b.wait_timeout(timeout)).map(|r| r.index).map_err(|e| barrier_err(py, e))
}

/// `arrive()`: `(index, ticket)`.
pub fn arrive(py: Python<'_>, b: &muster::Barrier) -> PyResult<(u32, u64)> {
    let a = py.detach(|| b.arrive()).map_err(|e| barrier_err(py, e))?;
    Ok((a.index, a.ticket))
}

/// `arrive_and_drop()`: `(index, ticket)`.
pub fn arrive_and_drop(py: Python<'_>, b: &muster::Barrier) -> PyResult<(u32, u64)> {
    let a = py.detach(|| b.arrive_and_drop()).map_err(|e| barrier_err(py, e))?;
    Ok((a.index, a.ticket))
}

/// `await_(ticket, timeout)`: sliced and interruptible; a timeout is `WaitTimeoutError` and
/// changes nothing.
pub fn await_ticket(py: Python<'_>, b: &muster::Barrier, ticket: u64, timeout: Option<Duration>) -> PyResult<()> {
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    let deadline = match deadline {
        Some(None) | None => None, // too far to represent: forever
        Some(Some(d)) => Some(d),
    };
    let first_slice = match deadline {
        None => SLICE,
        Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
    };
    let first = py.detach(|| b.await_ticket(ticket, Some(first_slice)));
    match await_sliced(py, b, ticket, deadline, first)? {
        Ok(()) => Ok(()),
        Err(Error::Timeout) => Err(wait_err(py, Error::Timeout)),
        Err(e) => Err(barrier_err(py, e)),
    }
}

/// `is_complete(ticket)`.
pub fn is_complete(py: Python<'_>, b: &muster::Barrier, ticket: u64) -> PyResult<bool> {
    b.is_complete(ticket).map_err(|e| barrier_err(py, e))
}

/// Installs `action` as the handle's completion action.
pub fn install_action(b: &muster::Barrier, action: Py<PyAny>) -> PyResult<()> {
    b.set_action(Some(Box::new(move || {
        Python::attach(|py| match action.call0(py) {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = e.to_string();
                ACTION_ERROR.with(|a| *a.borrow_mut() = Some(e));
                Err(format!("the completion action raised {text}"))
            }
        })
    })));
    Ok(())
}
