"""The ctypes module (muster.py) as the test of the C ABI: runs the behaviour tests both Python
front ends share (python/tests/test_muster.py and test_alting.py, loaded below with
``MUSTER_IMPL=ctypes``; see python/tests/frontend.py) against this module, plus the tests of what
only this module does.

Run with ``MUSTER_LIB=/prefix/lib/libmuster.so.0 python3 -m unittest discover -s tests/python -v``
(tests/ffi_clients.rs does this after installing into a temporary prefix). Only the standard
library is needed; every cross-process step has a timeout so a bug fails instead of hanging.
"""

import os
import signal
import sys
import threading
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
_SHARED = os.path.normpath(os.path.join(_HERE, "..", "..", "python", "tests"))

# The shared tests (and the spawned children, which inherit the environment) take the front end
# from MUSTER_IMPL: here it is this module.
if os.environ.setdefault("MUSTER_IMPL", "ctypes") != "ctypes":
    raise ImportError("tests/python tests the ctypes module, but MUSTER_IMPL=%s" % os.environ["MUSTER_IMPL"])
for _path in (_SHARED, _HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import muster  # noqa: E402
import test_muster as shared  # noqa: E402
from shared_tests import MODULES as SHARED_MODULES  # noqa: E402

STEP = shared.STEP


def load_tests(loader, tests, pattern):
    """unittest's hook: this module's tests plus the shared ones."""
    for name in SHARED_MODULES:
        tests.addTests(loader.loadTestsFromModule(__import__(name)))
    return tests


def interruptible_waiter(region_name, results):
    """Waits without a timeout; reports a KeyboardInterrupt, then resumes the same wait."""
    try:
        region = muster.Region.open(region_name)
        barrier = muster.Barrier(region, "ctrl-c", 2)
        results.put(("ready", os.getpid()))
        try:
            barrier.wait()
            results.put(("not interrupted", None))
            return
        except KeyboardInterrupt:
            results.put(("interrupted", barrier.broken))
        # The arrival stood: this wait resumes the same generation.
        results.put(("resumed", barrier.wait()))
        barrier.close()
    except BaseException as e:
        results.put(("error", repr(e)))


class TestCtypesBarrierLocal(shared.RegionTest):
    def test_action_runs_and_failure_breaks(self):
        # set_action and an action's exception wrapped in ActionFailedError are this module's
        # (the native package takes the action only when opening, and raises the action's own
        # exception in the thread that ran it, as threading.Barrier does).
        calls = []
        a = muster.Barrier(self.region, "act", 2, action=lambda: calls.append(1))
        b = muster.Barrier(self.region, "act", 2, action=lambda: calls.append(1))
        t = threading.Thread(target=a.wait, kwargs={"timeout": STEP})
        t.start()
        self.poll(lambda: b.n_waiting == 1, "the thread to arrive")
        b.wait(timeout=STEP)
        t.join(STEP)
        self.assertEqual(calls, [1], "exactly one action per generation")

        def boom():
            raise ValueError("deliberate")

        b.set_action(boom)
        errors = []
        t = threading.Thread(target=lambda: errors.append(self._catch(a)))
        t.start()
        self.poll(lambda: b.n_waiting == 1, "the thread to arrive")
        with self.assertRaises(muster.ActionFailedError) as cm:
            b.wait()
        self.assertIsInstance(cm.exception.__cause__, ValueError)
        t.join(STEP)
        self.assertIsInstance(errors[0], muster.ActionFailedError)
        self.assertIsInstance(errors[0], threading.BrokenBarrierError)
        self.assertTrue(a.broken)
        a.reset()
        a.close()
        b.close()

    @staticmethod
    def _catch(barrier):
        try:
            barrier.wait()
        except Exception as e:
            return e
        return None


class TestCtypesBarrierProcesses(shared.ProcessTest):
    def test_ctrl_c_interrupts_a_wait_without_breaking_it(self):
        # This module's wait() after a KeyboardInterrupt resumes the interrupted arrival (the
        # native package resumes with await_(e.muster_ticket): python/tests/test_split_phase.py).
        b = muster.Barrier(self.region, "ctrl-c", 2)
        results, workers = self.run_workers(interruptible_waiter, [(self.name,)])
        kind, pid = self.get(results)
        self.assertEqual(kind, "ready")
        self.poll(lambda: b.n_waiting == 1, "the worker to arrive")
        os.kill(pid, signal.SIGINT)
        self.assertEqual(self.get(results), ("interrupted", False))
        self.assertFalse(b.broken)
        self.assertEqual(b.n_waiting, 1, "the interrupted arrival stands")
        self.assertEqual(b.wait(timeout=STEP), 1)
        self.assertEqual(self.get(results), ("resumed", 0))
        b.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
