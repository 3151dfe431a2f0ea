package org.muster;

import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * A channel of 64-bit values between threads and processes (any number of writers, one reader
 * at a time), usable as an input {@link Guard} of an {@link Alternative} (JCSP {@code
 * AltingChannelInput}). Made by {@link Region#channel}. A per-thread handle: use and close it on
 * the thread that opened it (others get {@link MisuseException}); other threads and JVMs open
 * their own handle on the same name. Closing leaves the channel and its values in the region.
 */
public final class Channel implements Guard, AutoCloseable {
    /** Flag: a full channel drops its oldest value instead of blocking the writer. */
    public static final int OVERWRITE = 1;
    /** Flag: one-to-one, the first writer is the only one while it lives. */
    public static final int ONE_TO_ONE = 2;

    private final String name;
    private final Thread owner;
    private long handle;
    /** Open Alternatives holding this channel as a guard (owner thread only). */
    int guardUses;
    /** The out-parameter of the reads (owner thread only, so one per handle: no allocation per read). */
    private final long[] out1 = new long[1];

    Channel(Region region, String name, int capacity, int flags) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be > 0");
        }
        this.name = name;
        long[] out = new long[1];
        MusterException.check(
                Lib.muster_channel_open(region.handle(), Lib.name(name), capacity, flags, out));
        this.handle = out[0];
        this.owner = Thread.currentThread();
    }

    long h() {
        Thread t = Thread.currentThread();
        if (t != owner) {
            throw new MisuseException(Codes.EMISUSE, "channel " + name + " belongs to thread \""
                    + owner.getName() + "\", not \"" + t.getName() + "\": open a handle on each thread");
        }
        if (handle == 0) {
            throw new IllegalStateException("channel " + name + " is closed");
        }
        return handle;
    }

    /** Writes {@code value}, blocking while the channel is full (an OVERWRITE channel drops its oldest). */
    public void write(long value) {
        MusterException.check(Lib.muster_channel_write(h(), value));
    }

    /** Writes unless the channel is full; true if written. */
    public boolean tryWrite(long value) {
        return MusterException.check(Lib.muster_channel_try_write(h(), value)) == 1;
    }

    /** Reads the oldest value, blocking until there is one. */
    public long read() {
        MusterException.check(Lib.muster_channel_read(h(), -1, out1));
        return out1[0];
    }

    /** Reads the oldest value, waiting at most {@code timeout}; empty if none came in time. */
    public OptionalLong read(long timeout, TimeUnit unit) {
        if (timeout < 0) {
            throw new IllegalArgumentException("timeout must be >= 0");
        }
        int rc = Lib.muster_channel_read(h(), unit.toNanos(timeout), out1);
        if (rc == Codes.ETIMEDOUT) {
            return OptionalLong.empty();
        }
        MusterException.check(rc);
        return OptionalLong.of(out1[0]);
    }

    /** Reads the oldest value if there is one (after this channel's guard fired, there is). */
    public OptionalLong tryRead() {
        return MusterException.check(Lib.muster_channel_try_read(h(), out1)) == 1
                ? OptionalLong.of(out1[0])
                : OptionalLong.empty();
    }

    /** The channel's name. */
    public String getName() {
        return name;
    }

    /** Closes the handle, on its thread; not while it is a guard of an open Alternative. Idempotent. */
    @Override
    public void close() {
        if (handle == 0) {
            return;
        }
        long h = h();
        if (guardUses > 0) {
            throw new MisuseException(Codes.EMISUSE, "channel " + name
                    + " is a guard of an open Alternative: close that first");
        }
        MusterException.check(Lib.muster_channel_close(h));
        handle = 0;
    }

    @Override
    public String toString() {
        return "Channel[" + name + "]";
    }
}
