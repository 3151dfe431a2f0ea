"""The package with Python's process and thread machinery: multiprocessing spawn and
forkserver, ProcessPoolExecutor, the fork start method (a clear error in the child), the GIL
released by blocking calls, and per-thread handles.

Every cross-process step has a timeout (STEP) and every child is joined and killed if alive, so a
bug fails instead of hanging.
"""

import concurrent.futures
import gc
import multiprocessing
import pickle
import queue
import threading

import pytest

import muster

STEP = 30.0


def _reap(procs):
    for p in procs:
        p.join(STEP)
        if p.is_alive():
            p.kill()
            p.join()


def _meet(barrier, rounds):
    """Worker: waits `rounds` times on a pickled barrier; returns the indices."""
    return [barrier.wait(timeout=STEP) for _ in range(rounds)]


def _meet_to_queue(barrier, rounds, results):
    try:
        results.put(("ok", _meet(barrier, rounds)))
    except BaseException as e:
        results.put(("error", repr(e)))


def _check_rounds(reports, parties, rounds):
    for r in range(rounds):
        assert sorted(rep[r] for rep in reports) == list(range(parties)), "round %d" % r


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_multiprocessing_start_methods(region, method):
    ctx = multiprocessing.get_context(method)
    parties, rounds = 3, 50
    barrier = muster.Barrier(region, "mp", parties)
    results = ctx.Queue()
    procs = [ctx.Process(target=_meet_to_queue, args=(barrier, rounds, results)) for _ in range(parties - 1)]
    for p in procs:
        p.start()
    try:
        mine = _meet(barrier, rounds)
        reports = [results.get(timeout=STEP) for _ in procs]
        for kind, value in reports:
            assert kind == "ok", value
        _check_rounds([mine] + [v for _, v in reports], parties, rounds)
    finally:
        _reap(procs)
    for p in procs:
        assert p.exitcode == 0


def test_process_pool_executor(region):
    parties, rounds = 4, 20
    barrier = muster.Barrier(region, "pool", parties)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=parties, mp_context=ctx) as pool:
        futures = [pool.submit(_meet, barrier, rounds) for _ in range(parties)]
        reports = [f.result(timeout=STEP * 2) for f in futures]
    _check_rounds(reports, parties, rounds)


def test_pickle_round_trip(region):
    b = muster.Barrier(region, "pick", 1, timeout=2.5)
    again = pickle.loads(pickle.dumps(b))
    assert again is not b
    assert (again.name, again.parties, again.timeout, again.region_name) == ("pick", 1, 2.5, region.name)
    assert again.wait() == 0
    r = pickle.loads(pickle.dumps(region))
    assert r.name == region.name and not r.closed
    r.close()
    e = pickle.loads(pickle.dumps(muster.PeerDiedError(muster.EPEERDIED, "gone", 1234)))
    assert (type(e), e.code, e.pid) == (muster.PeerDiedError, muster.EPEERDIED, 1234)


def _forked_child(region, barrier, region_name, results):
    out = []
    for what, call in [
        ("wait", lambda: barrier.wait(timeout=1)),
        ("abort", barrier.abort),
        ("open", lambda: region.barrier("other", 1)),
        ("alting", lambda: region.alting_create("alt", 2)),
    ]:
        try:
            call()
            out.append((what, "no error"))
        except muster.MusterError as e:
            out.append((what, e.code, e.detail))
        except BaseException as e:  # anything else is a failure of the test
            out.append((what, repr(e)))
    # Opening the region again by name works in the child.
    with muster.Region.open(region_name) as fresh:
        out.append(("reopen", muster.Barrier(fresh, "solo", 1).wait()))
    results.put(out)


def test_fork_is_a_clear_error_in_the_child(region, region_name):
    ctx = multiprocessing.get_context("fork")
    barrier = muster.Barrier(region, "forked", 2)
    results = ctx.Queue()
    p = ctx.Process(target=_forked_child, args=(region, barrier, region_name, results))
    p.start()
    try:
        out = results.get(timeout=STEP)
    finally:
        _reap([p])
    assert p.exitcode == 0
    for entry in out[:4]:
        assert entry[1] == muster.EMISUSE, entry
        assert "fork" in entry[2], entry
    assert out[4] == ("reopen", 0)
    # The parent's barrier is untouched by the child.
    assert not barrier.broken and barrier.n_waiting == 0


def test_blocking_calls_release_the_gil(region):
    # If a blocked call held the GIL, the main thread could not reach its side and the
    # helper thread's wait would time out instead.
    b = muster.Barrier(region, "gil", 2)
    got = []
    t = threading.Thread(target=lambda: got.append(b.wait(timeout=STEP)))
    t.start()
    assert b.wait(timeout=STEP) in (0, 1)
    t.join(STEP)
    assert len(got) == 1

    # A channel read blocked on another thread (channels are per thread: each has its own handle).
    region.channel("c", 4)
    values = queue.Queue()

    def reader():
        with region.channel("c", 4) as c:
            values.put(c.read(timeout=STEP))

    t = threading.Thread(target=reader)
    t.start()
    with region.channel("c", 4) as c:
        threading.Event().wait(0.05)
        c.write(42)
    assert values.get(timeout=STEP) == 42
    t.join(STEP)


def test_alting_handle_is_per_thread(region):
    region.alting_create("pt", 1)
    fe = region.alting_attach("pt", 0)
    errors = []

    def other():
        try:
            fe.poll(0)
        except muster.MusterError as e:
            errors.append(e.code)

    t = threading.Thread(target=other)
    t.start()
    t.join(STEP)
    assert errors == [muster.EMISUSE]
    assert fe.poll(0) is True  # the owner still can (a lone front-end fires at once)
    fe.close()


def test_per_thread_handle_collected_elsewhere_is_left_open(region):
    box = []
    t = threading.Thread(target=lambda: box.append(region.channel("gc", 4)))
    t.start()
    t.join(STEP)
    ch = box.pop()
    with pytest.raises(muster.MusterError) as e:
        ch.write(1)
    assert e.value.code == muster.EMISUSE
    with pytest.raises(muster.MusterError):
        ch.close()  # not this thread's to close either
    del ch
    gc.collect()  # dropped here: the library handle is leaked, never dropped on this thread
    with region.channel("gc", 4) as mine:
        assert mine.try_write(2) and mine.try_read() == 2
