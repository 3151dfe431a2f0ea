//! `muster.AltingBarrier` and `muster.Channel`: per-thread handles (see `per_thread.rs`); the
//! `Alternative` over them is in `alternative.rs`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::{ToPy, EINVAL};
use crate::per_thread::{blocking, deadline_of, secs_u64, sliced, ThreadBound};
use crate::region::u32_arg;

pub const FRONT_END: &str = "alting barrier front-end";

/// One owned front-end of an alting barrier (JCSP ``AltingBarrier``), from
/// :meth:`Region.alting_attach`.
///
/// The barrier fires when every enrolled front-end offers it: by :meth:`sync` (committed), by
/// :meth:`poll` (bounded), or as a guard of an :class:`Alternative` among other barriers,
/// channels, skip and a timeout. A per-thread handle: use and close it on the thread that
/// attached it (another thread gets ``MusterError`` code ``EMISUSE``). Closing gives up
/// ownership; the front-end stays enrolled, so its partners wait until some thread or process
/// attaches the index again (or resigns it there).
#[pyclass(module = "muster", frozen)]
pub struct AltingBarrier {
    pub(crate) inner: ThreadBound<muster::AltingBarrier>,
    /// The region it came from (an Alternative with this guard is made from it).
    pub(crate) region: muster::Region,
    /// The alting barrier's name.
    #[pyo3(get)]
    name: String,
    /// Expansions made through this handle, `(first, indices)`, for `contract(first, n)`.
    expansions: ThreadBound<Vec<Vec<u32>>>,
}

impl AltingBarrier {
    pub fn new(fe: muster::AltingBarrier, name: String, region: muster::Region) -> AltingBarrier {
        AltingBarrier { inner: ThreadBound::new(fe), region, name, expansions: ThreadBound::new(Vec::new()) }
    }
}

#[pymethods]
impl AltingBarrier {
    /// Offers the barrier and blocks until it fires (the GIL is released). Ctrl-C interrupts it
    /// (``KeyboardInterrupt``; the offer is withdrawn): it offers in slices of 50 ms, as
    /// repeated :meth:`poll` calls.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.with(py, FRONT_END, |fe| {
            let r = sliced(py, fe, None, |fe, slice| match fe.poll(slice) {
                Ok(true) => Ok(()),
                Ok(false) => Err(muster::Error::Timeout),
                Err(e) => Err(e),
            })?;
            r.py(py)
        })
    }

    /// Offers the barrier for at most ``timeout`` seconds; ``True`` if it fired. ``0`` fires
    /// only if every other enrolled front-end is already offering; otherwise the offer is
    /// withdrawn when the time is up (never earlier).
    fn poll(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let d = secs_u64(timeout)?;
        self.inner.with(py, FRONT_END, |fe| blocking(py, fe, move |fe| fe.poll(d)).py(py))
    }

    /// Enrolls this resigned front-end again (``EMISUSE`` if it is enrolled).
    fn enroll(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.with(py, FRONT_END, |fe| fe.enroll().py(py))
    }

    /// Resigns: the others may complete the barrier without this front-end (``EMISUSE`` if it
    /// is resigned already).
    fn resign(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.with(py, FRONT_END, |fe| fe.resign().py(py))
    }

    /// Adds ``n`` enrolled, unowned front-ends (JCSP ``expand``) and returns their indices,
    /// increasing: ``first .. first + n - 1`` unless earlier contractions left gaps. New parties
    /// attach them; :meth:`contract` with this list (or its first index and ``n``) removes them.
    fn expand(&self, py: Python<'_>, n: i128) -> PyResult<Vec<u32>> {
        let n = u32_arg(n, "n")?;
        let got = self.inner.with(py, FRONT_END, |fe| fe.expand(n).py(py))?;
        self.expansions.with(py, FRONT_END, |x| {
            x.push(got.clone());
            Ok(())
        })?;
        Ok(got)
    }

    /// Removes front-ends from the barrier for good (JCSP ``contract``); this may complete it.
    ///
    /// * ``contract()`` removes this front-end itself (JCSP ``contract()``, C
    ///   ``muster_alting_contract_self``): for a party given its front-end by :meth:`expand` that
    ///   is about to terminate (a party that may come back calls :meth:`resign` instead). The
    ///   barrier waits for one party less from now on. Afterwards every call on this handle
    ///   raises ``MusterError`` ``EMISUSE`` (:meth:`close` still works), as do attaching its
    ///   index and selecting an :class:`Alternative` it is a guard of; its index may be handed
    ///   out again by a later :meth:`expand`, and the expansion it came from can no longer be
    ///   contracted as a whole. ``EMISUSE`` and nothing changed if it is resigned or contracted
    ///   already.
    /// * ``contract(indices)`` with the list one earlier :meth:`expand` returned, or
    ///   ``contract(first, n)`` as in the C API, removes the front-ends of that expansion;
    ///   handles on them raise ``EMISUSE`` afterwards.
    #[pyo3(signature = (first=None, n=None))]
    fn contract(&self, py: Python<'_>, first: Option<&Bound<'_, PyAny>>, n: Option<i128>) -> PyResult<()> {
        let Some(first) = first else {
            if n.is_some() {
                return Err(PyValueError::new_err("contract(first, n) needs first"));
            }
            return self.inner.with(py, FRONT_END, |fe| fe.contract_self_keep_handle().py(py));
        };
        let indices: Vec<u32> = match n {
            None => {
                let v: Vec<i128> = first.extract()?;
                if v.is_empty() {
                    return Err(PyValueError::new_err("no front-ends to contract"));
                }
                v.into_iter().map(|i| u32_arg(i, "index")).collect::<PyResult<_>>()?
            }
            Some(n) => {
                let first = u32_arg(first.extract()?, "first")?;
                let n = u32_arg(n, "n")?;
                if n == 0 {
                    return Err(crate::errors::raise(py, EINVAL, "n is 0", 0, false));
                }
                let known = self.expansions.with(py, FRONT_END, |x| {
                    Ok(x.iter().find(|v| v.first() == Some(&first) && v.len() == n as usize).cloned())
                })?;
                match known {
                    Some(v) => v,
                    None => match first.checked_add(n) {
                        Some(end) => (first..end).collect(),
                        None => return Err(crate::errors::raise(py, EINVAL, "first + n overflows", 0, false)),
                    },
                }
            }
        };
        self.inner.with(py, FRONT_END, |fe| fe.contract(&indices).py(py))?;
        self.expansions.with(py, FRONT_END, |x| {
            x.retain(|v| v.first() != indices.first());
            Ok(())
        })
    }

    /// This front-end's index within its barrier.
    #[getter]
    fn index(&self, py: Python<'_>) -> PyResult<u32> {
        self.inner.with(py, FRONT_END, |fe| Ok(fe.index()))
    }

    /// How many times the barrier has fired (its latest ticket); a snapshot.
    #[getter]
    fn completions(&self, py: Python<'_>) -> PyResult<u64> {
        self.inner.with(py, FRONT_END, |fe| fe.completions().py(py))
    }

    /// Whether this handle is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closes the handle, on the thread that attached it (another thread gets ``MusterError``
    /// code ``EMISUSE`` and the handle stays open). Idempotent. The front-end stays enrolled.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.close(py, FRONT_END)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match self.inner.with(py, FRONT_END, |fe| Ok(fe.index())) {
            Ok(i) => format!("<muster.AltingBarrier {:?} index={i}>", self.name),
            Err(_) if self.closed() => format!("<muster.AltingBarrier {:?} closed>", self.name),
            Err(_) => format!("<muster.AltingBarrier {:?}>", self.name),
        }
    }
}

pub const CHANNEL: &str = "channel";

/// A channel of unsigned 64-bit integers between threads and processes (any number of
/// writers, one reader at a time), from :meth:`Region.channel`. Usable as an input guard of an
/// :class:`Alternative`. A per-thread handle: use and close it on the thread that opened it
/// (other threads and processes open their own handle on the same name). Closing the handle
/// leaves the channel and its buffered values in the region.
#[pyclass(module = "muster", frozen)]
pub struct Channel {
    pub(crate) inner: ThreadBound<muster::Channel>,
    /// The region it came from (an Alternative with this guard is made from it).
    pub(crate) region: muster::Region,
    /// The channel's name.
    #[pyo3(get)]
    name: String,
}

impl Channel {
    pub fn new(c: muster::Channel, name: String, region: muster::Region) -> Channel {
        Channel { inner: ThreadBound::new(c), region, name }
    }
}

fn value_arg(value: i128) -> PyResult<u64> {
    u64::try_from(value).map_err(|_| PyValueError::new_err("a channel carries integers in 0 .. 2**64 - 1"))
}

#[pymethods]
impl Channel {
    /// Writes ``value`` (0 .. 2**64 - 1), blocking while the channel is full (an overwriting
    /// channel drops its oldest value instead). The GIL is released while blocked.
    fn write(&self, py: Python<'_>, value: i128) -> PyResult<()> {
        let v = value_arg(value)?;
        self.inner.with(py, CHANNEL, |c| blocking(py, c, move |c| c.write(v)).py(py))
    }

    /// Writes ``value`` unless the channel is full; ``True`` if written.
    fn try_write(&self, py: Python<'_>, value: i128) -> PyResult<bool> {
        let v = value_arg(value)?;
        self.inner.with(py, CHANNEL, |c| c.try_write(v).py(py))
    }

    /// Reads the oldest value, waiting at most ``timeout`` seconds (``None``: forever); raises
    /// :class:`WaitTimeoutError` (a :class:`TimeoutError`) if none came in time. The GIL is
    /// released; Ctrl-C interrupts the wait (``KeyboardInterrupt``, nothing read).
    #[pyo3(signature = (timeout=None))]
    fn read(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<u64> {
        let deadline = deadline_of(timeout)?;
        self.inner.with(py, CHANNEL, |c| sliced(py, c, deadline, |c, slice| c.read(Some(slice)))?.py_wait(py))
    }

    /// The oldest value, or ``None`` if the channel is empty (after its guard fired in a
    /// select, it is not).
    fn try_read(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        self.inner.with(py, CHANNEL, |c| c.try_read().py(py))
    }

    /// Whether this handle is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closes the handle, on the thread that opened it. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.close(py, CHANNEL)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        format!("<muster.Channel {:?}{}>", self.name, if self.closed() { " closed" } else { "" })
    }
}
