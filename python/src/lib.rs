//! `muster._muster`: the native core of the `muster` Python package, built with PyO3 on the
//! `muster` crate. The pure-Python layer (`muster/__init__.py`) adds the exception classes, the
//! error codes and pickling helpers; the classes here are re-exported from it unchanged.
//!
//! * [`region`]: `Region` (create / open / open_or_create / unlink), the object factories.
//! * [`barrier`]: `Barrier`, shaped like `threading.Barrier`; [`split`]: its split-phase parts
//!   (interruptible wait, completion action).
//! * [`alting`]: the per-thread handles `AltingBarrier`, `Channel`; [`alternative`]: `Alternative`;
//!   [`per_thread`]: what keeps them on their thread.
//! * [`errors`]: `muster::Error` to the package's exceptions (stable `MUSTER_E*` codes).

mod alternative;
mod alting;
mod barrier;
mod errors;
mod per_thread;
mod region;
mod split;

use pyo3::prelude::*;

/// The version of the Rust library this extension was built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _muster(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<region::Region>()?;
    m.add_class::<barrier::Barrier>()?;
    m.add_class::<alting::AltingBarrier>()?;
    m.add_class::<alting::Channel>()?;
    m.add_class::<alternative::Alternative>()?;
    m.add_function(wrap_pyfunction!(errors::strerror, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_set_error_factory, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
