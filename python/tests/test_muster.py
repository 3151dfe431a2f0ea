"""Behaviour tests of both Python front ends: regions and plain barriers, within one process and
across ``multiprocessing`` (spawn) processes. They run against the native package and against
the ctypes C-ABI module tests/python/muster.py (see frontend.py for how one is chosen and who
runs which). Only the standard library is needed (``unittest``; pytest runs them as well).

Every cross-process step has a timeout so a bug fails instead of hanging.
"""

import multiprocessing
import os
import queue
import threading
import time
import unittest

import frontend
from frontend import muster

STEP = 30.0  # seconds any single cross-process step may take before the test fails
_counter = [0]


def unique_name(tag):
    _counter[0] += 1
    return "muster-pytest-%s-%d-%d" % (tag, os.getpid(), _counter[0])


def _ctx():
    # spawn: children import muster themselves and never touch the parent's handles.
    return multiprocessing.get_context("spawn")


def phase_worker(region_name, me, procs, generations, progress, results):
    """Meets the others `generations` times; checks the peers' published progress."""
    try:
        with muster.Region.open(region_name) as region:
            barrier = muster.Barrier(region, "phase", procs)
        indices = []
        for g in range(generations):
            progress[me] = g
            index = barrier.wait(timeout=STEP)
            for j in range(procs):
                p = progress[j]
                if not g <= p <= g + 1:
                    raise AssertionError("gen %d: peer %d published %d" % (g, j, p))
            indices.append(index)
        barrier.close()
        results.put((me, indices))
    except BaseException as e:  # report instead of dying silently
        results.put((me, "error: %r" % (e,)))


def wait_worker(region_name, barrier_name, parties, member, timeout, results):
    """Waits once and reports the outcome as a string."""
    try:
        region = muster.Region.open(region_name)
        barrier = muster.Barrier(region, barrier_name, parties)
        if member:
            barrier.enroll()
        results.put(("ready", os.getpid()))
        try:
            index = barrier.wait(timeout=timeout)
            results.put(("index", index))
        except muster.PeerDiedError as e:
            results.put(("peer-died", e.pid))
        except muster.BarrierTimeoutError:
            results.put(("timeout", None))
        except muster.BrokenBarrierError:
            results.put(("broken", None))
        barrier.close()
        region.close()
    except BaseException as e:
        results.put(("error", repr(e)))


def member_sleeper(region_name, barrier_name, results):
    """Enrolls, reports, then sleeps until killed."""
    region = muster.Region.open(region_name)
    barrier = muster.Barrier(region, barrier_name, 0)
    barrier.enroll()
    results.put(("ready", os.getpid()))
    time.sleep(3600)


def split_phase_worker(region_name, results):
    try:
        region = muster.Region.open(region_name)
        barrier = muster.Barrier(region, "split", 2)
        index, ticket = barrier.arrive()
        barrier.await_(ticket, timeout=STEP)
        results.put(("done", index))
        barrier.close()
    except BaseException as e:
        results.put(("error", repr(e)))


class RegionTest(unittest.TestCase):
    def setUp(self):
        self.name = unique_name(self._testMethodName[5:20].replace("_", "-"))
        self.region = muster.Region.create(self.name, max_barriers=16, max_processes=32)

    def tearDown(self):
        self.region.close()
        try:
            muster.Region.unlink(self.name)
        except muster.MusterError as e:
            if e.code != muster.ENOENT:
                raise

    def poll(self, predicate, what):
        deadline = time.monotonic() + STEP
        while not predicate():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for " + what)
            time.sleep(0.001)


class TestLibrary(unittest.TestCase):
    def test_version_and_strerror(self):
        expected = os.environ.get("MUSTER_EXPECTED_VERSION")
        if expected:
            self.assertEqual(muster.version(), expected)
        self.assertRegex(muster.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(muster.strerror(muster.OK), "success")
        self.assertEqual(muster.strerror(muster.EBROKEN), "barrier broken")
        self.assertEqual(muster.strerror(-999), "unknown error code")
        texts = {muster.strerror(c) for c in range(-16, 0)}
        self.assertEqual(len(texts), 16)

    def test_error_classes(self):
        e = muster._error(muster.EBROKEN)
        self.assertIsInstance(e, threading.BrokenBarrierError)
        self.assertIsInstance(e, muster.MusterError)
        self.assertEqual(e.code, muster.EBROKEN)
        self.assertEqual(e.name, "MUSTER_EBROKEN")
        self.assertIsInstance(muster._error(muster.ETIMEDOUT), threading.BrokenBarrierError)
        self.assertIsInstance(muster._error(muster.EPEERDIED), muster.BrokenBarrierError)
        self.assertNotIsInstance(muster._error(muster.EINVAL), threading.BrokenBarrierError)


class TestRegions(unittest.TestCase):
    def test_lifecycle_and_errors(self):
        name = unique_name("life")
        with self.assertRaises(muster.MusterError) as cm:
            muster.Region.open(name)
        self.assertEqual(cm.exception.code, muster.ENOENT)
        with muster.Region.create(name, max_barriers=4) as region:
            self.assertFalse(region.closed)
            with self.assertRaises(muster.MusterError) as cm:
                muster.Region.create(name)
            self.assertEqual(cm.exception.code, muster.EEXIST)
            with muster.Region.open(name) as again:
                self.assertEqual(again.name, name)
            with muster.Region.open_or_create(name) as again:
                pass
        self.assertTrue(region.closed)
        region.close()  # idempotent
        with self.assertRaises(ValueError):
            muster.Barrier(region, "x", 1)
        muster.Region.unlink(name)
        with self.assertRaises(muster.MusterError) as cm:
            muster.Region.unlink(name)
        self.assertEqual(cm.exception.code, muster.ENOENT)
        with muster.Region.open_or_create(name):
            pass
        muster.Region.unlink(name)

    def test_bad_names_and_config(self):
        for bad in ["", ".hidden", "a/b", "a b", "x" * 65, "caf\u00e9", "nul\0byte"]:
            with self.assertRaises(muster.MusterError, msg=repr(bad)) as cm:
                muster.Region.create(bad)
            self.assertEqual(cm.exception.code, muster.ENAME, repr(bad))
        with self.assertRaises(muster.MusterError) as cm:
            muster.Region.create(unique_name("cfg"), max_barriers=1 << 20)
        self.assertEqual(cm.exception.code, muster.EINVAL)
        self.assertTrue(cm.exception.detail)  # the library says which argument
        with self.assertRaises(TypeError):
            muster.Region("direct construction")

    def test_corrupt_region_file(self):
        name = unique_name("corrupt")
        path = "/dev/shm/" + name
        with open(path, "wb") as f:
            f.write(b"\xab" * 8192)
        try:
            with self.assertRaises(muster.MusterError) as cm:
                muster.Region.open(name)
            self.assertEqual(cm.exception.code, muster.ECORRUPT)
            with open(path, "wb") as f:
                f.write(b"MUSTER\0\x01" + (99).to_bytes(4, "little") + bytes(12) + (1).to_bytes(4, "little"))
                f.write(bytes(8192))
            with self.assertRaises(muster.MusterError) as cm:
                muster.Region.open(name)
            self.assertEqual(cm.exception.code, muster.EVERSION)
        finally:
            muster.Region.unlink(name)


class TestBarrierLocal(RegionTest):
    def test_properties_and_mismatch(self):
        b = muster.Barrier(self.region, "Phase 1", 3)
        self.assertEqual(b.parties, 3)
        self.assertEqual(b.n_waiting, 0)
        self.assertFalse(b.broken)
        self.assertFalse(b.is_member)
        g = b.generation
        with self.assertRaises(muster.MusterError) as cm:
            muster.Barrier(self.region, "Phase 1", 2)
        self.assertEqual(cm.exception.code, muster.EMISMATCH)
        with self.assertRaises(muster.MusterError) as cm:
            muster.Barrier(self.region, "bad\nname", 2)
        self.assertEqual(cm.exception.code, muster.ENAME)
        with muster.Barrier(self.region, "solo", 1) as solo:
            self.assertEqual(solo.wait(), 0)
            self.assertEqual(solo.wait(timeout=0), 0)
        self.assertTrue(solo.closed)
        with self.assertRaises(ValueError):
            solo.wait()
        self.assertEqual(b.generation, g)
        self.assertIn("Phase 1", repr(b))
        b.close()

    def test_threads_share_a_counted_handle(self):
        parties, rounds = 3, 200
        b = muster.Barrier(self.region, "threads", parties)
        got = [[] for _ in range(parties)]
        errors = []

        def run(k):
            try:
                for _ in range(rounds):
                    got[k].append(b.wait(timeout=STEP))
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(parties)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(STEP * 2)
        self.assertEqual(errors, [])
        for r in range(rounds):
            self.assertEqual(sorted(got[k][r] for k in range(parties)), list(range(parties)), "round %d" % r)
        b.close()

    def test_non_member_timeout_breaks(self):
        b = muster.Barrier(self.region, "t", 2)
        with self.assertRaises(muster.BarrierTimeoutError) as cm:
            b.wait(timeout=0.05)
        self.assertIsInstance(cm.exception, threading.BrokenBarrierError)
        self.assertEqual(cm.exception.code, muster.ETIMEDOUT)
        self.assertTrue(b.broken)
        with self.assertRaises(muster.BrokenBarrierError) as cm:
            b.wait(timeout=0.05)
        self.assertEqual(cm.exception.code, muster.EBROKEN)
        b.reset()
        self.assertFalse(b.broken)
        b.close()

    def test_member_timeout_resigns(self):
        a = muster.Barrier(self.region, "m", 0)
        other = muster.Barrier(self.region, "m", 0)
        with self.assertRaises(muster.MusterError) as cm:
            a.wait()
        self.assertEqual(cm.exception.code, muster.EMISUSE)  # not a member
        a.enroll()
        other.enroll()
        with self.assertRaises(muster.MusterError) as cm:
            a.enroll()
        self.assertEqual(cm.exception.code, muster.EMISUSE)  # twice
        self.assertEqual(a.parties, 2)
        with self.assertRaises(muster.BarrierTimeoutError):
            a.wait(timeout=0.05)
        self.assertFalse(a.is_member)
        self.assertFalse(a.broken)
        self.assertEqual(a.parties, 1)
        with self.assertRaises(muster.CancelledError) as cm:
            a.wait()
        self.assertEqual(cm.exception.code, muster.ECANCELLED)
        self.assertEqual(other.wait(timeout=STEP), 0)  # the lone member passes
        a.enroll()
        self.assertEqual(a.parties, 2)
        other.resign()
        with self.assertRaises(muster.MusterError) as cm:
            other.resign()
        self.assertEqual(cm.exception.code, muster.EMISUSE)
        self.assertEqual(a.wait(), 0)
        a.close()  # resigns
        self.assertEqual(other.parties, 0)
        other.close()

    def test_abort_and_reset_local(self):
        b = muster.Barrier(self.region, "ar", 1)
        b.abort()
        self.assertTrue(b.broken)
        with self.assertRaises(muster.BrokenBarrierError):
            b.wait()
        b.reset()
        self.assertFalse(b.broken)
        self.assertEqual(b.wait(), 0)
        b.close()

    def test_split_phase_local(self):
        a = muster.Barrier(self.region, "sp", 2)
        b = muster.Barrier(self.region, "sp", 2)
        index, ticket = a.arrive()
        self.assertEqual(index, 0)
        self.assertFalse(a.is_complete(ticket))
        with self.assertRaises(muster.WaitTimeoutError):
            a.await_(ticket, timeout=0.01)
        self.assertFalse(a.broken)
        with self.assertRaises(muster.MusterError) as cm:
            a.await_(ticket + 1, timeout=0)
        self.assertEqual(cm.exception.code, muster.EINVAL)
        self.assertEqual(b.arrive(), (1, ticket))
        a.await_(ticket)
        self.assertTrue(a.is_complete(ticket))
        self.assertEqual(frontend.arrive_and_drop_index(b), 1)
        self.assertEqual(a.parties, 1, "the dropper counts as arrived, and is gone after")
        self.assertEqual(a.wait(timeout=STEP), 0, "a alone completes the generation")
        self.assertEqual(a.wait(timeout=STEP), 0)
        a.close()
        b.close()


class ProcessTest(RegionTest):
    """A region per test plus spawned workers, reaped when the test ends."""

    def run_workers(self, target, args_list):
        ctx = _ctx()
        results = ctx.Queue()
        procs = [ctx.Process(target=target, args=args + (results,)) for args in args_list]
        for p in procs:
            p.start()
        self.addCleanup(self._reap, procs)
        return results, procs

    @staticmethod
    def _reap(procs):
        for p in procs:
            p.join(STEP)
            if p.is_alive():
                p.kill()
                p.join()

    def get(self, results):
        try:
            return results.get(timeout=STEP)
        except queue.Empty:
            self.fail("a worker did not report in time")


class TestBarrierProcesses(ProcessTest):
    def test_processes_meet(self):
        procs, generations = 4, 300
        progress = _ctx().Array("q", procs, lock=False)
        for i in range(procs):
            progress[i] = -1
        results, workers = self.run_workers(
            phase_worker, [(self.name, i, procs, generations, progress) for i in range(procs)]
        )
        reports = dict(self.get(results) for _ in range(procs))
        for me, indices in reports.items():
            self.assertIsInstance(indices, list, "worker %d: %s" % (me, indices))
        for g in range(generations):
            self.assertEqual(sorted(reports[i][g] for i in range(procs)), list(range(procs)), "generation %d" % g)
        for p in workers:
            p.join(STEP)
            self.assertEqual(p.exitcode, 0)

    def test_abort_wakes_other_process(self):
        b = muster.Barrier(self.region, "abort", 2)
        results, _ = self.run_workers(wait_worker, [(self.name, "abort", 2, False, STEP)])
        self.assertEqual(self.get(results)[0], "ready")
        self.poll(lambda: b.n_waiting == 1, "the worker to arrive")
        b.abort()
        self.assertEqual(self.get(results), ("broken", None))
        self.assertTrue(b.broken)
        b.reset()
        self.assertFalse(b.broken)
        b.close()

    def test_non_member_timeout_breaks_other_process(self):
        b = muster.Barrier(self.region, "tb", 3)
        results, _ = self.run_workers(wait_worker, [(self.name, "tb", 3, False, None)])
        self.assertEqual(self.get(results)[0], "ready")
        self.poll(lambda: b.n_waiting == 1, "the worker to arrive")
        with self.assertRaises(muster.BarrierTimeoutError):
            b.wait(timeout=0.05)
        self.assertEqual(self.get(results), ("broken", None))
        b.close()

    def test_member_timeout_lets_others_proceed(self):
        a = muster.Barrier(self.region, "mt", 0)
        b = muster.Barrier(self.region, "mt", 0)
        a.enroll()
        b.enroll()
        results, _ = self.run_workers(wait_worker, [(self.name, "mt", 0, True, STEP)])
        self.assertEqual(self.get(results)[0], "ready")
        self.poll(lambda: a.parties == 3 and a.n_waiting == 1, "the worker to enroll and arrive")
        with self.assertRaises(muster.BarrierTimeoutError):
            a.wait(timeout=0.05)
        self.assertFalse(a.broken)
        self.assertEqual(b.wait(timeout=STEP), 1)
        self.assertEqual(self.get(results), ("index", 0))
        a.close()
        b.close()

    def test_split_phase_across_processes(self):
        b = muster.Barrier(self.region, "split", 2)
        results, _ = self.run_workers(split_phase_worker, [(self.name,)])
        self.poll(lambda: b.n_waiting == 1, "the worker to arrive")
        index, ticket = b.arrive()
        self.assertEqual(index, 1)
        b.await_(ticket, timeout=STEP)
        self.assertTrue(b.is_complete(ticket))
        self.assertEqual(self.get(results), ("done", 0))
        b.close()

    def test_peer_death(self):
        m = muster.Barrier(self.region, "crew", 0)
        m.enroll()
        results, workers = self.run_workers(member_sleeper, [(self.name, "crew")])
        kind, pid = self.get(results)
        self.assertEqual(kind, "ready")
        self.poll(lambda: m.parties == 2, "the worker to enroll")
        workers[0].kill()
        with self.assertRaises(muster.PeerDiedError) as cm:
            m.wait(timeout=STEP)
        self.assertEqual(cm.exception.pid, pid)
        self.assertIsInstance(cm.exception, threading.BrokenBarrierError)
        m.reset()
        self.assertEqual(m.parties, 1)
        self.assertEqual(m.wait(timeout=STEP), 0)
        m.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
