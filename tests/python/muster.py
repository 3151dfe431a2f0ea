"""Muster for Python: barriers shared between processes, over libmuster's C API with ctypes.

No compiler is needed: this module loads the installed shared library. It looks, in order, at

* ``MUSTER_LIB``: the path of ``libmuster.so`` (or ``libmuster.so.0``) itself;
* ``MUSTER_PREFIX``: an install prefix (``scripts/install.sh PREFIX``), loading
  ``PREFIX/lib/libmuster.so.0``;
* the dynamic loader's search path (``LD_LIBRARY_PATH``, ``/etc/ld.so.conf``).

Example::

    import muster
    with muster.Region.open_or_create("my-app") as region:
        barrier = muster.Barrier(region, "phase", parties=4)
        index = barrier.wait(timeout=10.0)     # 0 for exactly one process per generation

The :class:`Barrier` class mirrors :class:`threading.Barrier` (``wait``, ``abort``, ``reset``,
``parties``, ``n_waiting``, ``broken``, :class:`BrokenBarrierError`), but its parties are
processes (or threads) anywhere on the machine that open the same region and barrier name.

ctypes releases the GIL during every call, so a blocking ``wait`` does not stall other Python
threads. A wait without a timeout cannot be interrupted by Ctrl-C; pass a timeout where that
matters. Objects of this module must not be used in a child created by ``fork`` (including
``multiprocessing``'s fork start method): open the region again in the child.
"""

import ctypes
import ctypes.util
import os
import threading

__all__ = [
    "Barrier",
    "BarrierTimeoutError",
    "BrokenBarrierError",
    "CancelledError",
    "MusterError",
    "PeerDiedError",
    "Region",
    "library_path",
    "strerror",
    "version",
]

# Error codes (stable values; see include/muster.h).
OK = 0
EINVAL = -1
ENAME = -2
EEXIST = -3
ENOENT = -4
EFULL = -5
ETIMEDOUT = -6
ECANCELLED = -7
EBROKEN = -8
EPEERDIED = -9
EMISMATCH = -10
EVERSION = -11
ECORRUPT = -12
EMISUSE = -13
EPERM = -14
ENOMEM = -15
EIO = -16
EINTERNAL = -32

_CODE_NAMES = {
    value: "MUSTER_" + name
    for name, value in globals().copy().items()
    if name.isupper() and isinstance(value, int) and (name.startswith("E") or name == "OK")
}

_ABI_MAJOR = 0  # the SONAME major version this module is written for


def _load():
    env = os.environ.get("MUSTER_LIB")
    if env:
        return ctypes.CDLL(env), env
    prefix = os.environ.get("MUSTER_PREFIX")
    if prefix:
        for libdir in ("lib", "lib64"):
            path = os.path.join(prefix, libdir, "libmuster.so.%d" % _ABI_MAJOR)
            if os.path.exists(path):
                return ctypes.CDLL(path), path
    name = "libmuster.so.%d" % _ABI_MAJOR
    try:
        return ctypes.CDLL(name), name
    except OSError:
        found = ctypes.util.find_library("muster")
        if found is None:
            raise ImportError(
                "libmuster not found: set MUSTER_LIB to the library's path or MUSTER_PREFIX to its "
                "install prefix (scripts/install.sh PREFIX)"
            ) from None
        return ctypes.CDLL(found), found


_lib, _lib_path = _load()


class _Config(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("max_barriers", ctypes.c_uint32),
        ("max_processes", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32 * 12),
    ]


_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_STR = ctypes.c_char_p
_INT = ctypes.c_int


def _sig(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_version = _sig("muster_version", _STR)
_strerror = _sig("muster_strerror", _STR, _INT)
_last_error_message = _sig("muster_last_error_message", _INT, ctypes.c_char_p, ctypes.c_size_t)
_last_peer_pid = _sig("muster_last_peer_pid", _INT)
_config_init = _sig("muster_region_config_init", _INT, ctypes.POINTER(_Config))
_region_create = _sig("muster_region_create", _INT, _STR, ctypes.POINTER(_Config), _PP)
_region_open = _sig("muster_region_open", _INT, _STR, _PP)
_region_open_or_create = _sig("muster_region_open_or_create", _INT, _STR, ctypes.POINTER(_Config), _PP)
_region_close = _sig("muster_region_close", _INT, _P)
_region_unlink = _sig("muster_region_unlink", _INT, _STR)
_barrier_open = _sig("muster_barrier_open", _INT, _P, _STR, ctypes.c_uint32, _PP)
_barrier_close = _sig("muster_barrier_close", _INT, _P)
_barrier_enroll = _sig("muster_barrier_enroll", _INT, _P)
_barrier_resign = _sig("muster_barrier_resign", _INT, _P)
_barrier_wait = _sig("muster_barrier_wait", _INT, _P)
_barrier_wait_timeout = _sig("muster_barrier_wait_timeout", _INT, _P, ctypes.c_uint64)
_barrier_abort = _sig("muster_barrier_abort", _INT, _P)
_barrier_reset = _sig("muster_barrier_reset", _INT, _P)
_barrier_parties = _sig("muster_barrier_parties", _INT, _P)
_barrier_waiting = _sig("muster_barrier_waiting", _INT, _P)
_barrier_broken = _sig("muster_barrier_broken", _INT, _P)
_barrier_is_member = _sig("muster_barrier_is_member", _INT, _P)
_barrier_generation = _sig("muster_barrier_generation", _INT, _P, ctypes.POINTER(ctypes.c_uint64))

if not _version().decode().startswith("%d." % _ABI_MAJOR):
    raise ImportError("%s is libmuster %s; this module needs %d.x" % (_lib_path, _version().decode(), _ABI_MAJOR))


def version():
    """The loaded library's version, ``"MAJOR.MINOR.PATCH"``."""
    return _version().decode()


def library_path():
    """Where the loaded libmuster came from."""
    return _lib_path


def strerror(code):
    """The library's description of an error code."""
    return _strerror(code).decode()


def _last_message():
    n = _last_error_message(None, 0)
    if n <= 0:
        return ""
    buf = ctypes.create_string_buffer(n + 1)
    _last_error_message(buf, n + 1)
    return buf.value.decode(errors="replace")


class MusterError(Exception):
    """A libmuster call failed. ``code`` is the (negative) ``MUSTER_E*`` code, ``name`` its
    symbolic name and ``detail`` the library's message about this failure."""

    def __init__(self, code, detail=""):
        self.code = code
        self.name = _CODE_NAMES.get(code, "MUSTER_E?")
        self.detail = detail
        text = "%s (%d): %s" % (self.name, code, strerror(code))
        if detail and detail != strerror(code):
            text += ": " + detail
        Exception.__init__(self, text)


class BrokenBarrierError(threading.BrokenBarrierError, MusterError):
    """The barrier is broken (``MUSTER_EBROKEN``) - or one of the subclasses below. Also a
    :class:`threading.BrokenBarrierError`, so code written for ``threading.Barrier`` works."""

    def __init__(self, code, detail=""):
        MusterError.__init__(self, code, detail)


class BarrierTimeoutError(BrokenBarrierError):
    """A timed wait ran out (``MUSTER_ETIMEDOUT``). Like ``threading.Barrier`` it is a
    :class:`BrokenBarrierError`; for a non-member the barrier is now broken, a member was resigned
    instead (see :meth:`Barrier.wait`)."""


class PeerDiedError(BrokenBarrierError):
    """A member process died while others waited (``MUSTER_EPEERDIED``); ``pid`` is the dead
    process's pid (diagnostic only)."""

    def __init__(self, code, detail="", pid=0):
        BrokenBarrierError.__init__(self, code, detail)
        self.pid = pid


class CancelledError(MusterError):
    """This member handle was resigned by a timeout or :meth:`Barrier.resign`
    (``MUSTER_ECANCELLED``); :meth:`Barrier.enroll` it again to use it."""


def _error(code):
    detail = _last_message()
    if code == EPEERDIED:
        return PeerDiedError(code, detail, _last_peer_pid())
    cls = {EBROKEN: BrokenBarrierError, ETIMEDOUT: BarrierTimeoutError, ECANCELLED: CancelledError}.get(code, MusterError)
    return cls(code, detail)


def _check(rc):
    if rc < 0:
        raise _error(rc)
    return rc


def _name(name):
    if isinstance(name, str):
        name = name.encode("utf-8", errors="surrogateescape")
    if not isinstance(name, bytes):
        raise TypeError("a name must be str or bytes")
    if b"\0" in name:
        raise MusterError(ENAME, "name contains a NUL character")
    return name


def _config(max_barriers, max_processes, mode):
    cfg = _Config()
    _check(_config_init(ctypes.byref(cfg)))
    cfg.max_barriers = max_barriers
    cfg.max_processes = max_processes
    cfg.mode = mode
    return cfg


class Region:
    """A named shared-memory region holding barriers (``/dev/shm/<name>``). Use the class methods
    :meth:`create`, :meth:`open` or :meth:`open_or_create`; close it with :meth:`close` or a
    ``with`` block (the region itself persists until :meth:`unlink`)."""

    def __init__(self, *_args, **_kwargs):
        raise TypeError("use Region.create(), Region.open() or Region.open_or_create()")

    @classmethod
    def _wrap(cls, handle, name):
        self = object.__new__(cls)
        self._handle = handle
        self.name = name
        return self

    @classmethod
    def create(cls, name, max_barriers=0, max_processes=0, mode=0o600):
        """Creates the region (``MusterError`` with code ``EEXIST`` if it exists). Zero
        capacities take the library's defaults."""
        cfg = _config(max_barriers, max_processes, mode)
        out = ctypes.c_void_p()
        _check(_region_create(_name(name), ctypes.byref(cfg), ctypes.byref(out)))
        return cls._wrap(out, name)

    @classmethod
    def open(cls, name):
        """Opens an existing region (code ``ENOENT`` if there is none)."""
        out = ctypes.c_void_p()
        _check(_region_open(_name(name), ctypes.byref(out)))
        return cls._wrap(out, name)

    @classmethod
    def open_or_create(cls, name, max_barriers=0, max_processes=0, mode=0o600):
        """Opens the region, creating it if needed."""
        cfg = _config(max_barriers, max_processes, mode)
        out = ctypes.c_void_p()
        _check(_region_open_or_create(_name(name), ctypes.byref(cfg), ctypes.byref(out)))
        return cls._wrap(out, name)

    @staticmethod
    def unlink(name):
        """Removes the region's name; attached processes keep working on it."""
        _check(_region_unlink(_name(name)))

    def barrier(self, name, parties):
        """Same as ``Barrier(self, name, parties)``."""
        return Barrier(self, name, parties)

    @property
    def closed(self):
        return self._handle is None

    def _h(self):
        if self._handle is None:
            raise ValueError("region is closed")
        return self._handle

    def close(self):
        """Closes this handle (barriers opened from it stay usable). Idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _region_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()

    def __repr__(self):
        return "<muster.Region %r%s>" % (self.name, " closed" if self._handle is None else "")


class Barrier:
    """A barrier shared between processes, like :class:`threading.Barrier`.

    ``Barrier(region, name, parties)`` opens (or creates) the barrier ``name`` in ``region``:
    ``parties > 0`` makes a counted barrier released by every ``parties`` arrivals; ``0`` a
    membership barrier whose parties are the handles that :meth:`enroll`. Opening an existing
    barrier with another party count raises ``MusterError`` with code ``EMISMATCH``.

    A handle on a counted barrier may be shared by threads; a member handle stands for one party
    (one waiting thread at a time).
    """

    def __init__(self, region, name, parties):
        if not isinstance(region, Region):
            raise TypeError("region must be a muster.Region")
        if parties < 0:
            raise ValueError("parties must be >= 0")
        out = ctypes.c_void_p()
        _check(_barrier_open(region._h(), _name(name), parties, ctypes.byref(out)))
        self._handle = out
        self.name = name

    def _h(self):
        if self._handle is None:
            raise ValueError("barrier is closed")
        return self._handle

    def wait(self, timeout=None):
        """Waits until all parties have arrived and returns this arrival's index in the generation
        (``0 .. parties - 1``, distinct per waiter; exactly one waiter gets 0).

        ``timeout`` (seconds, float) bounds the wait; ``None`` waits forever. On timeout
        :class:`BarrierTimeoutError` is raised: a non-member's timeout breaks the barrier for
        everyone (like ``threading.Barrier``); a member is resigned instead (later waits raise
        :class:`CancelledError` until it enrolls again). A broken barrier raises
        :class:`BrokenBarrierError` (:class:`PeerDiedError` if a member process died).
        """
        h = self._h()
        if timeout is None:
            return _check(_barrier_wait(h))
        ns = max(0, int(timeout * 1e9))
        return _check(_barrier_wait_timeout(h, min(ns, 2**64 - 2)))

    def abort(self):
        """Breaks the barrier: current and later waiters raise BrokenBarrierError until reset."""
        _check(_barrier_abort(self._h()))

    def reset(self):
        """Starts a fresh generation; current waiters raise BrokenBarrierError."""
        _check(_barrier_reset(self._h()))

    def enroll(self):
        """Makes this handle a member (one more party)."""
        _check(_barrier_enroll(self._h()))

    def resign(self):
        """Withdraws this member (one party less)."""
        _check(_barrier_resign(self._h()))

    @property
    def parties(self):
        """The number of parties the current generation waits for."""
        return _check(_barrier_parties(self._h()))

    @property
    def n_waiting(self):
        """The number of arrivals in the current generation."""
        return _check(_barrier_waiting(self._h()))

    @property
    def broken(self):
        """Whether the barrier is broken."""
        return _check(_barrier_broken(self._h())) == 1

    @property
    def is_member(self):
        """Whether this handle is an enrolled member."""
        return _check(_barrier_is_member(self._h())) == 1

    @property
    def generation(self):
        """The current generation number (wraps at 2**32)."""
        out = ctypes.c_uint64()
        _check(_barrier_generation(self._h(), ctypes.byref(out)))
        return out.value

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Closes the handle (resigning it if it is a member). Idempotent; no other thread may be
        using the handle."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _barrier_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()

    def __repr__(self):
        if self._handle is None:
            return "<muster.Barrier %r closed>" % (self.name,)
        return "<muster.Barrier %r parties=%d waiting=%d%s>" % (
            self.name,
            self.parties,
            self.n_waiting,
            " broken" if self.broken else "",
        )
