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

Alting barriers (JCSP ``AltingBarrier``), channels of 64-bit values and the :class:`Alternative`
(CSP external choice) are here too::

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

**Alting, channel and Alternative handles are per thread**: use and close each one on the thread
that created it (the library answers any other thread with ``MusterError`` code ``EMISUSE``;
a handle garbage-collected on another thread is left open, so close them explicitly or with
``with``). To move a front-end, close it and :meth:`Region.alting_attach` the same index there.

ctypes releases the GIL during every call, so a blocking ``wait`` does not stall other Python
threads. A wait without a timeout cannot be interrupted by Ctrl-C; pass a timeout where that
matters. Objects of this module must not be used in a child created by ``fork`` (including
``multiprocessing``'s fork start method): open the region again in the child.
"""

import ctypes
import ctypes.util
import os
import signal
import threading

__all__ = [
    "AltingBarrier",
    "Alternative",
    "Barrier",
    "BarrierTimeoutError",
    "BrokenBarrierError",
    "CancelledError",
    "Channel",
    "MusterError",
    "PeerDiedError",
    "ActionFailedError",
    "Region",
    "WaitTimeoutError",
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
EACTION = -17
EUNAVAILABLE = -18
EINTERNAL = -32

# Flags and select modes (include/muster.h).
CHANNEL_OVERWRITE = 1
CHANNEL_ONE_TO_ONE = 2
SELECT_ARBITRARY = 0
SELECT_PRI = 1
SELECT_FAIR = 2

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
        ("max_agents", ctypes.c_uint32),
        ("max_alting_barriers", ctypes.c_uint32),
        ("max_frontends_per_barrier", ctypes.c_uint32),
        ("max_channels", ctypes.c_uint32),
        ("max_channel_capacity", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32 * 7),
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
_barrier_arrive = _sig("muster_barrier_arrive", _INT, _P, ctypes.POINTER(ctypes.c_uint64))
_barrier_await = _sig("muster_barrier_await", _INT, _P, ctypes.c_uint64, ctypes.c_uint64)
_barrier_is_complete = _sig("muster_barrier_is_complete", _INT, _P, ctypes.c_uint64)
_barrier_arrive_and_drop = _sig("muster_barrier_arrive_and_drop", _INT, _P)
_ACTION_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_barrier_set_action = _sig("muster_barrier_set_action", _INT, _P, _ACTION_FN, ctypes.c_void_p)
_U32 = ctypes.c_uint32
_U64 = ctypes.c_uint64
_I64 = ctypes.c_int64
_alting_create = _sig("muster_alting_create", _INT, _P, _STR, _U32)
_alting_attach = _sig("muster_alting_attach", _INT, _P, _STR, _U32, _PP)
_alting_close = _sig("muster_alting_close", _INT, _P)
_alting_reset = _sig("muster_alting_reset", _INT, _P, _STR, _U32)
_alting_enroll = _sig("muster_alting_enroll", _INT, _P)
_alting_resign = _sig("muster_alting_resign", _INT, _P)
_alting_sync = _sig("muster_alting_sync", _INT, _P)
_alting_poll = _sig("muster_alting_poll", _INT, _P, _U64)
_alting_expand = _sig("muster_alting_expand", _INT, _P, _U32, ctypes.POINTER(_U32))
_alting_expanded = _sig("muster_alting_expanded", _INT, _P, _U32, ctypes.POINTER(_U32), _U32)
_alting_contract = _sig("muster_alting_contract", _INT, _P, _U32, _U32)
_alting_index = _sig("muster_alting_index", _INT, _P)
_alting_completions = _sig("muster_alting_completions", _INT, _P, ctypes.POINTER(_U64))
_channel_open = _sig("muster_channel_open", _INT, _P, _STR, _U32, _U32, _PP)
_channel_close = _sig("muster_channel_close", _INT, _P)
_channel_write = _sig("muster_channel_write", _INT, _P, _U64)
_channel_try_write = _sig("muster_channel_try_write", _INT, _P, _U64)
_channel_read = _sig("muster_channel_read", _INT, _P, _I64, ctypes.POINTER(_U64))
_channel_try_read = _sig("muster_channel_try_read", _INT, _P, ctypes.POINTER(_U64))
_alt_create = _sig("muster_alt_create", _INT, _PP)
_alt_destroy = _sig("muster_alt_destroy", _INT, _P)
_alt_add_alting = _sig("muster_alt_add_alting", _INT, _P, _P)
_alt_add_channel = _sig("muster_alt_add_channel", _INT, _P, _P)
_alt_add_skip = _sig("muster_alt_add_skip", _INT, _P)
_alt_select = _sig("muster_alt_select", _INT, _P, _INT, _I64)
_alt_ticket = _sig("muster_alt_ticket", _INT, _P, ctypes.POINTER(_U32))
_alt_count = _sig("muster_alt_count", _INT, _P)

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


class ActionFailedError(BrokenBarrierError):
    """A completion action failed (``MUSTER_EACTION``), which broke the generation for every
    party. In the process whose action raised, the exception is chained as ``__cause__``."""


class CancelledError(MusterError):
    """This member handle was resigned by a timeout or :meth:`Barrier.resign`
    (``MUSTER_ECANCELLED``); :meth:`Barrier.enroll` it again to use it."""


class WaitTimeoutError(MusterError, TimeoutError):
    """A channel read or an :class:`Alternative` select timed out (``MUSTER_ETIMEDOUT``). Also the
    built-in :class:`TimeoutError`, so ``except TimeoutError`` catches it."""


def _error(code):
    detail = _last_message()
    if code == EPEERDIED:
        return PeerDiedError(code, detail, _last_peer_pid())
    cls = {
        EBROKEN: BrokenBarrierError,
        ETIMEDOUT: BarrierTimeoutError,
        ECANCELLED: CancelledError,
        EACTION: ActionFailedError,
    }.get(code, MusterError)
    return cls(code, detail)


def _check(rc):
    if rc < 0:
        raise _error(rc)
    return rc


def _check_wait(rc):
    """Like _check, but a timeout is a WaitTimeoutError (channels, selects): not a barrier break."""
    if rc == ETIMEDOUT:
        raise WaitTimeoutError(rc, _last_message())
    return _check(rc)


def _timeout_ns(timeout):
    """Seconds (None: forever) as the signed nanoseconds of muster_channel_read/muster_alt_select."""
    if timeout is None:
        return -1
    return min(max(0, int(timeout * 1e9)), 2**63 - 1)


def _u32(value, what):
    value = int(value)
    if not 0 <= value < 2**32:
        raise ValueError("%s must be in 0 .. 2**32 - 1" % what)
    return value


def _name(name):
    if isinstance(name, str):
        name = name.encode("utf-8", errors="surrogateescape")
    if not isinstance(name, bytes):
        raise TypeError("a name must be str or bytes")
    if b"\0" in name:
        raise MusterError(ENAME, "name contains a NUL character")
    return name


_ALTING_CAPACITIES = (
    "max_agents",
    "max_alting_barriers",
    "max_frontends_per_barrier",
    "max_channels",
    "max_channel_capacity",
)


def _config(max_barriers, max_processes, mode, alting):
    cfg = _Config()
    _check(_config_init(ctypes.byref(cfg)))
    cfg.max_barriers = max_barriers
    cfg.max_processes = max_processes
    cfg.mode = mode
    for key, value in alting.items():
        if key not in _ALTING_CAPACITIES:
            raise TypeError("unexpected keyword argument %r" % (key,))
        setattr(cfg, key, _u32(value, key))
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
    def create(cls, name, max_barriers=0, max_processes=0, mode=0o600, **alting):
        """Creates the region (``MusterError`` with code ``EEXIST`` if it exists). Zero
        capacities take the library's defaults. The alting capacities are keyword arguments
        named as in ``muster_region_config``: ``max_agents`` (threads holding alting, channel or
        Alternative handles at once), ``max_alting_barriers``, ``max_frontends_per_barrier``
        (at most 64), ``max_channels``, ``max_channel_capacity``."""
        cfg = _config(max_barriers, max_processes, mode, alting)
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
    def open_or_create(cls, name, max_barriers=0, max_processes=0, mode=0o600, **alting):
        """Opens the region, creating it if needed (capacities as for :meth:`create`)."""
        cfg = _config(max_barriers, max_processes, mode, alting)
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

    def alting_create(self, name, n):
        """Creates the alting barrier ``name`` with ``n`` enrolled, unowned front-ends, indices
        ``0 .. n-1`` (JCSP ``AltingBarrier.create(n)``); each party then attaches one with
        :meth:`alting_attach`. Code ``EEXIST`` if the name is taken (barriers, alting barriers and
        channels share the region's names), ``EFULL`` if ``n`` exceeds
        ``max_frontends_per_barrier``."""
        _check(_alting_create(self._h(), _name(name), _u32(n, "n")))

    def alting_attach(self, name, index):
        """Takes ownership of front-end ``index`` of the alting barrier ``name`` for the calling
        thread and returns its :class:`AltingBarrier` handle. Code ``EMISUSE`` if another live
        thread or process owns the front-end (a dead owner's front-end may be attached) or the
        index is not in use; ``ENOENT`` if there is no such barrier; ``EMISMATCH`` if the name is
        a plain barrier or a channel. The handle outlives this region handle."""
        out = ctypes.c_void_p()
        _check(_alting_attach(self._h(), _name(name), _u32(index, "index"), ctypes.byref(out)))
        return AltingBarrier._wrap(out, name)

    def alting_reset(self, name, index):
        """Recycles front-end ``index`` of ``name`` whose owner terminated: enrolled and unowned
        again (JCSP ``reset``). Not for moving a front-end between live threads: close the
        handle and attach the index there."""
        _check(_alting_reset(self._h(), _name(name), _u32(index, "index")))

    def channel(self, name, capacity, overwrite=False, one_to_one=False):
        """Opens the channel ``name`` (creating it with ``capacity`` slots, ``1 ..
        max_channel_capacity``; an overwriting channel drops its oldest value when full; a
        one-to-one channel accepts only its first writer while that one lives) and returns a
        :class:`Channel` handle of the calling thread. An existing channel keeps its own
        capacity and mode."""
        out = ctypes.c_void_p()
        flags = (CHANNEL_OVERWRITE if overwrite else 0) | (CHANNEL_ONE_TO_ONE if one_to_one else 0)
        _check(_channel_open(self._h(), _name(name), _u32(capacity, "capacity"), flags, ctypes.byref(out)))
        return Channel._wrap(out, name)

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

    #: How long one slice of an untimed wait blocks in libmuster before Python checks signals.
    _SLICE_NS = 50_000_000

    def __init__(self, region, name, parties, action=None):
        if not isinstance(region, Region):
            raise TypeError("region must be a muster.Region")
        if parties < 0:
            raise ValueError("parties must be >= 0")
        out = ctypes.c_void_p()
        _check(_barrier_open(region._h(), _name(name), parties, ctypes.byref(out)))
        self._handle = out
        self.name = name
        self._interrupted = None  # ticket of an untimed wait interrupted by an exception
        self._action = None
        self._action_error = None
        if action is not None:
            self.set_action(action)

    def _h(self):
        if self._handle is None:
            raise ValueError("barrier is closed")
        return self._handle

    def set_action(self, action):
        """Gives this handle a completion action (``threading.Barrier(action=...)``): when a
        generation completes and the last party arrived through this handle, ``action()`` runs
        (in that thread) before anyone is released. If it raises, the generation breaks for every
        party with :class:`ActionFailedError`. ``None`` removes it."""
        if action is None:
            _check(_barrier_set_action(self._h(), _ACTION_FN(), None))
            self._action = None
            return

        def trampoline(_arg):
            try:
                action()
                return 0
            except BaseException as e:  # reported to the waiter, never lost in C
                self._action_error = e
                return 1

        fn = _ACTION_FN(trampoline)
        _check(_barrier_set_action(self._h(), fn, None))
        self._action = fn  # keeps the callback alive while libmuster holds it

    def _raise(self, rc):
        err = _error(rc)
        if rc == EACTION and self._action_error is not None:
            cause, self._action_error = self._action_error, None
            raise err from cause
        raise err

    def _checked(self, rc):
        if rc < 0:
            self._raise(rc)
        return rc

    def wait(self, timeout=None):
        """Waits until all parties have arrived and returns this arrival's index in the generation
        (``0 .. parties - 1``, distinct per waiter; exactly one waiter gets 0).

        ``timeout`` (seconds, float) bounds the wait; ``None`` waits forever. On timeout
        :class:`BarrierTimeoutError` is raised: a non-member's timeout breaks the barrier for
        everyone (like ``threading.Barrier``); a member is resigned instead (later waits raise
        :class:`CancelledError` until it enrolls again). A broken barrier raises
        :class:`BrokenBarrierError` (:class:`PeerDiedError` if a party's process died,
        :class:`ActionFailedError` if a completion action failed).

        An untimed wait is interruptible: it arrives, then awaits the generation in short slices,
        so Ctrl-C raises ``KeyboardInterrupt`` within about 50 ms. The arrival stands (the others
        are released when the generation completes; nothing is broken), and the next ``wait()``
        on this handle resumes waiting for that same generation instead of arriving again.
        """
        h = self._h()
        if timeout is not None:
            ns = max(0, int(timeout * 1e9))
            return self._checked(_barrier_wait_timeout(h, min(ns, 2**64 - 2)))
        if self._interrupted is not None:
            ticket, index = self._interrupted
        else:
            # A KeyboardInterrupt between the arrival and recording its ticket would make the
            # next wait() arrive a second time, so SIGINT's Python handler is deferred across
            # that window. (Masking the signal is not enough: with a second thread, such as a
            # multiprocessing queue's feeder, the kernel delivers SIGINT to that thread.)
            main = threading.current_thread() is threading.main_thread()
            deferred = []
            if main:
                handler = signal.signal(signal.SIGINT, lambda *a: deferred.append(a))
            try:
                t = ctypes.c_uint64()
                index = self._checked(_barrier_arrive(h, ctypes.byref(t)))
                ticket = t.value
                self._interrupted = (ticket, index)
            finally:
                if main:
                    signal.signal(signal.SIGINT, handler)
                    if deferred and callable(handler):
                        handler(*deferred[0])
        while True:
            rc = _barrier_await(h, ticket, self._SLICE_NS)  # signals are handled between slices
            if rc != ETIMEDOUT:
                break
        self._interrupted = None
        self._checked(rc)
        return index

    def arrive(self):
        """Split phase: arrives and returns at once with ``(index, ticket)``; pass the ticket to
        :meth:`await_`. If this arrival completes the generation, this handle's action runs first."""
        t = ctypes.c_uint64()
        index = self._checked(_barrier_arrive(self._h(), ctypes.byref(t)))
        return index, t.value

    def await_(self, ticket, timeout=None):
        """Split phase: waits until the generation of ``ticket`` completes. On timeout raises
        :class:`WaitTimeoutError` and changes nothing (the arrival stands; await again). ``None``
        waits forever, in slices, so Ctrl-C interrupts it."""
        h = self._h()
        if timeout is not None:
            ns = min(max(0, int(timeout * 1e9)), 2**64 - 2)
            rc = _barrier_await(h, ticket, ns)
            if rc == ETIMEDOUT:
                raise WaitTimeoutError(rc, _last_message())
            self._checked(rc)
            return
        while True:
            rc = _barrier_await(h, ticket, self._SLICE_NS)
            if rc != ETIMEDOUT:
                break
        self._checked(rc)

    def is_complete(self, ticket):
        """Split phase: whether the generation of ``ticket`` completed (a broken one raises)."""
        return self._checked(_barrier_is_complete(self._h(), ticket)) == 1

    def arrive_and_drop(self):
        """Split phase: arrives and leaves (one party less from the next generation); returns the
        arrival index."""
        return self._checked(_barrier_arrive_and_drop(self._h()))

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


class _ThreadHandle:
    """Base of the per-thread handles (front-ends, channels, Alternatives)."""

    _close_fn = None
    _kind = "handle"

    def __init__(self, *_args, **_kwargs):
        raise TypeError("use Region.alting_attach() or Region.channel()")

    @classmethod
    def _wrap(cls, handle, name):
        self = object.__new__(cls)
        self._handle = handle
        self.name = name
        return self

    def _h(self):
        if self._handle is None:
            raise ValueError("%s is closed" % self._kind)
        return self._handle

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Closes the handle, on the thread that created it (another thread gets ``MusterError``
        code ``EMISUSE`` and the handle stays open). Idempotent. In a child created by ``fork`` it
        only forgets the parent's handle."""
        handle = self._handle
        if handle is not None:
            _check(type(self)._close_fn(handle))
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Best effort: on another thread (or at interpreter exit) the handle is left open.
        if getattr(self, "_handle", None) is not None:
            try:
                self.close()
            except Exception:
                pass


class AltingBarrier(_ThreadHandle):
    """One owned front-end of an alting barrier (JCSP ``AltingBarrier``), from
    :meth:`Region.alting_attach`.

    The barrier fires when every enrolled front-end offers it: by :meth:`sync` (committed), by
    :meth:`poll` (bounded), or as a guard of an :class:`Alternative` among other barriers,
    channels, skip and a timeout. A per-thread handle: use and close it on the thread that
    attached it. Closing gives up ownership; the front-end stays enrolled, so its partners wait
    until some thread or process attaches the index again (or resigns it there).
    """

    _close_fn = staticmethod(_alting_close)
    _kind = "alting barrier front-end"

    def sync(self):
        """Offers the barrier and blocks until it fires. Cannot be interrupted (not by Ctrl-C
        either): use :meth:`poll` or a select with a timeout where that matters."""
        _check(_alting_sync(self._h()))

    def poll(self, timeout):
        """Offers the barrier for at most ``timeout`` seconds; ``True`` if it fired. ``0`` fires
        only if every other enrolled front-end is already offering; otherwise the offer is
        withdrawn when the time is up (never earlier)."""
        ns = min(max(0, int(timeout * 1e9)), 2**64 - 1)
        return _check(_alting_poll(self._h(), ns)) == 1

    def enroll(self):
        """Enrolls this resigned front-end again (``EMISUSE`` if it is enrolled)."""
        _check(_alting_enroll(self._h()))

    def resign(self):
        """Resigns: the others may complete the barrier without this front-end (``EMISUSE`` if it
        is resigned already)."""
        _check(_alting_resign(self._h()))

    def expand(self, n):
        """Adds ``n`` enrolled, unowned front-ends (JCSP ``expand``) and returns their indices,
        increasing: ``first .. first + n - 1`` unless earlier contractions left gaps. New parties
        attach them; :meth:`contract` with this list (or its first index and ``n``) removes
        them."""
        h = self._h()
        first = _U32()
        _check(_alting_expand(h, _u32(n, "n"), ctypes.byref(first)))
        count = _check(_alting_expanded(h, first.value, None, 0))
        buf = (_U32 * count)()
        count = min(count, _check(_alting_expanded(h, first.value, buf, count)))
        return list(buf[:count])

    def contract(self, first, n=None):
        """Removes the front-ends of one earlier expansion (JCSP ``contract``): ``contract(indices)``
        with the list :meth:`expand` returned, or ``contract(first, n)`` as in the C API. This may
        complete the barrier; handles on the removed front-ends fail with ``EMISUSE``."""
        if n is None:
            indices = list(first)
            if not indices:
                raise ValueError("no front-ends to contract")
            first, n = min(indices), len(indices)
        _check(_alting_contract(self._h(), _u32(first, "first"), _u32(n, "n")))

    @property
    def index(self):
        """This front-end's index within its barrier."""
        return _check(_alting_index(self._h()))

    @property
    def completions(self):
        """How many times the barrier has fired (its latest ticket); a snapshot."""
        out = _U64()
        _check(_alting_completions(self._h(), ctypes.byref(out)))
        return out.value

    def __repr__(self):
        if self._handle is None:
            return "<muster.AltingBarrier %r closed>" % (self.name,)
        return "<muster.AltingBarrier %r index=%d>" % (self.name, self.index)


class Channel(_ThreadHandle):
    """A channel of unsigned 64-bit integers between threads and processes (any number of
    writers, one reader at a time), from :meth:`Region.channel`. Usable as an input guard of an
    :class:`Alternative`. A per-thread handle: use and close it on the thread that opened it
    (other threads and processes open their own handle on the same name). Closing the handle
    leaves the channel and its buffered values in the region."""

    _close_fn = staticmethod(_channel_close)
    _kind = "channel"

    @staticmethod
    def _value(value):
        value = int(value)
        if not 0 <= value < 2**64:
            raise ValueError("a channel carries integers in 0 .. 2**64 - 1")
        return value

    def write(self, value):
        """Writes ``value`` (0 .. 2**64 - 1), blocking while the channel is full (an overwriting
        channel drops its oldest value instead)."""
        _check(_channel_write(self._h(), self._value(value)))

    def try_write(self, value):
        """Writes ``value`` unless the channel is full; ``True`` if written."""
        return _check(_channel_try_write(self._h(), self._value(value))) == 1

    def read(self, timeout=None):
        """Reads the oldest value, waiting at most ``timeout`` seconds (``None``: forever); raises
        :class:`WaitTimeoutError` (a :class:`TimeoutError`) if none came in time."""
        out = _U64()
        _check_wait(_channel_read(self._h(), _timeout_ns(timeout), ctypes.byref(out)))
        return out.value

    def try_read(self):
        """The oldest value, or ``None`` if the channel is empty (after its guard fired in a
        select, it is not)."""
        out = _U64()
        if _check(_channel_try_read(self._h(), ctypes.byref(out))) == 0:
            return None
        return out.value

    def __repr__(self):
        return "<muster.Channel %r%s>" % (self.name, " closed" if self._handle is None else "")


class Alternative(_ThreadHandle):
    """A choice among guards (JCSP ``Alternative``, CSP external choice): :class:`AltingBarrier`
    front-ends, :class:`Channel` inputs and skips. A select waits until one guard is ready, fires
    exactly that one and returns its index (guards are numbered 0, 1, ... in the order added); a
    barrier guard fires for all the barrier's parties at once or not at all.

    ``Alternative(guards=())`` adds the given guards (``None`` for a skip). A per-thread handle:
    create, select and close it on the thread that owns its guards; all guards must belong to one
    region and that thread. The Alternative keeps references to its guards; keep them open while
    it is in use.
    """

    _close_fn = staticmethod(_alt_destroy)
    _kind = "Alternative"

    def __init__(self, guards=()):
        out = ctypes.c_void_p()
        _check(_alt_create(ctypes.byref(out)))
        self._handle = out
        self.name = None
        self._guards = []
        for g in guards:
            if g is None:
                self.add_skip()
            else:
                self.add(g)

    def add(self, guard):
        """Adds an :class:`AltingBarrier` or :class:`Channel` guard; returns its index. Offering
        one barrier twice is an error at select time."""
        if isinstance(guard, AltingBarrier):
            fn = _alt_add_alting
        elif isinstance(guard, Channel):
            fn = _alt_add_channel
        else:
            raise TypeError("a guard is a muster.AltingBarrier or a muster.Channel, not %r" % (guard,))
        i = _check(fn(self._h(), guard._h()))
        self._guards.append(guard)
        return i

    def add_skip(self):
        """Adds a guard that is always ready (CSP ``SKIP``): selects never block; returns its
        index."""
        i = _check(_alt_add_skip(self._h()))
        self._guards.append(None)
        return i

    @property
    def guards(self):
        """The guards in index order (``None`` for a skip)."""
        return list(self._guards)

    def __len__(self):
        return _check(_alt_count(self._h()))

    def _select(self, mode, timeout):
        h = self._h()
        for g in self._guards:
            if g is not None and g.closed:
                raise ValueError("guard %r of this Alternative is closed" % (g,))
        return _check_wait(_alt_select(h, mode, _timeout_ns(timeout)))

    def select(self, timeout=None):
        """Waits at most ``timeout`` seconds (``None``: forever) until a guard fires and returns
        its index; any ready guard may be chosen. :class:`WaitTimeoutError` (a
        :class:`TimeoutError`) if none fired in time; ``MusterError`` otherwise (``EMISUSE``: a
        barrier offered twice, a resigned or foreign front-end, the wrong thread; ``EINVAL``: no
        guards and no timeout). Cannot be interrupted without a timeout."""
        return self._select(SELECT_ARBITRARY, timeout)

    def pri_select(self, timeout=None):
        """As :meth:`select`, by guard order: a ready channel or skip guard beats the guards after
        it (barrier guards have no priority among themselves, as in JCSP)."""
        return self._select(SELECT_PRI, timeout)

    def fair_select(self, timeout=None):
        """As :meth:`select`, with rotating priority: the guard chosen last has the lowest priority
        next time, so no ready guard starves."""
        return self._select(SELECT_FAIR, timeout)

    @property
    def ticket(self):
        """The completion number (1, 2, ...) of the barrier fired by this thread's last select,
        the same for every party of that event; 0 if the last select fired a channel or skip
        (or timed out). Read it right after the select."""
        out = _U32()
        _check(_alt_ticket(self._h(), ctypes.byref(out)))
        return out.value

    def close(self):
        """Destroys the Alternative (its guards stay open), on its creating thread. Idempotent."""
        _ThreadHandle.close(self)
        if self._handle is None:
            self._guards = []

    def __repr__(self):
        if self._handle is None:
            return "<muster.Alternative closed>"
        return "<muster.Alternative %d guards>" % (len(self._guards),)
