"""Muster for Python: lock-free barriers, alting barriers and channels shared between processes.

A native extension (``muster._muster``, Rust, built with PyO3 on the ``muster`` crate) does the
work; this package adds the exceptions and the pickling helpers. Install with
``pip install ./python`` from the repository (needs Rust; maturin is fetched by pip).

Example::

    import muster
    with muster.Region.open_or_create("my-app") as region:
        barrier = muster.Barrier(region, "phase", parties=4)
        index = barrier.wait(timeout=10.0)     # 0 for exactly one process per generation

:class:`Barrier` mirrors :class:`threading.Barrier` (``wait``, ``abort``, ``reset``, ``parties``,
``n_waiting``, ``broken``, ``action``, a default ``timeout``, :class:`BrokenBarrierError`), but
its parties are processes (or threads) anywhere on the machine that open the same region and
barrier name.

Alting barriers (JCSP ``AltingBarrier``), channels of 64-bit values and the :class:`Alternative`
(CSP external choice)::

    region.alting_create("a", 2)                     # once: front-ends 0 and 1
    a = region.alting_attach("a", me)                # this thread owns front-end ``me``
    jobs = region.channel("jobs", 16)                # uint64 values, any-to-one
    with a, jobs, muster.Alternative([a, jobs]) as alt:
        try:
            g = alt.fair_select(timeout=0.1)         # 0: barrier "a" fired for every party
            if g == 1:
                job = jobs.try_read()
        except TimeoutError:
            pass

Ctrl-C: a ``wait()`` without a timeout, ``await_``, a channel ``read``, a select and ``sync``
wait in 50 ms slices with the GIL released and run the signal handlers in between, so Ctrl-C
raises ``KeyboardInterrupt`` there. An interrupted ``wait()`` has still arrived: the generation
completes, releasing the others, when the remaining parties arrive (the barrier is not broken).
A ``wait(timeout)`` is not interrupted before its timeout.

Threads: every blocking call releases the GIL. (``Barrier.wait()`` without a timeout first
spins for up to 3 µs holding it, if the barrier has no more parties than there are CPUs: a quiet
hand-off between processes then costs no GIL round trip; other threads of the process lose at
most those 3 µs.) Region and Barrier handles may be shared by
threads; **alting, channel and Alternative handles are per thread** (another thread gets
``MusterError`` code ``EMISUSE``; one garbage-collected on another thread is leaked, not closed
there, so close them explicitly or with ``with``).

Processes: Region and Barrier objects pickle by name, so ``multiprocessing`` with the spawn or
forkserver start method and ``concurrent.futures.ProcessPoolExecutor`` re-open them in the
child. Objects inherited through ``fork`` (including ``multiprocessing``'s fork start method)
raise ``MusterError`` (``EMISUSE``) in the child: open the region again there.
"""

import os as _os
import threading as _threading

from . import _muster
from ._errors import (  # noqa: F401
    CODE_NAMES as _CODE_NAMES,
    EACTION,
    EBROKEN,
    ECANCELLED,
    ECORRUPT,
    EEXIST,
    EFULL,
    EINTERNAL,
    EINVAL,
    EIO,
    EMISMATCH,
    EMISUSE,
    ENAME,
    ENOENT,
    ENOMEM,
    EPEERDIED,
    EPERM,
    ETIMEDOUT,
    EVERSION,
    OK,
    ActionFailedError,
    BarrierTimeoutError,
    BrokenBarrierError,
    CancelledError,
    MusterError,
    PeerDiedError,
    WaitTimeoutError,
    make_error as _make_error,
    strerror,
)
from ._muster import Alternative, AltingBarrier, Barrier, Channel, Region

__all__ = [
    "ActionFailedError",
    "AltingBarrier",
    "Alternative",
    "Barrier",
    "BarrierTimeoutError",
    "BrokenBarrierError",
    "CancelledError",
    "Channel",
    "MusterError",
    "PeerDiedError",
    "Region",
    "WaitTimeoutError",
    "library_path",
    "strerror",
    "version",
]

__version__ = _muster.version()


def version():
    """The version of the Rust library inside this package, ``"MAJOR.MINOR.PATCH"``."""
    return _muster.version()


def library_path():
    """Where the native extension was loaded from (there is no separate libmuster to find)."""
    return _muster.__file__


def _error(code, detail=""):
    """The exception the package raises for ``code`` (a barrier call's view of a timeout)."""
    return _make_error(code, detail)


# Region handles opened by _reopen_barrier in this process, by name (a pickled barrier needs its
# region; many barriers of one region share one handle). Keyed by pid: a forked child must not
# reuse the parent's handles.
_regions = {}
_regions_lock = _threading.Lock()


def _region_for(name):
    key = (_os.getpid(), name)
    with _regions_lock:
        region = _regions.get(key)
        if region is None:
            region = Region.open(name)
            _regions[key] = region
        return region


def _reopen_barrier(region_name, name, parties, action, timeout):
    """Unpickles a :class:`Barrier`: opens the same barrier by name (a non-member handle)."""
    return Barrier(_region_for(region_name), name, parties, action=action, timeout=timeout)
