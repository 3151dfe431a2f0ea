//! The parts of `muster.Barrier` built on the library's split-phase API: the interruptible
//! `wait()` without a timeout and the completion action.
//!
//! Until the library has `arrive` / `await_ticket` / `set_action`, `wait()` without a timeout is
//! one GIL-released `Barrier::wait` (not interruptible by Ctrl-C) and `action=` is refused.

use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;

use crate::errors::ToPy;

/// `wait()` with no timeout.
pub fn wait_forever(py: Python<'_>, b: &muster::Barrier) -> PyResult<u32> {
    py.detach(|| b.wait()).py(py).map(|r| r.index)
}

/// Installs `action` as the barrier's completion action.
pub fn install_action(_b: &muster::Barrier, _action: Py<PyAny>) -> PyResult<()> {
    Err(PyNotImplementedError::new_err("completion actions need the split-phase barrier API"))
}
