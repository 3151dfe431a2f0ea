//! `muster.Barrier`: a plain (counted or membership) barrier, shaped like `threading.Barrier`.
//!
//! Every blocking call releases the GIL (`Python::detach`). The library's handle is
//! `Send + Sync`, so one Python object may be used by many threads at once (a member handle by
//! one waiter at a time, which the library enforces with `EMISUSE`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::ToPy;
use crate::region::{name_arg, Region};

/// Converts a timeout in seconds: `None` (forever) for infinity or one too large for a
/// `Duration`, zero for negative values (like `threading`), `ValueError` for NaN.
pub fn duration(secs: f64) -> PyResult<Option<Duration>> {
    if secs.is_nan() {
        return Err(PyValueError::new_err("timeout must not be NaN"));
    }
    Ok(Duration::try_from_secs_f64(secs.max(0.0)).ok())
}

/// A barrier shared between processes, like :class:`threading.Barrier`.
///
/// ``Barrier(region, name, parties, action=None, timeout=None)`` opens (or creates) the barrier
/// ``name`` in ``region``: ``parties > 0`` makes a counted barrier released by every ``parties``
/// arrivals; ``0`` a membership barrier whose parties are the handles that :meth:`enroll`.
/// Opening an existing barrier with another party count raises ``MusterError`` with code
/// ``EMISMATCH``. ``timeout`` is the default for :meth:`wait`, as in ``threading.Barrier``.
///
/// A handle on a counted barrier may be shared by threads; a member handle stands for one party
/// (one waiting thread at a time). Pickling a handle (``multiprocessing`` spawn/forkserver,
/// ``ProcessPoolExecutor``) opens the same barrier by name on the other side, as a non-member
/// handle. A handle inherited by ``fork`` raises ``MusterError`` (``EMISUSE``) in the child.
#[pyclass(module = "muster", frozen)]
pub struct Barrier {
    /// The library handle. `close` only sets `closed` (and resigns a member): the handle itself
    /// is dropped with the Python object, so a wait needs no lock or reference count.
    inner: muster::Barrier,
    closed: AtomicBool,
    /// The barrier's name.
    #[pyo3(get)]
    name: Py<PyAny>,
    region: String,
    requested: u32,
    /// The default timeout of :meth:`wait` (seconds; ``None``: forever).
    #[pyo3(get)]
    timeout: Option<f64>,
    action: Option<Py<PyAny>>,
}

impl Barrier {
    /// Opens `name` in `region` (the constructor and `Region.barrier`).
    pub fn open(
        region: &Region,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        parties: i128,
        action: Option<Py<PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Barrier> {
        if parties < 0 {
            return Err(PyValueError::new_err("parties must be >= 0"));
        }
        let parties = u32::try_from(parties).map_err(|_| PyValueError::new_err("parties must be at most 32767"))?;
        if let Some(t) = timeout {
            duration(t)?;
        }
        let text = name_arg(py, name)?;
        let handle = region.handle()?;
        let b = handle.barrier(&text, parties).py(py)?;
        if let Some(a) = &action {
            crate::split::install_action(&b, a.clone_ref(py))?;
        }
        Ok(Barrier {
            inner: b,
            closed: AtomicBool::new(false),
            name: name.clone().unbind(),
            region: handle.name().to_owned(),
            requested: parties,
            timeout,
            action,
        })
    }

    /// The library handle, `ValueError` if closed.
    pub fn handle(&self) -> PyResult<&muster::Barrier> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PyValueError::new_err("barrier is closed"));
        }
        Ok(&self.inner)
    }
}

#[pymethods]
impl Barrier {
    #[new]
    #[pyo3(signature = (region, name, parties, action=None, timeout=None))]
    fn py_new(
        py: Python<'_>,
        region: PyRef<'_, Region>,
        name: &Bound<'_, PyAny>,
        parties: i128,
        action: Option<Py<PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Barrier> {
        Barrier::open(&region, py, name, parties, action, timeout)
    }

    /// Waits until all parties have arrived and returns this arrival's index in the generation
    /// (``0 .. parties - 1``, distinct per waiter; exactly one waiter gets 0).
    ///
    /// ``timeout`` (seconds) bounds the wait; ``None`` takes the barrier's default timeout, and
    /// without one waits forever, interruptibly: Ctrl-C (any signal handler that raises) stops
    /// the wait with ``KeyboardInterrupt``, and the arrival stands - the generation still
    /// completes, releasing the others, when the remaining parties arrive. The exception's
    /// ``muster_ticket`` resumes the wait: ``barrier.await_(e.muster_ticket)``; a new ``wait()``
    /// before that generation completed would be a second arrival in it (a member handle gets
    /// ``EMISUSE`` instead). A wait with a timeout is not interrupted before it ends. On timeout :class:`BarrierTimeoutError` (a
    /// :class:`BrokenBarrierError`) is raised: a non-member's timeout breaks the barrier for
    /// everyone (like ``threading.Barrier``); a member is resigned instead (later waits raise
    /// :class:`CancelledError` until it enrolls again). A broken barrier raises
    /// :class:`BrokenBarrierError` (:class:`PeerDiedError` if a member process died). The GIL is
    /// released while waiting (without a timeout, after a spin of at most 3 µs holding it: a
    /// quick hand-off then costs no GIL round trip; no spin where the barrier has more parties
    /// than there are CPUs).
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<u32> {
        let b = self.handle()?;
        match timeout.or(self.timeout) {
            None => crate::split::wait_forever(py, b),
            Some(secs) => match duration(secs)? {
                None => crate::split::wait_forever(py, b),
                Some(d) => crate::split::wait_timed(py, b, d),
            },
        }
    }

    /// Split phase: arrives and returns at once with ``(index, ticket)``; :meth:`await_` the
    /// ticket later (do other work in between). If this arrival completes the generation, the
    /// completion action runs first (in this call). A member may not arrive again before that
    /// generation ended (``EMISUSE``).
    fn arrive(&self, py: Python<'_>) -> PyResult<(u32, u64)> {
        crate::split::arrive(py, self.handle()?)
    }

    /// Split phase: arrives and leaves, returning ``(index, ticket)``. The arrival counts for the
    /// current generation; from the next one on the barrier has one party less (a member is
    /// resigned; a counted barrier's ``parties`` drops by one). This handle can no longer arrive.
    fn arrive_and_drop(&self, py: Python<'_>) -> PyResult<(u32, u64)> {
        crate::split::arrive_and_drop(py, self.handle()?)
    }

    /// Split phase: waits until the generation of ``ticket`` (from :meth:`arrive`) completes.
    /// ``timeout`` (seconds; ``None``: forever) raises :class:`WaitTimeoutError` (a
    /// :class:`TimeoutError`) and changes nothing: the arrival stands, await again. A broken
    /// generation raises :class:`BrokenBarrierError`. Interruptible by Ctrl-C (the arrival stands
    /// then too); the GIL is released while waiting.
    #[pyo3(signature = (ticket, timeout=None))]
    fn await_(&self, py: Python<'_>, ticket: u64, timeout: Option<f64>) -> PyResult<()> {
        let d = match timeout {
            Some(t) => duration(t)?,
            None => None,
        };
        crate::split::await_ticket(py, self.handle()?, ticket, d)
    }

    /// Split phase: whether the generation of ``ticket`` has completed (a broken generation
    /// raises its error).
    fn is_complete(&self, py: Python<'_>, ticket: u64) -> PyResult<bool> {
        crate::split::is_complete(py, self.handle()?, ticket)
    }

    /// Generations released since the barrier was created.
    #[getter]
    fn episodes(&self) -> PyResult<u64> {
        Ok(self.handle()?.episodes())
    }

    // abort / reset / enroll / resign release the GIL too: they may meet a generation whose
    // completion action is running, and that action may need the GIL (another thread of this
    // process ran the last arrival).

    /// Breaks the barrier: current and later waiters raise BrokenBarrierError until reset.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        let b = self.handle()?;
        py.detach(|| b.abort()).py(py)
    }

    /// Starts a fresh generation; current waiters raise BrokenBarrierError.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let b = self.handle()?;
        py.detach(|| b.reset()).py(py)
    }

    /// Makes this handle a member (one more party).
    fn enroll(&self, py: Python<'_>) -> PyResult<()> {
        let b = self.handle()?;
        py.detach(|| b.enroll()).py(py)
    }

    /// Withdraws this member (one party less).
    fn resign(&self, py: Python<'_>) -> PyResult<()> {
        let b = self.handle()?;
        py.detach(|| b.resign()).py(py)
    }

    /// The number of parties the current generation waits for.
    #[getter]
    fn parties(&self) -> PyResult<u32> {
        Ok(self.handle()?.parties())
    }

    /// The number of arrivals in the current generation.
    #[getter]
    fn n_waiting(&self) -> PyResult<u32> {
        Ok(self.handle()?.waiting())
    }

    /// Whether the barrier is broken.
    #[getter]
    fn broken(&self) -> PyResult<bool> {
        Ok(self.handle()?.is_broken())
    }

    /// Whether this handle is an enrolled member.
    #[getter]
    fn is_member(&self) -> PyResult<bool> {
        Ok(self.handle()?.is_member())
    }

    /// The current generation number (wraps at 2**32).
    #[getter]
    fn generation(&self) -> PyResult<u64> {
        Ok(self.handle()?.generation())
    }

    /// The region's name.
    #[getter]
    fn region_name(&self) -> &str {
        &self.region
    }

    /// The completion action given to the constructor (``None``: none).
    #[getter]
    fn action(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.action.as_ref().map(|a| a.clone_ref(py))
    }

    /// Whether this handle is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the handle: later calls raise ``ValueError``; a member is resigned (if a thread is
    /// still waiting on it, the member leaves when the object is garbage-collected instead).
    /// Idempotent.
    fn close(&self, py: Python<'_>) {
        if !self.closed.swap(true, Ordering::AcqRel) && self.inner.is_member() {
            // Misuse (a wait in progress) or a forked child: the drop does what it can later.
            let _ = py.detach(|| self.inner.resign());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    /// Pickles as "open this barrier by name" (``muster._reopen_barrier``), for multiprocessing
    /// spawn/forkserver and ProcessPoolExecutor.
    #[allow(clippy::type_complexity)]
    fn __reduce__(
        &self,
        py: Python<'_>,
    ) -> PyResult<(Py<PyAny>, (String, Py<PyAny>, u32, Option<Py<PyAny>>, Option<f64>))> {
        let reopen = py.import("muster")?.getattr("_reopen_barrier")?.unbind();
        Ok((reopen, (self.region.clone(), self.name.clone_ref(py), self.requested, self.action(py), self.timeout)))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let me = slf.get();
        let name = me.name.bind(slf.py()).repr()?;
        let addr = slf.as_ptr() as usize;
        Ok(match me.handle() {
            Err(_) => format!("<muster.Barrier at {addr:#x} {name}: closed>"),
            Ok(b) if b.is_broken() => format!("<muster.Barrier at {addr:#x} {name}: broken>"),
            Ok(b) => format!("<muster.Barrier at {addr:#x} {name}: waiters={}/{}>", b.waiting(), b.parties()),
        })
    }
}
