"""CPython's own Barrier tests run against ``muster.Barrier``.

* ``test.lock_tests.BarrierTests`` (the tests of ``threading.Barrier``): parties are threads
  sharing one handle.
* ``test._test_multiprocessing._TestBarrier`` (the tests of ``multiprocessing.Barrier``): parties
  are processes started with the spawn method; the barrier reaches them by pickling (it re-opens
  by name there).

Both come with the interpreter's ``test`` package (Debian: ``libpython3.X-testsuite``, listed in
.ci/apt.d/python.txt). Without it these tests are skipped with that reason.
"""

import multiprocessing
import unittest

import pytest

import muster
from conftest import unique_name

lock_tests = pytest.importorskip("test.lock_tests", reason="the interpreter's test package is not installed")
mp_tests = pytest.importorskip(
    "test._test_multiprocessing", reason="the interpreter's test package is not installed"
)


class _RegionPerTest:
    """Creates a region per test and makes ``parties``-party barriers with fresh names in it."""

    def _open_region(self):
        self._region_name = unique_name("cpy")
        self._region = muster.Region.create(self._region_name, max_barriers=64, max_processes=64)
        self._barriers = 0

    def _close_region(self):
        self._region.close()
        muster.Region.unlink(self._region_name)

    def _barrier(self, parties, action=None, timeout=None):
        self._barriers += 1
        return muster.Barrier(self._region, "b%d" % self._barriers, parties, action=action, timeout=timeout)


class TestThreadingBarrierSuite(_RegionPerTest, lock_tests.BarrierTests):
    """threading.Barrier's tests; every party is a thread of this process."""

    def setUp(self):
        self._open_region()
        super().setUp()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self._close_region()

    def barriertype(self, parties, action=None, timeout=None):
        return self._barrier(parties, action, timeout)


class TestMultiprocessingBarrierSuite(_RegionPerTest, mp_tests._TestBarrier, unittest.TestCase):
    """multiprocessing.Barrier's tests; parties are spawned processes. As in CPython's
    test_multiprocessing_spawn, the default start method is spawn while they run (the suite's
    helpers use the default context)."""

    TYPE = "processes"
    Process = multiprocessing.Process
    Queue = staticmethod(multiprocessing.Queue)
    Event = staticmethod(multiprocessing.Event)
    Lock = staticmethod(multiprocessing.Lock)
    Pipe = staticmethod(multiprocessing.Pipe)

    @classmethod
    def setUpClass(cls):
        cls._old_method = multiprocessing.get_start_method(allow_none=True)
        multiprocessing.set_start_method("spawn", force=True)

    @classmethod
    def tearDownClass(cls):
        multiprocessing.set_start_method(cls._old_method, force=True)

    def setUp(self):
        self._open_region()
        super().setUp()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self._close_region()

    def Barrier(self, parties, action=None, timeout=None):
        return self._barrier(parties, action, timeout)
