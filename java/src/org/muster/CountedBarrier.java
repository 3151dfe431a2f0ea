package org.muster;

import java.lang.ref.Reference;
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
 * <p>Split phase (Phaser-like): {@link #arrive()} arrives and returns at once with an {@link
 * Arrival}; {@link #awaitAdvance(Arrival)} later waits for that generation (a timed one that
 * expires changes nothing); {@link #isComplete(Arrival)} asks without blocking; {@link
 * #arriveAndDeregister()} arrives and leaves (one party less from the next generation).
 *
 * <p>Parties are processes: a JVM becomes a party when one of its handles first arrives, and if
 * it dies before closing its handles the others get {@link BrokenBarrierException} caused by
 * {@link PeerDiedException}. A barrier action ({@link Region#countedBarrier(String, int,
 * Runnable)}) runs in the last arriving thread before anyone is released, as in CyclicBarrier.
 *
 * <p>Thread-safety: any number of threads may await one handle at once (each arrival counts).
 * Waits cannot be interrupted; use the timed forms where that matters.
 */
public final class CountedBarrier implements AutoCloseable {
    private final String name;
    private volatile long handle;
    /** The completion action's native callback; kept here so the JVM does not collect it. */
    private Lib.ActionFn action;
    /** What the barrier action threw in this thread (the cause of its BarrierActionException). */
    private final ThreadLocal<Throwable> actionFailure = new ThreadLocal<>();

    /** One split-phase arrival: its index in the generation (0 for the leader) and its ticket. */
    public record Arrival(int index, long ticket) {}

    CountedBarrier(Region region, String name, int parties, Runnable barrierAction) {
        this(region, name, parties);
        if (barrierAction != null) {
            Lib.ActionFn fn = arg -> {
                try {
                    barrierAction.run();
                    return 0;
                } catch (Throwable t) {
                    actionFailure.set(t); // the action runs in the arriving thread
                    return 1;
                }
            };
            int rc = Lib.muster_barrier_set_action(handle, fn, null);
            if (rc < 0) {
                close();
                throw MusterException.of(rc);
            }
            action = fn;
        }
    }

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
    int waitResult(int rc) throws BrokenBarrierException, TimeoutException {
        if (rc >= 0) {
            return rc;
        }
        MusterException e = MusterException.of(rc);
        if (e instanceof BarrierActionException) {
            Throwable t = actionFailure.get();
            if (t != null) {
                actionFailure.remove();
                e.initCause(t);
            }
        }
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
        } finally {
            Reference.reachabilityFence(this); // keeps the action callback alive during the call
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
        try {
            return waitResult(Lib.muster_barrier_wait_timeout(h(), unit.toNanos(timeout)));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    private int splitResult(int rc) throws BrokenBarrierException {
        try {
            return waitResult(rc);
        } catch (TimeoutException e) {
            throw new IllegalStateException("an untimed call timed out", e);
        } finally {
            Reference.reachabilityFence(this); // the call that produced rc may have run the action
        }
    }

    /** Arrives and returns at once (split phase); await the generation with {@link #awaitAdvance(Arrival)}. */
    public Arrival arrive() throws BrokenBarrierException {
        long[] ticket = new long[1];
        int index = splitResult(Lib.muster_barrier_arrive(h(), ticket));
        return new Arrival(index, ticket[0]);
    }

    /** Waits until the generation of {@code arrival} completes (at once if it has). */
    public void awaitAdvance(Arrival arrival) throws BrokenBarrierException {
        splitResult(Lib.muster_barrier_await(h(), arrival.ticket(), -1L)); // UINT64_MAX: forever
    }

    /**
     * Waits at most {@code timeout} for the generation of {@code arrival}; false if it did not
     * complete in time, which changes nothing (the arrival stands; await again).
     */
    public boolean awaitAdvance(Arrival arrival, long timeout, TimeUnit unit) throws BrokenBarrierException {
        if (timeout < 0) {
            throw new IllegalArgumentException("timeout must be >= 0");
        }
        long ns = Math.min(unit.toNanos(timeout), Long.MAX_VALUE - 1);
        try {
            waitResult(Lib.muster_barrier_await(h(), arrival.ticket(), ns));
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    /** Whether the generation of {@code arrival} has completed, without blocking. */
    public boolean isComplete(Arrival arrival) throws BrokenBarrierException {
        return splitResult(Lib.muster_barrier_is_complete(h(), arrival.ticket())) == 1;
    }

    /**
     * Arrives and leaves (Phaser's name; {@code muster_barrier_arrive_and_drop}): the arrival
     * counts for this generation, and from the next the barrier has one party less. This handle
     * can no longer arrive. Returns the arrival index.
     */
    public int arriveAndDeregister() throws BrokenBarrierException {
        return splitResult(Lib.muster_barrier_arrive_and_drop(h()));
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
        action = null;
    }
}
