package org.muster;

/**
 * CSP external choice among guards, shaped like JCSP's {@code Alternative}: {@link #select()},
 * {@link #priSelect()} and {@link #fairSelect()} wait until one guard is ready and return its
 * index in the array given to the constructor. A fired {@link AltingBarrier} means the barrier
 * synchronised for every party ({@link #lastTicket()} is the event's ticket, the same for all of
 * them); a fired {@link Channel} means a value can be read ({@link Channel#tryRead()}); a fired
 * {@link CSTimer} means its alarm passed; {@link Skip} is always ready.
 *
 * <p>A per-thread object (libmuster's rule): construct, select and close it on one thread,
 * with guards that thread owns (an unowned front-end is marked by the constructor). Guards stay
 * open while the Alternative is: close it before releasing them. The choice between barriers
 * is lock-free across processes; a process killed mid-select wedges nobody.
 *
 * <p>Priorities: {@code priSelect} honours the order of channel and skip guards (a ready one
 * beats those after it); as in JCSP, priorities among barrier guards are not honoured. The
 * timer is the lowest priority: it fires only when no other guard is ready at the deadline.
 */
public final class Alternative implements AutoCloseable {
    private final Guard[] guards;
    private final Thread owner;
    private final int[] nativeToJava;
    private final CSTimer timer;
    private final int timerIndex;
    /** Which guards count this Alternative in their guardUses (so close undoes exactly those). */
    private final boolean[] holds;
    private long handle;

    public Alternative(Guard... guards) {
        if (guards == null || guards.length == 0) {
            throw new IllegalArgumentException("an Alternative needs at least one guard");
        }
        this.guards = guards.clone();
        this.owner = Thread.currentThread();
        this.holds = new boolean[this.guards.length];
        long[] out = new long[1];
        MusterException.check(Lib.muster_alt_create(out));
        handle = out[0];
        int[] map = new int[this.guards.length];
        int n = 0;
        CSTimer tim = null;
        int timIdx = -1;
        try {
            for (int i = 0; i < this.guards.length; i++) {
                Guard g = this.guards[i];
                if (g == null) {
                    throw new NullPointerException("guard " + i + " is null");
                }
                int rc;
                if (g instanceof AltingBarrier) {
                    AltingBarrier ab = (AltingBarrier) g;
                    rc = Lib.muster_alt_add_alting(handle, ab.h());
                    if (rc == Codes.EMISUSE) {
                        throw new AltingBarrierError("adding " + ab + " to an Alternative", MusterException.of(rc));
                    }
                    MusterException.check(rc);
                    ab.guardUses++;
                    holds[i] = true;
                } else if (g instanceof Channel) {
                    Channel ch = (Channel) g;
                    rc = MusterException.check(Lib.muster_alt_add_channel(handle, ch.h()));
                    ch.guardUses++;
                    holds[i] = true;
                } else if (g instanceof Skip) {
                    rc = MusterException.check(Lib.muster_alt_add_skip(handle));
                } else {
                    if (tim != null) {
                        throw new IllegalArgumentException("at most one CSTimer per Alternative");
                    }
                    tim = (CSTimer) g;
                    timIdx = i;
                    continue;
                }
                if (rc != n) {
                    throw new InternalMusterException(Codes.EINTERNAL, "guard numbered " + rc + ", expected " + n);
                }
                map[n++] = i;
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        this.nativeToJava = java.util.Arrays.copyOf(map, n);
        this.timer = tim;
        this.timerIndex = timIdx;
    }

    private long h() {
        Thread t = Thread.currentThread();
        if (t != owner) {
            throw new AltingBarrierError("this Alternative belongs to thread \"" + owner.getName()
                    + "\", not \"" + t.getName() + "\"");
        }
        if (handle == 0) {
            throw new IllegalStateException("the Alternative is closed");
        }
        return handle;
    }

    private int select(int mode) {
        long h = h();
        long timeout = timer == null ? -1 : timer.timeoutNs();
        if (timeout < 0 && nativeToJava.length == 0) {
            throw new IllegalStateException("nothing to select: only a CSTimer without an alarm");
        }
        int rc = Lib.muster_alt_select(h, mode, timeout);
        if (rc == Codes.ETIMEDOUT && timer != null) {
            return timerIndex;
        }
        if (rc == Codes.EMISUSE) {
            throw new AltingBarrierError("select", MusterException.of(rc));
        }
        MusterException.check(rc);
        if (rc >= nativeToJava.length) {
            throw new InternalMusterException(Codes.EINTERNAL, "select returned guard " + rc);
        }
        return nativeToJava[rc];
    }

    /** Waits for a guard and returns its index; any ready guard may be chosen. */
    public int select() {
        return select(Codes.SELECT_ARBITRARY);
    }

    /** As {@link #select()}, honouring guard order among ready channel and skip guards. */
    public int priSelect() {
        return select(Codes.SELECT_PRI);
    }

    /** As {@link #select()}, with rotating priority: the guard chosen last has the lowest next time, so no ready guard starves. */
    public int fairSelect() {
        return select(Codes.SELECT_FAIR);
    }

    /**
     * The ticket (1, 2, ...) of the barrier event the last select fired, the same for every
     * party of that event; 0 if it fired a channel, skip or timer guard.
     */
    public long lastTicket() {
        int[] out = new int[1];
        int rc = Lib.muster_alt_ticket(h(), out);
        if (rc == Codes.EMISUSE) {
            throw new AltingBarrierError("lastTicket", MusterException.of(rc));
        }
        MusterException.check(rc);
        return out[0] & 0xffffffffL;
    }

    /** The guards, as given. */
    public Guard[] guards() {
        return guards.clone();
    }

    /** Destroys the native Alternative (on its thread); its guards stay open. Idempotent. */
    @Override
    public void close() {
        if (handle == 0) {
            return;
        }
        long h = h();
        MusterException.check(Lib.muster_alt_destroy(h));
        handle = 0;
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
