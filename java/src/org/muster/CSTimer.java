package org.muster;

/**
 * A timeout guard and clock, like JCSP's {@code CSTimer}: times are milliseconds of {@link
 * System#currentTimeMillis()}. As a guard of an {@link Alternative} it fires when its alarm
 * ({@link #setAlarm}) has passed and no other guard fired first; a timer without an alarm
 * never fires. At most one timer per Alternative.
 */
public final class CSTimer implements Guard {
    private volatile long alarm = Long.MIN_VALUE;

    /** The current time in milliseconds. */
    public long read() {
        return System.currentTimeMillis();
    }

    /** Sets the alarm to the absolute time {@code msecs} (as {@link #read()} tells it). */
    public void setAlarm(long msecs) {
        alarm = msecs;
    }

    /** The alarm as set, or Long.MIN_VALUE if none. */
    public long getAlarm() {
        return alarm;
    }

    /** Removes the alarm: the guard no longer fires. */
    public void clearAlarm() {
        alarm = Long.MIN_VALUE;
    }

    /** Sleeps for {@code msecs} milliseconds. */
    public void sleep(long msecs) {
        after(read() + msecs);
    }

    /** Sleeps until the absolute time {@code msecs}. */
    public void after(long msecs) {
        long left;
        while ((left = msecs - read()) > 0) {
            try {
                Thread.sleep(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The select timeout in nanoseconds for the C API: -1 (none) or the time left (>= 0). */
    long timeoutNs() {
        long a = alarm;
        if (a == Long.MIN_VALUE) {
            return -1;
        }
        long left = a - read();
        return left <= 0 ? 0 : Math.min(left, Long.MAX_VALUE / 1_000_000L) * 1_000_000L;
    }
}
