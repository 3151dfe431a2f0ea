"""Split phase (arrive / await_ / is_complete / arrive_and_drop), completion actions and Ctrl-C
during a wait.

Every cross-thread or cross-process step has a timeout (STEP); children are killed if they
outlive the test, so a bug fails instead of hanging.
"""

import multiprocessing
import os
import signal
import threading
import time

import pytest

import muster

STEP = 30.0


def _poll(predicate, what):
    deadline = time.monotonic() + STEP
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for " + what)
        time.sleep(0.002)


def _in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


def test_arrive_await_is_complete(region):
    b = muster.Barrier(region, "sp", 2)
    index, ticket = b.arrive()
    assert index in (0, 1)
    assert b.is_complete(ticket) is False
    assert b.n_waiting == 1
    with pytest.raises(muster.WaitTimeoutError) as e:
        b.await_(ticket, timeout=0.05)
    assert isinstance(e.value, TimeoutError) and e.value.code == muster.ETIMEDOUT
    # The timeout changed nothing: the arrival stands and the barrier is whole.
    assert not b.broken and b.n_waiting == 1
    t, out = _in_thread(lambda: b.wait(timeout=STEP))
    b.await_(ticket, timeout=STEP)
    t.join(STEP)
    assert sorted(out + [index]) == [0, 1]
    assert b.is_complete(ticket) is True
    b.await_(ticket)  # a completed generation's ticket returns at once
    with pytest.raises(muster.MusterError) as e:
        b.await_(ticket ^ (1 << 40))  # another barrier's ticket
    assert e.value.code == muster.EINVAL


def test_broken_generation_raises_on_await(region):
    b = muster.Barrier(region, "br", 2)
    _, ticket = b.arrive()
    b.abort()
    with pytest.raises(muster.BrokenBarrierError):
        b.await_(ticket, timeout=STEP)
    with pytest.raises(muster.BrokenBarrierError):
        b.is_complete(ticket)


def test_arrive_and_drop(region):
    b = muster.Barrier(region, "drop", 2)
    leaver = muster.Barrier(region, "drop", 2)
    index, _ = leaver.arrive_and_drop()
    assert b.wait(timeout=STEP) == 1 - index  # the drop counted for this generation
    assert b.parties == 1  # and the barrier has one party less afterwards
    assert b.wait(timeout=STEP) == 0
    with pytest.raises(muster.MusterError) as e:
        leaver.arrive()
    assert e.value.code == muster.EMISUSE


def test_action_runs_once_before_release(region):
    parties, rounds = 3, 20
    log = []
    b = muster.Barrier(region, "act", parties, action=lambda: log.append(len(seen)))
    seen = []
    lock = threading.Lock()

    def party():
        for r in range(rounds):
            with lock:
                seen.append(r)
            b.wait(timeout=STEP)

    threads = [threading.Thread(target=party) for _ in range(parties)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STEP)
    # One action per generation, run when all of that generation's arrivals were in.
    assert len(log) == rounds
    assert all(n >= parties * (g + 1) for g, n in enumerate(log))


def test_an_arrival_while_another_thread_runs_the_action_does_not_hold_the_gil(region):
    # wait() arrives and spins holding the GIL; an arrival that meets a completion action still
    # running (here in another thread, sleeping, then needing the GIL back) must block without it.
    in_action = threading.Event()
    log = []

    def action():
        in_action.set()
        time.sleep(0.2)
        log.append(threading.current_thread().name)

    b = muster.Barrier(region, "trip", 2, action=action)
    done = []

    def party():
        b.wait()
        done.append(threading.current_thread().name)

    first = [threading.Thread(target=party, name="p%d" % i, daemon=True) for i in range(2)]
    for t in first:
        t.start()
    assert in_action.wait(STEP)
    late = [threading.Thread(target=party, name="q%d" % i, daemon=True) for i in range(2)]
    for t in late:
        t.start()
    for t in first + late:
        t.join(STEP)
        assert not t.is_alive(), "a wait hung (an arrival blocked holding the GIL?)"
    assert len(log) == 2 and sorted(done) == ["p0", "p1", "q0", "q1"]


def test_action_exception_breaks_the_barrier(region):
    def action():
        raise ValueError("no")

    b = muster.Barrier(region, "bad", 2, action=action)
    results = []

    def party():
        try:
            b.wait(timeout=STEP)
            results.append("passed")
        except BaseException as e:
            results.append(e)

    threads = [threading.Thread(target=party) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STEP)
    kinds = sorted(type(e).__name__ for e in results)
    # The thread that ran the action gets its exception; the other one a broken barrier.
    assert kinds == ["ActionFailedError", "ValueError"], results
    failed = [e for e in results if isinstance(e, muster.ActionFailedError)][0]
    assert isinstance(failed, muster.BrokenBarrierError) and failed.code == muster.EACTION
    assert b.broken


def _interrupted_waiter(region_name, results, go):
    region = muster.Region.open(region_name)
    b = muster.Barrier(region, "ctrl-c", 2)
    results.put(("ready", os.getpid()))
    try:
        b.wait()
        results.put(("returned", None))
    except KeyboardInterrupt as e:
        results.put(("interrupted", b.broken))
        ticket = e.muster_ticket
    # Resuming the interrupted wait: it completes with the parent's first wait.
    try:
        b.await_(ticket, timeout=STEP)
        results.put(("resumed", b.is_complete(ticket)))
    except BaseException as e:
        results.put(("resumed", repr(e)))
    # The interrupted arrival stands: waiting again before the parent completed that generation
    # would be a second arrival in it. Once it did, the next wait meets the parent's second one.
    go.wait(STEP)
    try:
        results.put(("second", b.wait(timeout=STEP)))
    except BaseException as e:
        results.put(("second", repr(e)))


def test_ctrl_c_interrupts_wait_without_breaking(region, region_name):
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    b = muster.Barrier(region, "ctrl-c", 2)
    go = ctx.Event()
    p = ctx.Process(target=_interrupted_waiter, args=(region_name, results, go))
    p.start()
    try:
        kind, pid = results.get(timeout=STEP)
        assert kind == "ready"
        _poll(lambda: b.n_waiting == 1, "the child to arrive")
        time.sleep(0.2)  # well into the sliced await
        os.kill(pid, signal.SIGINT)
        assert results.get(timeout=STEP) == ("interrupted", False)
        assert not b.broken
        # The child's arrival stands: this wait completes that generation.
        assert b.wait(timeout=STEP) in (0, 1)
        assert results.get(timeout=STEP) == ("resumed", True)
        go.set()
        assert b.wait(timeout=STEP) in (0, 1)
        kind, index = results.get(timeout=STEP)
        assert kind == "second" and index in (0, 1), index
    finally:
        p.join(STEP)
        if p.is_alive():
            p.kill()
            p.join()
    assert p.exitcode == 0


def _interrupted_alting(region_name, kind, results):
    region = muster.Region.open(region_name)
    if kind == "read":
        handle = region.channel("never", 4)
        call = handle.read
    else:
        handle = region.alting_attach("lonely", 0)  # front-end 1 never offers
        call = handle.sync if kind == "sync" else muster.Alternative([handle]).select
    try:
        results.put(("ready", os.getpid()))
        call()
        results.put(("returned", None))
    except KeyboardInterrupt:
        results.put(("interrupted", None))


@pytest.mark.parametrize("kind", ["read", "select", "sync"])
def test_ctrl_c_interrupts_channel_read_select_sync(region, region_name, kind):
    region.alting_create("lonely", 2)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    p = ctx.Process(target=_interrupted_alting, args=(region_name, kind, results))
    p.start()
    try:
        kind_, pid = results.get(timeout=STEP)
        assert kind_ == "ready"
        time.sleep(0.3)  # into the blocking call
        os.kill(pid, signal.SIGINT)
        assert results.get(timeout=STEP) == ("interrupted", None)
    finally:
        p.join(STEP)
        if p.is_alive():
            p.kill()
            p.join()
    assert p.exitcode == 0
