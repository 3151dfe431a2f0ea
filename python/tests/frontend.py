"""Which Python front end the shared behaviour tests run against.

Muster has two Python front ends with one API under one module name, ``muster``: the native
package (``pip install ./python``, PyO3) and the ctypes module tests/python/muster.py, which is
the test of the C ABI. The behaviour both must have is tested once, by test_muster.py and
test_alting.py in this directory; they take the module from here (``from frontend import
muster``) and run unchanged against either front end, chosen by ``MUSTER_IMPL``:

- ``native`` (the default): the installed package. scripts/test.d/40-python.sh runs them so
  with pytest, beside the package's own tests (the other test_*.py files here).
- ``ctypes``: tests/python/muster.py over the libmuster that ``MUSTER_LIB`` names.
  tests/ffi_clients.rs runs them so with ``python3 -m unittest discover -s tests/python``
  (tests/python/test_c_abi.py loads them), against the installed library, with only the
  standard library. ``pytest --impl ctypes`` in this directory runs them so too.

The choice is an environment variable (pytest's ``--impl`` only sets it) because
multiprocessing's spawn children import the test modules afresh: they inherit the environment,
so they pick the same front end as their parent.

Where the two APIs differ in a detail a shared test needs, a small adapter below hides it.
"""

import os
import sys

IMPL = os.environ.get("MUSTER_IMPL", "native")

#: tests/python, where the ctypes module lives.
CTYPES_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))

if IMPL == "ctypes":
    if CTYPES_DIR not in sys.path:
        sys.path.insert(0, CTYPES_DIR)
    import muster

    if os.path.dirname(os.path.abspath(muster.__file__)) != CTYPES_DIR:
        raise ImportError("MUSTER_IMPL=ctypes, but 'muster' was imported from %s" % muster.__file__)
elif IMPL == "native":
    import muster

    if not hasattr(muster, "_muster"):
        raise ImportError(
            "MUSTER_IMPL=native, but 'muster' from %s is not the native package "
            "(is tests/python on sys.path?)" % muster.__file__
        )
else:
    raise ImportError("MUSTER_IMPL must be 'native' or 'ctypes', not %r" % IMPL)


def arrive_and_drop_index(barrier):
    """The arrival index of ``barrier.arrive_and_drop()``: the native package returns
    ``(index, ticket)``, the ctypes module only the index (the C ABI's
    ``muster_barrier_arrive_and_drop`` returns no ticket)."""
    result = barrier.arrive_and_drop()
    if IMPL == "native":
        index, _ticket = result
        return index
    return result
