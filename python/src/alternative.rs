//! `muster.Alternative`: a per-thread choice among alting barrier, channel and skip guards.

use std::time::Instant;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::alting::{AltingBarrier, Channel, CHANNEL, FRONT_END};
use crate::barrier::duration;
use crate::errors::{ToPy, EINVAL};
use crate::per_thread::{sliced, ThreadBound};

const ALTERNATIVE: &str = "Alternative";

/// A choice among guards (JCSP ``Alternative``, CSP external choice): :class:`AltingBarrier`
/// front-ends, :class:`Channel` inputs and skips. A select waits until one guard is ready, fires
/// exactly that one and returns its index (guards are numbered 0, 1, ... in the order added); a
/// barrier guard fires for all the barrier's parties at once or not at all.
///
/// ``Alternative(guards=())`` adds the given guards (``None`` for a skip). A per-thread handle:
/// create, select and close it on the thread that owns its guards; all guards must belong to one
/// region and that thread. The Alternative keeps references to its guards.
#[pyclass(module = "muster", frozen)]
pub struct Alternative {
    /// `None` until the first guard names the region (the library makes an Alternative from a
    /// region; a skip-only Alternative gets one from its first barrier or channel guard).
    inner: ThreadBound<AltState>,
}

#[derive(Default)]
struct AltState {
    alt: Option<muster::Alternative>,
    /// Guards added before the library Alternative exists: only skips (count).
    pending_skips: usize,
    guards: Vec<Option<Py<PyAny>>>,
    closed: bool,
}

impl AltState {
    fn select(&mut self, py: Python<'_>, mode: muster::Select, timeout: Option<f64>) -> PyResult<usize> {
        if self.closed {
            return Err(PyValueError::new_err("Alternative is closed"));
        }
        for g in self.guards.iter().flatten() {
            if g.bind(py).getattr("closed")?.is_truthy()? {
                return Err(PyValueError::new_err(format!(
                    "guard {} of this Alternative is closed",
                    g.bind(py).repr()?
                )));
            }
        }
        let d = match timeout {
            Some(t) => duration(t)?,
            None => None,
        };
        match self.alt.as_mut() {
            Some(alt) => {
                let deadline = d.and_then(|d| Instant::now().checked_add(d));
                sliced(py, alt, deadline, move |a, slice| a.select(mode, Some(slice)))?.py_wait(py)
            }
            None if self.pending_skips > 0 => Ok(0),
            None => match d {
                None => Err(crate::errors::raise(
                    py,
                    EINVAL,
                    "select with no guards and no timeout would wait forever",
                    0,
                    false,
                )),
                Some(d) => {
                    py.detach(|| std::thread::sleep(d));
                    Err(crate::errors::raise(py, crate::errors::ETIMEDOUT, "timed out", 0, true))
                }
            },
        }
    }
}

#[pymethods]
impl Alternative {
    #[new]
    #[pyo3(signature = (guards=None))]
    fn py_new(py: Python<'_>, guards: Option<&Bound<'_, PyAny>>) -> PyResult<Alternative> {
        let me = Alternative { inner: ThreadBound::new(AltState::default()) };
        if let Some(gs) = guards {
            for g in gs.try_iter()? {
                let g = g?;
                if g.is_none() {
                    me.add_skip(py)?;
                } else {
                    me.add(py, &g)?;
                }
            }
        }
        Ok(me)
    }

    /// Adds an :class:`AltingBarrier` or :class:`Channel` guard; returns its index. Offering
    /// one barrier twice is an error at select time.
    fn add(&self, py: Python<'_>, guard: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.inner.with(py, ALTERNATIVE, |st| {
            if st.closed {
                return Err(PyValueError::new_err("Alternative is closed"));
            }
            // Adds to the library Alternative, creating it from the guard's region first.
            fn add_to<G>(
                py: Python<'_>,
                st: &mut AltState,
                g: &G,
                region: &muster::Region,
                add: impl Fn(&mut muster::Alternative, &G) -> muster::Result<usize>,
            ) -> PyResult<usize> {
                if st.alt.is_none() {
                    let mut alt = region.alternative().py(py)?;
                    for _ in 0..st.pending_skips {
                        alt.add_skip();
                    }
                    st.alt = Some(alt);
                }
                match st.alt.as_mut() {
                    Some(alt) => add(alt, g).py(py),
                    None => Err(PyValueError::new_err("Alternative is closed")),
                }
            }
            let i = if let Ok(b) = guard.cast::<AltingBarrier>() {
                let b = b.get();
                b.inner.with(py, FRONT_END, |fe| add_to(py, st, fe, &b.region, |alt, fe| alt.add_alting(fe)))?
            } else if let Ok(c) = guard.cast::<Channel>() {
                let c = c.get();
                c.inner.with(py, CHANNEL, |ch| add_to(py, st, ch, &c.region, |alt, ch| alt.add_channel(ch)))?
            } else {
                return Err(PyTypeError::new_err(format!(
                    "a guard is a muster.AltingBarrier or a muster.Channel, not {}",
                    guard.repr()?
                )));
            };
            st.guards.push(Some(guard.clone().unbind()));
            Ok(i)
        })
    }

    /// Adds a guard that is always ready (CSP ``SKIP``): selects never block; returns its
    /// index.
    fn add_skip(&self, py: Python<'_>) -> PyResult<usize> {
        self.inner.with(py, ALTERNATIVE, |st| {
            if st.closed {
                return Err(PyValueError::new_err("Alternative is closed"));
            }
            let i = match st.alt.as_mut() {
                Some(alt) => alt.add_skip(),
                None => {
                    st.pending_skips += 1;
                    st.pending_skips - 1
                }
            };
            st.guards.push(None);
            Ok(i)
        })
    }

    /// The guards in index order (``None`` for a skip).
    #[getter]
    fn guards<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let gs = self.inner.with(py, ALTERNATIVE, |st| {
            Ok(st.guards.iter().map(|g| g.as_ref().map(|g| g.clone_ref(py))).collect::<Vec<_>>())
        })?;
        PyList::new(py, gs)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.inner.with(py, ALTERNATIVE, |st| {
            if st.closed {
                return Err(PyValueError::new_err("Alternative is closed"));
            }
            Ok(st.guards.len())
        })
    }

    /// Waits at most ``timeout`` seconds (``None``: forever) until a guard fires and returns
    /// its index; any ready guard may be chosen. :class:`WaitTimeoutError` (a
    /// :class:`TimeoutError`) if none fired in time; ``MusterError`` otherwise (``EMISUSE``: a
    /// barrier offered twice, a resigned or foreign front-end, the wrong thread; ``EINVAL``: no
    /// guards and no timeout). The GIL is released; Ctrl-C interrupts it (``KeyboardInterrupt``,
    /// nothing fired): it selects in slices of 50 ms.
    #[pyo3(signature = (timeout=None))]
    fn select(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        self.inner.with(py, ALTERNATIVE, |st| st.select(py, muster::Select::Arbitrary, timeout))
    }

    /// As :meth:`select`, by guard order: a ready channel or skip guard beats the guards after
    /// it (barrier guards have no priority among themselves, as in JCSP).
    #[pyo3(signature = (timeout=None))]
    fn pri_select(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        self.inner.with(py, ALTERNATIVE, |st| st.select(py, muster::Select::Priority, timeout))
    }

    /// As :meth:`select`, with rotating priority: the guard chosen last has the lowest priority
    /// next time, so no ready guard starves.
    #[pyo3(signature = (timeout=None))]
    fn fair_select(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        self.inner.with(py, ALTERNATIVE, |st| st.select(py, muster::Select::Fair, timeout))
    }

    /// The completion number (1, 2, ...) of the barrier fired by this thread's last select,
    /// the same for every party of that event; 0 if the last select fired a channel or skip
    /// (or timed out). Read it right after the select.
    #[getter]
    fn ticket(&self, py: Python<'_>) -> PyResult<u32> {
        self.inner.with(py, ALTERNATIVE, |st| match st.alt.as_ref() {
            _ if st.closed => Err(PyValueError::new_err("Alternative is closed")),
            Some(alt) => Ok(alt.ticket().py(py)?.unwrap_or(0)),
            None => Ok(0),
        })
    }

    /// Whether the Alternative is destroyed.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        self.inner.with(py, ALTERNATIVE, |st| Ok(st.closed)).unwrap_or(false)
    }

    /// Destroys the Alternative (its guards stay open), on its creating thread. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.with(py, ALTERNATIVE, |st| {
            *st = AltState { closed: true, ..AltState::default() };
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match self.inner.with(py, ALTERNATIVE, |st| Ok((st.closed, st.guards.len()))) {
            Ok((true, _)) => "<muster.Alternative closed>".to_owned(),
            Ok((false, n)) => format!("<muster.Alternative {n} guards>"),
            Err(_) => "<muster.Alternative>".to_owned(),
        }
    }
}
