package org.muster;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One front-end of an alting barrier shared between threads and processes, shaped like JCSP's
 * {@code org.jcsp.lang.AltingBarrier}: the barrier fires when every enrolled front-end offers
 * it, by {@link #sync()} (committed), {@link #poll(long)} (bounded), or as a {@link Guard} of an
 * {@link Alternative} beside other barriers, channels, {@link Skip} and a {@link CSTimer}. All
 * parties of one event see the same ticket ({@link Alternative#lastTicket()}).
 *
 * <p><b>Ownership.</b> A front-end is used by one thread at a time, its owner (libmuster's
 * per-thread rule). The first thread that uses an unowned front-end becomes its owner (the
 * front-ends from {@link #create} and {@link #expand} start unowned, as in JCSP); another thread
 * gets {@link AltingBarrierError}. To hand a front-end over, the owner calls {@link #release()}
 * (it stays enrolled) and the receiver {@link #mark()}s it (JCSP's {@code mark}). A front-end
 * can also be attached by index in another JVM ({@link Region#altingAttach}); one whose owning
 * process died stays enrolled until some process attaches it or {@link #reset()}s it.
 *
 * <p>Misuse (enrolling an enrolled front-end, resigning a resigned one, syncing while resigned,
 * another thread's front-end, contracting what no expansion delivered, contracting a resigned
 * front-end) throws {@link AltingBarrierError} and changes nothing: the barrier stays usable,
 * unlike JCSP's.
 */
public final class AltingBarrier implements Guard, AutoCloseable {
    private final Region region;
    private final String name;
    private final byte[] cname;
    private final int index;
    private volatile long handle;
    private volatile Thread owner;
    private volatile boolean discarded;
    /** Open Alternatives holding this front-end as a guard (touched by the owner only). */
    int guardUses;
    /** The front-ends each {@link #expand(int)} through this object delivered, by first index. */
    private final Map<Integer, AltingBarrier[]> expansions = new HashMap<>();

    AltingBarrier(Region region, String name, int index) {
        if (index < 0) {
            throw new IllegalArgumentException("index must be >= 0");
        }
        this.region = region;
        this.name = name;
        this.cname = Lib.name(name);
        this.index = index;
    }

    /**
     * Creates the alting barrier {@code name} in {@code region} with {@code n} enrolled,
     * unowned front-ends and returns them (JCSP {@code AltingBarrier.create(n)}); give one to
     * each party. Other JVMs attach theirs with {@link Region#altingAttach(String, int)}.
     * {@link AlreadyExistsException} if the name is taken.
     */
    public static AltingBarrier[] create(Region region, String name, int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("n must be > 0");
        }
        MusterException.check(Lib.muster_alting_create(region.handle(), Lib.name(name), n));
        AltingBarrier[] fronts = new AltingBarrier[n];
        for (int i = 0; i < n; i++) {
            fronts[i] = new AltingBarrier(region, name, i);
        }
        return fronts;
    }

    private AltingBarrierError notOwner(Thread t) {
        Thread o = owner;
        return new AltingBarrierError(this + " is owned by thread \"" + (o == null ? "?" : o.getName())
                + "\", not by \"" + t.getName() + "\": release() it on its owner, then mark() it here");
    }

    /** The native handle for the calling thread, attaching (marking) an unowned front-end. */
    long h() {
        if (discarded) {
            throw new AltingBarrierError(this + " was contracted: it fronts nothing");
        }
        Thread t = Thread.currentThread();
        long h = handle;
        if (h != 0) {
            if (owner != t) {
                throw notOwner(t);
            }
            return h;
        }
        return attach(t);
    }

    private synchronized long attach(Thread t) {
        if (handle != 0) {
            throw notOwner(t);
        }
        long[] out = new long[1];
        int rc = Lib.muster_alting_attach(region.handle(), cname, index, out);
        if (rc == Codes.EMISUSE) {
            throw new AltingBarrierError("attaching " + this + " (another live thread or process owns it)",
                    MusterException.of(rc));
        }
        MusterException.check(rc);
        owner = t;
        handle = out[0];
        return out[0];
    }

    private int check(int rc, String what) {
        if (rc == Codes.EMISUSE) {
            throw new AltingBarrierError(what + " on " + this, MusterException.of(rc));
        }
        return MusterException.check(rc);
    }

    /**
     * Takes ownership for the calling thread (JCSP {@code mark}); a no-op if it owns the
     * front-end already. The previous owner must have {@link #release()}d it.
     */
    public void mark() {
        if (discarded) {
            throw new AltingBarrierError(this + " was contracted: it fronts nothing");
        }
        Thread t = Thread.currentThread();
        if (handle != 0) {
            if (owner != t) {
                throw notOwner(t);
            }
            return;
        }
        attach(t);
    }

    /**
     * Gives up the calling thread's ownership; the front-end stays enrolled (its partners wait
     * for it) until another thread {@link #mark()}s it or a process attaches its index. Not
     * while it is a guard of an open {@link Alternative}.
     */
    public void release() {
        long h = handle;
        if (h == 0) {
            return;
        }
        Thread t = Thread.currentThread();
        if (owner != t) {
            throw notOwner(t);
        }
        if (guardUses > 0) {
            throw new AltingBarrierError(this + " is a guard of " + guardUses
                    + " open Alternative(s): close them before releasing it");
        }
        check(Lib.muster_alting_close(h), "release");
        synchronized (this) {
            handle = 0;
            owner = null;
        }
    }

    /** {@link #release()}: the front-end stays enrolled. For try-with-resources on the owner. */
    @Override
    public void close() {
        release();
    }

    /** Offers the barrier and blocks until it fires (every enrolled front-end offered it). */
    public void sync() {
        check(Lib.muster_alting_sync(h()), "sync");
    }

    /**
     * Offers the barrier for at most {@code offerTime} milliseconds (JCSP {@code poll}); true if
     * it fired. 0 fires only if every other enrolled front-end is offering already.
     */
    public boolean poll(long offerTime) {
        return poll(offerTime, TimeUnit.MILLISECONDS);
    }

    /** {@link #poll(long)} with a unit. */
    public boolean poll(long offerTime, TimeUnit unit) {
        if (offerTime < 0) {
            throw new IllegalArgumentException("offerTime must be >= 0");
        }
        return check(Lib.muster_alting_poll(h(), unit.toNanos(offerTime)), "poll") == 1;
    }

    /** Enrolls this resigned front-end again (AltingBarrierError if it is enrolled). */
    public void enroll() {
        check(Lib.muster_alting_enroll(h()), "enroll");
    }

    /** Resigns: the others may complete the barrier without it (AltingBarrierError if resigned). */
    public void resign() {
        check(Lib.muster_alting_resign(h()), "resign");
    }

    /**
     * Adds {@code n} enrolled, unowned front-ends (JCSP {@code expand(n)}) and returns them;
     * give them to the new parties, which use them (or {@link #mark()} them) on their threads.
     * Keep the array for {@link #contract(AltingBarrier[])}.
     */
    public AltingBarrier[] expand(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("n must be > 0");
        }
        long h = h();
        int[] first = new int[1];
        check(Lib.muster_alting_expand(h, n, first), "expand");
        int count = check(Lib.muster_alting_expanded(h, first[0], null, 0), "expand");
        int[] idx = new int[count];
        count = Math.min(count, check(Lib.muster_alting_expanded(h, first[0], idx, count), "expand"));
        AltingBarrier[] fronts = new AltingBarrier[count];
        for (int i = 0; i < count; i++) {
            fronts[i] = new AltingBarrier(region, name, idx[i]);
        }
        expansions.put(first[0], fronts.clone());
        return fronts;
    }

    /** Adds one front-end (JCSP {@code expand()}). */
    public AltingBarrier expand() {
        return expand(1)[0];
    }

    /**
     * Removes the front-ends of one earlier expansion (JCSP {@code contract(ab)}): {@code ab}
     * must hold the front-ends one {@link #expand(int)} (or {@link #expand()}) through this
     * object returned, in order. The
     * removed front-ends front nothing afterwards. This may complete the barrier.
     */
    public void contract(AltingBarrier[] ab) {
        if (ab == null || ab.length == 0) {
            throw new IllegalArgumentException("no front-ends to contract");
        }
        long h = h();
        Integer first = null;
        for (Map.Entry<Integer, AltingBarrier[]> e : expansions.entrySet()) {
            if (Arrays.equals(e.getValue(), ab)) { // the same front-end objects, in order
                first = e.getKey();
            }
        }
        if (first == null) {
            throw new AltingBarrierError("contract on " + this
                    + ": these front-ends are not one expansion delivered by expand() on this front-end");
        }
        check(Lib.muster_alting_contract(h, first, ab.length), "contract");
        expansions.remove(first);
        for (AltingBarrier a : ab) {
            a.discarded = true;
        }
    }

    /**
     * Removes this front-end from the barrier for good (JCSP {@code contract()}): the barrier
     * waits for one party less from now on, and this call completes it if every other enrolled
     * front-end is offering. For a party given its front-end by {@link #expand()} (or {@link
     * #create}) that is about to terminate; one that may come back {@link #resign()}s instead.
     * Afterwards the front-end fronts nothing: every call on it, in any JVM, throws {@link
     * AltingBarrierError}, and the expansion it came from can no longer be given to {@link
     * #contract(AltingBarrier[])} (its other members leave this way too).
     *
     * <p>Throws {@link AltingBarrierError} and changes nothing if the front-end is resigned,
     * contracted already, owned by another thread, or a guard of an open {@link Alternative}.
     */
    public void contract() {
        long h = h();
        if (guardUses > 0) {
            throw new AltingBarrierError(this + " is a guard of " + guardUses
                    + " open Alternative(s): close them before contracting it");
        }
        check(Lib.muster_alting_contract_self(h), "contract");
        discarded = true;
        // It fronts nothing now; closing the handle on its own thread cannot be refused.
        int rc = Lib.muster_alting_close(h);
        synchronized (this) {
            handle = 0;
            owner = null;
        }
        MusterException.check(rc);
    }

    /**
     * Recycles this front-end whose owner terminated (JCSP {@code reset}): enrolled and unowned
     * again. If the calling thread owns it, it is released first. Not for handing over between
     * live threads ({@link #release()} and {@link #mark()} do that).
     */
    public void reset() {
        if (discarded) {
            throw new AltingBarrierError(this + " was contracted: it fronts nothing");
        }
        if (handle != 0) {
            Thread o = owner;
            if (o == Thread.currentThread()) {
                release();
            } else if (o != null && o.isAlive()) {
                throw new AltingBarrierError("reset of " + this + ": its owner \"" + o.getName()
                        + "\" is alive (hand it over with release() and mark())");
            } else {
                // The owning thread ended without releasing: its native handle cannot be closed
                // from here (libmuster's per-thread rule); forget it (a small leak) and reset.
                synchronized (this) {
                    handle = 0;
                    owner = null;
                }
            }
        }
        region.altingReset(name, index);
    }

    /** This front-end's index within its barrier. */
    public int index() {
        return index;
    }

    /** How many times the barrier has fired (its latest ticket); a snapshot. */
    public long completions() {
        long[] out = new long[1];
        check(Lib.muster_alting_completions(h(), out), "completions");
        return out[0];
    }

    /** The barrier's name. */
    public String getName() {
        return name;
    }

    /** Whether a thread owns this front-end through this object. */
    public boolean isMarked() {
        return handle != 0;
    }

    @Override
    public String toString() {
        return "AltingBarrier[" + name + "#" + index + "]";
    }
}
