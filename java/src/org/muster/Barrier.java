package org.muster;

import java.util.concurrent.TimeUnit;

/**
 * A Grinder barrier ({@code net.grinder.script.Barrier}) across processes: every instance of
 * the barrier {@code name}, in any JVM, is one party; {@link #await()} blocks until every
 * instance not cancelled has called it. Made by {@link Region#barrier(String)}.
 *
 * <p>Built on a Muster membership barrier: an instance is an enrolled member handle. A timed
 * {@link #await(long, TimeUnit)} that expires cancels the instance (it resigns, so the others no
 * longer wait for it) and returns false, as in The Grinder; {@link #cancel()} does the same at
 * once. A cancelled instance's {@code await} throws {@link CancelledBarrierException}. If a
 * member process dies while others wait, they get {@link PeerDiedException} and the barrier is
 * broken ({@link BarrierBrokenException}) until someone calls {@link #reset()}.
 *
 * <p>Thread-safety: an instance stands for one party; one thread at a time awaits it (each
 * worker thread makes its own instance, as in The Grinder).
 */
public final class Barrier implements AutoCloseable {
    private final String name;
    private long handle;

    Barrier(Region region, String name) {
        this.name = name;
        long[] out = new long[1];
        MusterException.check(Lib.muster_barrier_open(region.handle(), Lib.name(name), 0, out));
        int rc = Lib.muster_barrier_enroll(out[0]);
        if (rc < 0) {
            MusterException e = MusterException.of(rc);
            Lib.muster_barrier_close(out[0]);
            throw e;
        }
        handle = out[0];
    }

    private long h() {
        long h = handle;
        if (h == 0) {
            throw new IllegalStateException("barrier " + name + " is closed");
        }
        return h;
    }

    /** Waits until every instance of this barrier (not cancelled) has arrived. */
    public void await() {
        MusterException.check(Lib.muster_barrier_wait(h()));
    }

    /**
     * Waits at most {@code timeout}; returns false if it expired, which cancels this instance
     * (the others stop waiting for it). If the barrier completes while the timeout is being
     * handled, the wait succeeds instead.
     */
    public boolean await(long timeout, TimeUnit unit) {
        if (timeout < 0) {
            throw new IllegalArgumentException("timeout must be >= 0");
        }
        int rc = Lib.muster_barrier_wait_timeout(h(), unit.toNanos(timeout));
        if (rc == Codes.ETIMEDOUT) {
            return false;
        }
        MusterException.check(rc);
        return true;
    }

    /** {@link #await(long, TimeUnit)} in milliseconds. */
    public boolean await(long timeoutMillis) {
        return await(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Cancels this instance: the others no longer wait for it. Idempotent. */
    public void cancel() {
        long h = h();
        if (MusterException.check(Lib.muster_barrier_is_member(h)) == 1) {
            MusterException.check(Lib.muster_barrier_resign(h));
        }
    }

    /** Whether this instance was cancelled (by {@link #cancel()} or a timeout). */
    public boolean isCancelled() {
        return MusterException.check(Lib.muster_barrier_is_member(h())) == 0;
    }

    /** Starts a fresh generation after a break (e.g. a dead member); waiters now get {@link BarrierBrokenException}. */
    public void reset() {
        MusterException.check(Lib.muster_barrier_reset(h()));
    }

    /** The number of instances the barrier now waits for. */
    public int getParties() {
        return MusterException.check(Lib.muster_barrier_parties(h()));
    }

    /** The barrier's name. */
    public String getName() {
        return name;
    }

    /** Releases the handle (cancelling the instance if it is not cancelled). Idempotent; not while a thread awaits it. */
    @Override
    public synchronized void close() {
        long h = handle;
        handle = 0;
        if (h != 0) {
            Lib.muster_barrier_close(h);
        }
    }

    @Override
    public String toString() {
        return "Barrier[" + name + (handle == 0 ? ", closed]" : "]");
    }
}
