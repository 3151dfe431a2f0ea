package org.muster;

import java.util.HashMap;
import java.util.Map;

/**
 * CSP external choice among guards, shaped like JCSP's {@code Alternative}: {@link #select()},
 * {@link #priSelect()} and {@link #fairSelect()} wait until one guard is ready and return its
 * index in the array given to the constructor; the forms taking {@code boolean[] preCondition}
 * consider only the guards whose precondition is true (JCSP's pre-conditioned selects). A fired
 * {@link AltingBarrier} means the barrier synchronised for every party ({@link #lastTicket()} is
 * the event's ticket, the same for all of them); a fired {@link Channel} means a value can be
 * read ({@link Channel#tryRead()}); a fired {@link CSTimer} means its alarm passed; {@link Skip}
 * is always ready.
 *
 * <p>A per-thread object (libmuster's rule): construct, select and close it on one thread,
 * with guards that thread owns (an unowned front-end is marked by the constructor). Guards stay
 * open while the Alternative is: close it before releasing them. The choice between barriers
 * is lock-free across processes; a process killed mid-select wedges nobody.
 *
 * <p>Priorities: {@code priSelect} honours the order of channel and skip guards (a ready one
 * beats those after it); as in JCSP, priorities among barrier guards are not honoured. The
 * timer is the lowest priority: it fires only when no other guard is ready at the deadline.
 * Each distinct set of preconditions gets its own native Alternative (made on first use and
 * kept until close), so fair selection rotates within each set.
 */
public final class Alternative implements AutoCloseable {
    /** One native Alternative over a subset of the guards. */
    private static final class Native {
        final long handle;
        /** Native guard index to Java guard index. */
        final int[] toJava;
        /** Whether the timer takes part. */
        final boolean timer;

        Native(long handle, int[] toJava, boolean timer) {
            this.handle = handle;
            this.toJava = toJava;
            this.timer = timer;
        }
    }

    private final Guard[] guards;
    private final Thread owner;
    private final CSTimer timer;
    private final int timerIndex;
    /** Which guards count this Alternative in their guardUses (so close undoes exactly those). */
    private final boolean[] holds;
    private final Native all;
    /** Natives for precondition masks other than all-true, by mask (guards 0..63). */
    private final Map<Long, Native> byMask = new HashMap<>();
    /** The native of the last select (for lastTicket). */
    private Native last;
    /** lastTicket's out-parameter (an Alternative is per-thread: no allocation per call). */
    private final int[] ticketOut = new int[1];
    private boolean closed;

    public Alternative(Guard... guards) {
        if (guards == null || guards.length == 0) {
            throw new IllegalArgumentException("an Alternative needs at least one guard");
        }
        this.guards = guards.clone();
        this.owner = Thread.currentThread();
        this.holds = new boolean[this.guards.length];
        CSTimer tim = null;
        int timIdx = -1;
        for (int i = 0; i < this.guards.length; i++) {
            Guard g = this.guards[i];
            if (g == null) {
                throw new NullPointerException("guard " + i + " is null");
            }
            if (g instanceof CSTimer) {
                if (tim != null) {
                    throw new IllegalArgumentException("at most one CSTimer per Alternative");
                }
                tim = (CSTimer) g;
                timIdx = i;
            }
        }
        this.timer = tim;
        this.timerIndex = timIdx;
        boolean[] every = new boolean[this.guards.length];
        java.util.Arrays.fill(every, true);
        try {
            this.all = build(every);
            for (int i = 0; i < this.guards.length; i++) {
                if (this.guards[i] instanceof AltingBarrier) {
                    ((AltingBarrier) this.guards[i]).guardUses++;
                    holds[i] = true;
                } else if (this.guards[i] instanceof Channel) {
                    ((Channel) this.guards[i]).guardUses++;
                    holds[i] = true;
                }
            }
        } catch (RuntimeException | Error e) {
            closed = true;
            throw e;
        }
        last = all;
    }

    /** A native Alternative over the guards with {@code include[i]}. */
    private Native build(boolean[] include) {
        long[] out = new long[1];
        MusterException.check(Lib.muster_alt_create(out));
        long handle = out[0];
        int[] map = new int[guards.length];
        int n = 0;
        try {
            for (int i = 0; i < guards.length; i++) {
                Guard g = guards[i];
                if (!include[i] || g instanceof CSTimer) {
                    continue;
                }
                int rc;
                if (g instanceof AltingBarrier) {
                    AltingBarrier ab = (AltingBarrier) g;
                    rc = Lib.muster_alt_add_alting(handle, ab.h());
                    if (rc == Codes.EMISUSE) {
                        throw new AltingBarrierError("adding " + ab + " to an Alternative", MusterException.of(rc));
                    }
                    MusterException.check(rc);
                } else if (g instanceof Channel) {
                    rc = MusterException.check(Lib.muster_alt_add_channel(handle, ((Channel) g).h()));
                } else {
                    rc = MusterException.check(Lib.muster_alt_add_skip(handle));
                }
                if (rc != n) {
                    throw new InternalMusterException(Codes.EINTERNAL, "guard numbered " + rc + ", expected " + n);
                }
                map[n++] = i;
            }
        } catch (RuntimeException | Error e) {
            Lib.muster_alt_destroy(handle);
            throw e;
        }
        return new Native(handle, java.util.Arrays.copyOf(map, n), timer != null && include[timerIndex]);
    }

    private void checkThread() {
        Thread t = Thread.currentThread();
        if (t != owner) {
            throw new AltingBarrierError("this Alternative belongs to thread \"" + owner.getName()
                    + "\", not \"" + t.getName() + "\"");
        }
        if (closed) {
            throw new IllegalStateException("the Alternative is closed");
        }
    }

    private Native forPreconditions(boolean[] pre) {
        if (pre == null) {
            return all;
        }
        if (pre.length != guards.length) {
            throw new IllegalArgumentException("preCondition has " + pre.length + " entries for "
                    + guards.length + " guards");
        }
        long mask = 0;
        boolean every = true;
        for (int i = 0; i < pre.length; i++) {
            every &= pre[i];
            if (pre[i]) {
                if (i >= 64) {
                    throw new IllegalArgumentException("preconditions are supported for the first 64 guards");
                }
                mask |= 1L << i;
            }
        }
        if (every) {
            return all;
        }
        Native nat = byMask.get(mask);
        if (nat == null) {
            nat = build(pre.clone());
            byMask.put(mask, nat);
        }
        return nat;
    }

    private int select(int mode, boolean[] pre) {
        checkThread();
        Native nat = forPreconditions(pre);
        long timeout = nat.timer ? timer.timeoutNs() : -1;
        if (timeout < 0 && nat.toJava.length == 0) {
            throw new IllegalStateException("nothing to select: no guard enabled (or only a CSTimer without an alarm)");
        }
        last = nat;
        int rc = Lib.muster_alt_select(nat.handle, mode, timeout);
        if (rc == Codes.ETIMEDOUT && nat.timer) {
            return timerIndex;
        }
        if (rc == Codes.EMISUSE) {
            throw new AltingBarrierError("select", MusterException.of(rc));
        }
        MusterException.check(rc);
        if (rc >= nat.toJava.length) {
            throw new InternalMusterException(Codes.EINTERNAL, "select returned guard " + rc);
        }
        return nat.toJava[rc];
    }

    /** Waits for a guard and returns its index; any ready guard may be chosen. */
    public int select() {
        return select(Codes.SELECT_ARBITRARY, null);
    }

    /** {@link #select()} among the guards whose {@code preCondition} entry is true. */
    public int select(boolean[] preCondition) {
        return select(Codes.SELECT_ARBITRARY, preCondition);
    }

    /** As {@link #select()}, honouring guard order among ready channel and skip guards. */
    public int priSelect() {
        return select(Codes.SELECT_PRI, null);
    }

    /** {@link #priSelect()} among the guards whose {@code preCondition} entry is true. */
    public int priSelect(boolean[] preCondition) {
        return select(Codes.SELECT_PRI, preCondition);
    }

    /** As {@link #select()}, with rotating priority: the guard chosen last has the lowest next time, so no ready guard starves. */
    public int fairSelect() {
        return select(Codes.SELECT_FAIR, null);
    }

    /** {@link #fairSelect()} among the guards whose {@code preCondition} entry is true. */
    public int fairSelect(boolean[] preCondition) {
        return select(Codes.SELECT_FAIR, preCondition);
    }

    /**
     * The ticket (1, 2, ...) of the barrier event the last select fired, the same for every
     * party of that event; 0 if it fired a channel, skip or timer guard.
     */
    public long lastTicket() {
        checkThread();
        int rc = Lib.muster_alt_ticket(last.handle, ticketOut);
        if (rc == Codes.EMISUSE) {
            throw new AltingBarrierError("lastTicket", MusterException.of(rc));
        }
        MusterException.check(rc);
        return ticketOut[0] & 0xffffffffL;
    }

    /** The guards, as given. */
    public Guard[] guards() {
        return guards.clone();
    }

    /** Destroys the native Alternatives (on its thread); its guards stay open. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        checkThread();
        MusterException.check(Lib.muster_alt_destroy(all.handle));
        for (Native nat : byMask.values()) {
            MusterException.check(Lib.muster_alt_destroy(nat.handle));
        }
        byMask.clear();
        closed = true;
        for (int i = 0; i < guards.length; i++) {
            if (!holds[i]) {
                continue;
            }
            holds[i] = false;
            if (guards[i] instanceof AltingBarrier) {
                ((AltingBarrier) guards[i]).guardUses--;
            } else {
                ((Channel) guards[i]).guardUses--;
            }
        }
    }
}
