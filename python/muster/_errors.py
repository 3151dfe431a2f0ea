"""The exceptions of :mod:`muster` and the stable error codes (``MUSTER_E*`` of the C ABI)."""

import threading

from . import _muster

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
EINTERNAL = -32

CODE_NAMES = {
    value: "MUSTER_" + name
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, int) and (name.startswith("E") or name == "OK")
}


def strerror(code):
    """The library's description of an error code."""
    return _muster.strerror(code)


class MusterError(Exception):
    """A Muster call failed. ``code`` is the (negative) ``MUSTER_E*`` code, ``name`` its
    symbolic name and ``detail`` the library's message about this failure."""

    def __init__(self, code, detail=""):
        self.code = code
        self.name = CODE_NAMES.get(code, "MUSTER_E?")
        self.detail = detail
        text = "%s (%d): %s" % (self.name, code, strerror(code))
        if detail and detail != strerror(code):
            text += ": " + detail
        Exception.__init__(self, text)

    def __reduce__(self):
        return (type(self), (self.code, self.detail))


class BrokenBarrierError(threading.BrokenBarrierError, MusterError):
    """The barrier is broken (``EBROKEN``) - or one of the subclasses below. Also a
    :class:`threading.BrokenBarrierError`, so code written for ``threading.Barrier`` works."""

    def __init__(self, code=EBROKEN, detail=""):
        MusterError.__init__(self, code, detail)


class BarrierTimeoutError(BrokenBarrierError):
    """A timed wait ran out (``ETIMEDOUT``). Like ``threading.Barrier`` it is a
    :class:`BrokenBarrierError`; for a non-member the barrier is now broken, a member was resigned
    instead (see :meth:`Barrier.wait`)."""

    def __init__(self, code=ETIMEDOUT, detail=""):
        BrokenBarrierError.__init__(self, code, detail)


class PeerDiedError(BrokenBarrierError):
    """A member process died while others waited (``EPEERDIED``); ``pid`` is the dead
    process's pid (diagnostic only)."""

    def __init__(self, code=EPEERDIED, detail="", pid=0):
        BrokenBarrierError.__init__(self, code, detail)
        self.pid = pid

    def __reduce__(self):
        return (type(self), (self.code, self.detail, self.pid))


class ActionFailedError(BrokenBarrierError):
    """The generation broke because the completion action of the party that completed it failed
    (``EACTION``); the thread that ran the action gets the action's own exception instead."""

    def __init__(self, code=EACTION, detail=""):
        BrokenBarrierError.__init__(self, code, detail)


class CancelledError(MusterError):
    """This member handle was resigned by a timeout or :meth:`Barrier.resign`
    (``ECANCELLED``); :meth:`Barrier.enroll` it again to use it."""


class WaitTimeoutError(MusterError, TimeoutError):
    """A channel read or an :class:`Alternative` select timed out (``ETIMEDOUT``). Also the
    built-in :class:`TimeoutError`, so ``except TimeoutError`` catches it."""


_BY_CODE = {
    EBROKEN: BrokenBarrierError,
    EACTION: ActionFailedError,
    ETIMEDOUT: BarrierTimeoutError,
    ECANCELLED: CancelledError,
}


def make_error(code, detail="", pid=0, wait=False):
    """The exception for ``code`` (the native module calls this for every failure).
    ``wait``: the call was a channel read or a select, whose timeout is a
    :class:`WaitTimeoutError` rather than a barrier's :class:`BarrierTimeoutError`."""
    if code == EPEERDIED:
        return PeerDiedError(code, detail, pid)
    if wait and code == ETIMEDOUT:
        return WaitTimeoutError(code, detail)
    return _BY_CODE.get(code, MusterError)(code, detail)


_muster._set_error_factory(make_error)
