//! `muster.AltingBarrier`, `muster.Channel` and `muster.Alternative`: the per-thread handles.
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

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::barrier::duration;
use crate::errors::{misuse, ToPy, EINVAL};
use crate::region::u32_arg;
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
    fn new(value: T) -> ThreadBound<T> {
        ThreadBound { owner: std::thread::current().id(), value: RefCell::new(Some(value)) }
    }

    fn check(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        if std::thread::current().id() != self.owner {
            return Err(misuse(py, &format!("{what} handle used by a thread other than the one that created it")));
        }
        Ok(())
    }

    /// Runs `f` on the value, on the owning thread only (`ValueError` if closed).
    fn with<R>(&self, py: Python<'_>, what: &str, f: impl FnOnce(&mut T) -> PyResult<R>) -> PyResult<R> {
        self.check(py, what)?;
        let mut slot = self.value.try_borrow_mut().map_err(|_| PyValueError::new_err(format!("{what} is in use")))?;
        match slot.as_mut() {
            Some(v) => f(v),
            None => Err(PyValueError::new_err(format!("{what} is closed"))),
        }
    }

    /// Drops the value (on the owning thread only).
    fn close(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        self.check(py, what)?;
        let taken = self.value.try_borrow_mut().map_err(|_| PyValueError::new_err(format!("{what} is in use")))?.take();
        drop(taken);
        Ok(())
    }

    /// Whether the value is gone (false when asked from another thread while it is open).
    fn is_closed(&self) -> bool {
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
fn blocking<T, R: Send>(py: Python<'_>, value: &mut T, f: impl FnOnce(&mut T) -> R + Send) -> R {
    let v = OnOwner(value);
    py.detach(move || f(v.get()))
}

/// Runs a blocking call in GIL-released slices of at most `SLICE` until it returns something
/// other than a timeout or `deadline` passes (then the last timeout is returned), running the
/// interpreter's signal handlers between slices, so Ctrl-C interrupts it (`KeyboardInterrupt`).
/// Only for calls whose timeout changes nothing (a channel read, a select, a poll).
fn sliced<T, R: Send>(
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
fn deadline_of(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    Ok(match timeout {
        Some(t) => duration(t)?.and_then(|d| Instant::now().checked_add(d)),
        None => None,
    })
}

fn secs_u64(secs: f64) -> PyResult<Duration> {
    Ok(duration(secs)?.unwrap_or(Duration::MAX))
}

const FRONT_END: &str = "alting barrier front-end";

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
    region: muster::Region,
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

    /// Removes the front-ends of one earlier expansion (JCSP ``contract``): ``contract(indices)``
    /// with the list :meth:`expand` returned, or ``contract(first, n)`` as in the C API. This may
    /// complete the barrier; handles on the removed front-ends fail with ``EMISUSE``.
    #[pyo3(signature = (first, n=None))]
    fn contract(&self, py: Python<'_>, first: &Bound<'_, PyAny>, n: Option<i128>) -> PyResult<()> {
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

const CHANNEL: &str = "channel";

/// A channel of unsigned 64-bit integers between threads and processes (any number of
/// writers, one reader at a time), from :meth:`Region.channel`. Usable as an input guard of an
/// :class:`Alternative`. A per-thread handle: use and close it on the thread that opened it
/// (other threads and processes open their own handle on the same name). Closing the handle
/// leaves the channel and its buffered values in the region.
#[pyclass(module = "muster", frozen)]
pub struct Channel {
    pub(crate) inner: ThreadBound<muster::Channel>,
    /// The region it came from (an Alternative with this guard is made from it).
    region: muster::Region,
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
