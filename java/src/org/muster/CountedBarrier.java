package org.muster;

import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A counted barrier across processes, shaped like {@link java.util.concurrent.CyclicBarrier}:
 * every {@code parties}-th {@link #await()} (from any thread of any process that opened the
 * same name) releases the generation. {@code await} returns the arrival index; exactly one
 * waiter per generation gets 0. A timed-out {@code await} breaks the barrier for everyone (as
 * in CyclicBarrier) until {@link #reset()}; a broken barrier's waiters get {@link
 * BrokenBarrierException} whose cause is the library's {@link BarrierBrokenException} (or
 * {@link PeerDiedException}).
 *
 * <p>Thread-safety: any number of threads may await one handle at once (each arrival counts).
 * Waits cannot be interrupted; use the timed forms where that matters.
 */
public final class CountedBarrier implements AutoCloseable {
    private final String name;
    private volatile long handle;

    CountedBarrier(Region region, String name, int parties) {
        if (parties <= 0) {
            throw new IllegalArgumentException("parties must be > 0");
        }
        this.name = name;
        long[] out = new long[1];
        MusterException.check(
                Lib.muster_barrier_open(region.handle(), Lib.name(name), parties, out));
        handle = out[0];
    }

    long h() {
        long h = handle;
        if (h == 0) {
            throw new IllegalStateException("barrier " + name + " is closed");
        }
        return h;
    }

    static BrokenBarrierException broken(MusterException cause) {
        BrokenBarrierException e = new BrokenBarrierException(cause.getMessage());
        e.initCause(cause);
        return e;
    }

    /** Maps a wait's result: index, or BrokenBarrierException / TimeoutException / MusterException. */
    static int waitResult(int rc) throws BrokenBarrierException, TimeoutException {
        if (rc >= 0) {
            return rc;
        }
        MusterException e = MusterException.of(rc);
        if (e instanceof BarrierBrokenException) {
            throw broken(e);
        }
        if (e instanceof MusterTimeoutException) {
            TimeoutException t = new TimeoutException(e.getMessage());
            t.initCause(e);
            throw t;
        }
        throw e;
    }

    /** Waits until all parties have arrived; returns this arrival's index (0 for one waiter). */
    public int await() throws BrokenBarrierException {
        try {
            return waitResult(Lib.muster_barrier_wait(h()));
        } catch (TimeoutException e) {
            throw new IllegalStateException("untimed wait timed out", e);
        }
    }

    /**
     * Waits at most {@code timeout}; on expiry the barrier breaks for everyone (they get
     * BrokenBarrierException) and this call throws TimeoutException.
     */
    public int await(long timeout, TimeUnit unit) throws BrokenBarrierException, TimeoutException {
        if (timeout < 0) {
            throw new IllegalArgumentException("timeout must be >= 0");
        }
        return waitResult(Lib.muster_barrier_wait_timeout(h(), unit.toNanos(timeout)));
    }

    /** The number of parties a generation waits for. */
    public int getParties() {
        return MusterException.check(Lib.muster_barrier_parties(h()));
    }

    /** The number of arrivals now waiting. */
    public int getNumberWaiting() {
        return MusterException.check(Lib.muster_barrier_waiting(h()));
    }

    /** Whether the barrier is broken (until {@link #reset()}). */
    public boolean isBroken() {
        return MusterException.check(Lib.muster_barrier_broken(h())) == 1;
    }

    /** Starts a fresh generation; current waiters get BrokenBarrierException. */
    public void reset() {
        MusterException.check(Lib.muster_barrier_reset(h()));
    }

    /** Breaks the barrier: current and later waiters get BrokenBarrierException until reset. */
    public void abort() {
        MusterException.check(Lib.muster_barrier_abort(h()));
    }

    /** The number of completed or reset generations (wraps at 2^32). */
    public long generation() {
        long[] out = new long[1];
        MusterException.check(Lib.muster_barrier_generation(h(), out));
        return out[0];
    }

    /** The barrier's name. */
    public String getName() {
        return name;
    }

    /** Releases the handle. Idempotent; no thread may be waiting on it. */
    @Override
    public synchronized void close() {
        long h = handle;
        handle = 0;
        if (h != 0) {
            Lib.muster_barrier_close(h);
        }
    }
}
