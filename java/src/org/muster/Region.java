package org.muster;

/**
 * A named shared-memory region ({@code /dev/shm/<name>}) holding barriers, alting barriers and
 * channels; every JVM (or C, Rust, Python process) that opens the same name shares them.
 * Close it when done (try-with-resources); objects opened from it stay usable after the region
 * handle is closed, except that an {@link AltingBarrier} not yet attached needs it open. The
 * region itself persists until {@link #unlink}.
 *
 * <p>Thread-safety: any number of threads may use one region handle at once; close it only
 * when no other thread uses it.
 */
public final class Region implements AutoCloseable {
    private final String name;
    private volatile long handle;

    private Region(String name, long handle) {
        this.name = name;
        this.handle = handle;
    }

    /** Creates the region ({@link AlreadyExistsException} if it exists) with the defaults. */
    public static Region create(String name) {
        return create(name, new RegionConfig());
    }

    /** Creates the region with {@code config}'s capacities. */
    public static Region create(String name, RegionConfig config) {
        long[] out = new long[1];
        MusterException.check(Lib.muster_region_create(Lib.name(name), config.toNative(), out));
        return new Region(name, out[0]);
    }

    /** Opens an existing region ({@link NotFoundException} if there is none). */
    public static Region open(String name) {
        long[] out = new long[1];
        MusterException.check(Lib.muster_region_open(Lib.name(name), out));
        return new Region(name, out[0]);
    }

    /** Opens the region, creating it with the defaults if needed (racing JVMs share one). */
    public static Region openOrCreate(String name) {
        return openOrCreate(name, new RegionConfig());
    }

    /** Opens the region, creating it with {@code config} if needed. */
    public static Region openOrCreate(String name, RegionConfig config) {
        long[] out = new long[1];
        MusterException.check(
                Lib.muster_region_open_or_create(Lib.name(name), config.toNative(), out));
        return new Region(name, out[0]);
    }

    /** Removes the region's name; attached processes keep working on it. */
    public static void unlink(String name) {
        MusterException.check(Lib.muster_region_unlink(Lib.name(name)));
    }

    /**
     * A Grinder barrier: a new instance of the membership barrier {@code name}, enrolled as
     * one party (The Grinder's {@code grinder.barrier(name)}). See {@link Barrier}.
     */
    public Barrier barrier(String name) {
        return new Barrier(this, name);
    }

    /** A counted barrier released by every {@code parties} arrivals; see {@link CountedBarrier}. */
    public CountedBarrier countedBarrier(String name, int parties) {
        return new CountedBarrier(this, name, parties);
    }

    /**
     * A counted barrier with a barrier action (CyclicBarrier's {@code barrierAction}): when a
     * generation completes and its last arrival came through this handle, {@code action} runs
     * in that thread before anyone is released; if it throws, the generation breaks for every
     * party (BrokenBarrierException caused by {@link BarrierActionException}). Each handle has
     * its own action: give every JVM's handle the same one. The action must not use this barrier.
     */
    public CountedBarrier countedBarrier(String name, int parties, Runnable action) {
        return new CountedBarrier(this, name, parties, action);
    }

    /**
     * Creates the alting barrier {@code name} with {@code n} front-ends; same as {@link
     * AltingBarrier#create(Region, String, int)}.
     */
    public AltingBarrier[] altingCreate(String name, int n) {
        return AltingBarrier.create(this, name, n);
    }

    /** Front-end {@code index} of the alting barrier {@code name}, attached to (owned by) the calling thread. */
    public AltingBarrier altingAttach(String name, int index) {
        AltingBarrier ab = new AltingBarrier(this, name, index);
        ab.mark();
        return ab;
    }

    /**
     * Recycles front-end {@code index} of {@code name} whose owner terminated (JCSP {@code
     * reset}): enrolled and unowned again. Not for live owners (they {@link
     * AltingBarrier#release} and the receiver {@link AltingBarrier#mark}s).
     */
    public void altingReset(String name, int index) {
        if (index < 0) {
            throw new IllegalArgumentException("index must be >= 0");
        }
        int rc = Lib.muster_alting_reset(handle(), Lib.name(name), index);
        if (rc == Codes.EMISUSE) {
            throw new AltingBarrierError("reset of " + name + "[" + index + "]", MusterException.of(rc));
        }
        MusterException.check(rc);
    }

    /** A channel handle of the calling thread on {@code name} (created with {@code capacity} slots if new). */
    public Channel channel(String name, int capacity) {
        return new Channel(this, name, capacity, 0);
    }

    /**
     * As {@link #channel(String, int)} with flags: {@link Channel#OVERWRITE} (a full channel
     * drops its oldest value), {@link Channel#ONE_TO_ONE} (one writer).
     */
    public Channel channel(String name, int capacity, int flags) {
        return new Channel(this, name, capacity, flags);
    }

    /** The region's name. */
    public String getName() {
        return name;
    }

    /** Whether {@link #close} was called. */
    public boolean isClosed() {
        return handle == 0;
    }

    long handle() {
        long h = handle;
        if (h == 0) {
            throw new IllegalStateException("region " + name + " is closed");
        }
        return h;
    }

    /** Closes this handle (idempotent). */
    @Override
    public synchronized void close() {
        long h = handle;
        handle = 0;
        if (h != 0) {
            Lib.muster_region_close(h);
        }
    }

    @Override
    public String toString() {
        return "Region[" + name + (handle == 0 ? ", closed]" : "]");
    }
}
