"""``AltingBarrier.contract()``: a front-end leaves its barrier for good (JCSP ``contract()``, C
``muster_alting_contract_self``). The partner a contraction completes is released; misuse
changes nothing; the handle, its index and an Alternative it guards are stale afterwards; the
index is handed out again by a later expand. Native package only (uses `region` from conftest.py)."""

import multiprocessing
import threading
import time

import pytest

import muster

STEP = 20.0  # seconds any single blocking step may take before the test fails


def emisuse(call):
    with pytest.raises(muster.MusterError) as info:
        call()
    assert info.value.code == muster.EMISUSE, info.value


def test_contract_self_releases_the_partner_and_leaves_a_stale_handle(region):
    region.alting_create("leave", 1)
    base = region.alting_attach("leave", 0)
    first = base.expand(2)
    assert first == [1, 2]
    a = region.alting_attach("leave", 1)
    alt = muster.Alternative([a])
    # Resigned: misuse, and nothing changed (it is still resigned, so enroll works).
    a.resign()
    emisuse(a.contract)
    a.enroll()

    # Front-end 2 offers from another thread; with base resigned only a holds it up.
    base.resign()
    fired = []

    def partner():
        with region.alting_attach("leave", 2) as two:
            fired.append(two.poll(STEP))

    t = threading.Thread(target=partner, daemon=True)
    t.start()
    time.sleep(0.05)
    assert fired == []  # still waiting for a
    a.contract()  # completes the barrier: the partner's poll fires
    t.join(STEP)
    assert not t.is_alive(), "the partner's poll was not released by contract()"
    assert fired == [True]
    base.enroll()
    assert base.completions == 1

    # Stale afterwards: the handle, its index, and the Alternative it guards.
    emisuse(a.contract)
    emisuse(a.enroll)
    emisuse(lambda: a.poll(0))
    emisuse(lambda: alt.select(0))
    emisuse(lambda: region.alting_attach("leave", 1))
    # The expansion [1, 2] lost a member: it cannot be contracted as a whole any more.
    emisuse(lambda: base.contract(first))
    # Index 1 is handed out again; the old handle stays stale.
    assert base.expand(1) == [1]
    emisuse(lambda: a.poll(0))
    with region.alting_attach("leave", 1) as again:
        again.contract()
    # Front-end 2 (unowned now) leaves too; base alone fires.
    with region.alting_attach("leave", 2) as two:
        two.contract()
    assert base.poll(0) is True
    alt.close()
    a.close()  # a stale handle still closes
    assert a.closed
    base.close()


def test_contract_arguments(region):
    region.alting_create("args", 1)
    with region.alting_attach("args", 0) as fe:
        with pytest.raises(ValueError):
            fe.contract(n=2)  # n without first
        new = fe.expand(2)
        fe.contract(new)  # the expansion form still works
        assert fe.poll(0) is True
        fe.contract()  # the last front-end may leave too
        emisuse(lambda: fe.poll(0))


def _leave(name, ready):
    with muster.Region.open(name) as r:
        with r.alting_attach("proc", 1) as fe:
            ready.set()
            fe.contract()


def test_contract_from_another_process(region):
    region.alting_create("proc", 1)
    base = region.alting_attach("proc", 0)
    assert base.expand(1) == [1]
    assert base.poll(0) is False  # front-end 1 is enrolled and not offering
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    p = ctx.Process(target=_leave, args=(region.name, ready))
    p.start()
    try:
        assert ready.wait(STEP), "the child did not attach"
        # Fires once the child's contract() leaves base the only enrolled front-end (at once if
        # it already has).
        assert base.poll(STEP) is True
        p.join(STEP)
        assert p.exitcode == 0
    finally:
        if p.is_alive():
            p.kill()
            p.join()
    assert base.poll(0) is True
    emisuse(lambda: region.alting_attach("proc", 1))
    base.close()
