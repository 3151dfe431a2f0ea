//! `muster.Region`: a handle on a named shared-memory region, and the per-thread-handle
//! factories hanging off it (`alting_attach`, `channel`).

use std::sync::RwLock;

use muster::RegionConfig;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use crate::alting::{AltingBarrier, Channel};
use crate::errors::{raise, ToPy, ENAME};

/// A name argument: `str`, or `bytes` holding UTF-8 (anything else is `ENAME`, like the C ABI).
pub fn name_arg(py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<String> {
    let text = if let Ok(s) = name.cast::<PyString>() {
        match s.to_cow() {
            Ok(t) => t.into_owned(),
            Err(_) => return Err(raise(py, ENAME, "name is not valid UTF-8", 0, false)),
        }
    } else if let Ok(b) = name.cast::<PyBytes>() {
        match std::str::from_utf8(b.as_bytes()) {
            Ok(t) => t.to_owned(),
            Err(_) => return Err(raise(py, ENAME, "name is not valid UTF-8", 0, false)),
        }
    } else {
        return Err(PyTypeError::new_err("a name must be str or bytes"));
    };
    if text.contains('\0') {
        return Err(raise(py, ENAME, "name contains a NUL character", 0, false));
    }
    Ok(text)
}

/// A `u32` argument, `ValueError` outside `0 .. 2**32 - 1`.
pub fn u32_arg(value: i128, what: &str) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| PyValueError::new_err(format!("{what} must be in 0 .. 2**32 - 1")))
}

/// The configuration of `create` / `open_or_create`: zero takes the library's default.
fn config(
    max_barriers: i128,
    max_processes: i128,
    mode: i128,
    alting: Option<&Bound<'_, PyDict>>,
) -> PyResult<RegionConfig> {
    let mut c = RegionConfig::default();
    let set = |field: &mut u32, v: i128, what: &str| -> PyResult<()> {
        let v = u32_arg(v, what)?;
        if v != 0 {
            *field = v;
        }
        Ok(())
    };
    set(&mut c.max_barriers, max_barriers, "max_barriers")?;
    set(&mut c.max_processes, max_processes, "max_processes")?;
    set(&mut c.mode, mode, "mode")?;
    if let Some(kw) = alting {
        for (k, v) in kw.iter() {
            let key: String = k.extract()?;
            let v: i128 = v.extract()?;
            let field = match key.as_str() {
                "max_agents" => &mut c.max_agents,
                "max_alting_barriers" => &mut c.max_alting_barriers,
                "max_frontends_per_barrier" => &mut c.max_frontends_per_barrier,
                "max_channels" => &mut c.max_channels,
                "max_channel_capacity" => &mut c.max_channel_capacity,
                _ => return Err(PyTypeError::new_err(format!("unexpected keyword argument {key:?}"))),
            };
            set(field, v, &key)?;
        }
    }
    Ok(c)
}

/// A named shared-memory region holding barriers, alting barriers and channels
/// (``/dev/shm/<name>``).
///
/// Use the class methods :meth:`create`, :meth:`open` or :meth:`open_or_create`; close it with
/// :meth:`close` or a ``with`` block (the region itself persists until :meth:`unlink`). Objects
/// opened from a region stay usable after the region handle is closed. A region handle may be
/// shared by threads. Pickling a region (e.g. to a ``multiprocessing`` child) re-opens it by
/// name on the other side.
#[pyclass(module = "muster", frozen)]
pub struct Region {
    inner: RwLock<Option<muster::Region>>,
    /// The process that opened it: a child forked from it gets `EMISUSE` from every method (the
    /// library refuses most inherited calls itself; this makes it all of them, with one message).
    pid: u32,
    /// The region's name, as given.
    #[pyo3(get)]
    name: String,
}

impl Region {
    fn wrap(region: muster::Region, name: String) -> Region {
        Region { inner: RwLock::new(Some(region)), pid: std::process::id(), name }
    }

    /// A clone of the library handle (cheap: an `Arc`), `ValueError` if closed, `EMISUSE` in a
    /// forked child.
    pub fn handle(&self) -> PyResult<muster::Region> {
        if std::process::id() != self.pid {
            return Err(Python::attach(|py| {
                crate::errors::misuse(py, "region handle used in a forked child; open the region again")
            }));
        }
        let guard = self.inner.read().map_err(|_| PyValueError::new_err("region lock poisoned"))?;
        guard.clone().ok_or_else(|| PyValueError::new_err("region is closed"))
    }
}

#[pymethods]
impl Region {
    /// Creates the region (``MusterError`` with code ``EEXIST`` if it exists). Zero capacities
    /// take the library's defaults. The alting capacities are keyword arguments: ``max_agents``
    /// (threads holding alting, channel or Alternative handles at once),
    /// ``max_alting_barriers``, ``max_frontends_per_barrier`` (at most 64), ``max_channels``,
    /// ``max_channel_capacity``.
    #[classmethod]
    #[pyo3(signature = (name, max_barriers=0, max_processes=0, mode=0o600, **alting))]
    fn create(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        max_barriers: i128,
        max_processes: i128,
        mode: i128,
        alting: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Region> {
        let n = name_arg(py, name)?;
        let cfg = config(max_barriers, max_processes, mode, alting)?;
        let r = py.detach(|| muster::Region::create(&n, &cfg)).py(py)?;
        Ok(Region::wrap(r, n))
    }

    /// Opens an existing region (code ``ENOENT`` if there is none).
    #[classmethod]
    fn open(_cls: &Bound<'_, pyo3::types::PyType>, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Region> {
        let n = name_arg(py, name)?;
        let r = py.detach(|| muster::Region::open(&n)).py(py)?;
        Ok(Region::wrap(r, n))
    }

    /// Opens the region, creating it if needed (capacities as for :meth:`create`).
    #[classmethod]
    #[pyo3(signature = (name, max_barriers=0, max_processes=0, mode=0o600, **alting))]
    fn open_or_create(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        max_barriers: i128,
        max_processes: i128,
        mode: i128,
        alting: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Region> {
        let n = name_arg(py, name)?;
        let cfg = config(max_barriers, max_processes, mode, alting)?;
        let r = py.detach(|| muster::Region::open_or_create(&n, &cfg)).py(py)?;
        Ok(Region::wrap(r, n))
    }

    /// Removes the region's name; attached processes keep working on it.
    #[staticmethod]
    fn unlink(py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = name_arg(py, name)?;
        muster::Region::unlink(&n).py(py)
    }

    /// Same as ``Barrier(self, name, parties)``.
    #[pyo3(signature = (name, parties, action=None, timeout=None))]
    fn barrier(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        parties: i128,
        action: Option<Py<PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<crate::barrier::Barrier> {
        crate::barrier::Barrier::open(slf.get(), slf.py(), name, parties, action, timeout)
    }

    /// Creates the alting barrier ``name`` with ``n`` enrolled, unowned front-ends, indices
    /// ``0 .. n-1`` (JCSP ``AltingBarrier.create(n)``); each party then attaches one with
    /// :meth:`alting_attach`. Code ``EEXIST`` if the name is taken (barriers, alting barriers and
    /// channels share the region's names), ``EFULL`` if ``n`` exceeds
    /// ``max_frontends_per_barrier``.
    fn alting_create(&self, py: Python<'_>, name: &Bound<'_, PyAny>, n: i128) -> PyResult<()> {
        let name = name_arg(py, name)?;
        let n = u32_arg(n, "n")?;
        self.handle()?.alting_create(&name, n).py(py)
    }

    /// Takes ownership of front-end ``index`` of the alting barrier ``name`` for the calling
    /// thread and returns its :class:`AltingBarrier` handle. Code ``EMISUSE`` if another live
    /// thread or process owns the front-end (a dead owner's front-end may be attached) or the
    /// index is not in use; ``ENOENT`` if there is no such barrier; ``EMISMATCH`` if the name is
    /// a plain barrier or a channel. The handle outlives this region handle.
    fn alting_attach(&self, py: Python<'_>, name: &Bound<'_, PyAny>, index: i128) -> PyResult<AltingBarrier> {
        let name = name_arg(py, name)?;
        let index = u32_arg(index, "index")?;
        let region = self.handle()?;
        let fe = region.alting_attach(&name, index).py(py)?;
        Ok(AltingBarrier::new(fe, name, region))
    }

    /// Recycles front-end ``index`` of ``name`` whose owner terminated: enrolled and unowned
    /// again (JCSP ``reset``). Not for moving a front-end between live threads: close the
    /// handle and attach the index there.
    fn alting_reset(&self, py: Python<'_>, name: &Bound<'_, PyAny>, index: i128) -> PyResult<()> {
        let name = name_arg(py, name)?;
        let index = u32_arg(index, "index")?;
        self.handle()?.alting_reset(&name, index).py(py)
    }

    /// Opens the channel ``name`` (creating it with ``capacity`` slots, ``1 ..
    /// max_channel_capacity``; an overwriting channel drops its oldest value when full; a
    /// one-to-one channel accepts only its first writer while that one lives) and returns a
    /// :class:`Channel` handle of the calling thread. An existing channel keeps its own
    /// capacity and mode.
    #[pyo3(signature = (name, capacity, overwrite=false, one_to_one=false))]
    fn channel(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        capacity: i128,
        overwrite: bool,
        one_to_one: bool,
    ) -> PyResult<Channel> {
        let name = name_arg(py, name)?;
        let capacity = u32_arg(capacity, "capacity")?;
        let region = self.handle()?;
        let c = if one_to_one {
            region.channel_one_to_one(&name, capacity, overwrite)
        } else {
            region.channel(&name, capacity, overwrite)
        }
        .py(py)?;
        Ok(Channel::new(c, name, region))
    }

    /// Whether this handle is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.read().map(|g| g.is_none()).unwrap_or(true)
    }

    /// Closes this handle (objects opened from it stay usable). Idempotent.
    fn close(&self) {
        if let Ok(mut g) = self.inner.write() {
            *g = None;
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) {
        self.close();
    }

    /// Pickles as "open the region by this name" (for multiprocessing spawn/forkserver).
    fn __reduce__(slf: &Bound<'_, Self>) -> PyResult<(Py<PyAny>, (String,))> {
        let open = slf.get_type().getattr("open")?.unbind();
        Ok((open, (slf.get().name.clone(),)))
    }

    fn __repr__(&self) -> String {
        format!("<muster.Region {:?}{}>", self.name, if self.closed() { " closed" } else { "" })
    }
}
