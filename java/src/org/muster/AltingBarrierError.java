package org.muster;

/**
 * JCSP's {@code AltingBarrierError}: an alting barrier, or an {@link Alternative} holding one,
 * was misused (enrolling an enrolled front-end, resigning a resigned one, syncing while
 * resigned, using a front-end owned by another thread, contracting front-ends that are not one
 * expansion, a barrier offered twice in one select). Unlike JCSP, nothing is left wedged: the
 * call had no effect, and the barrier, its other front-ends and this one stay usable.
 *
 * <p>{@link #getCause()} is the library's {@link MisuseException} when libmuster refused the
 * call, or null when the binding caught the misuse first (e.g. the per-thread rule).
 */
public class AltingBarrierError extends Error {
    private static final long serialVersionUID = 1L;

    public AltingBarrierError(String message) {
        super(message);
    }

    public AltingBarrierError(String message, MusterException cause) {
        super(message + ": " + cause.getMessage(), cause);
    }

    /** The MUSTER_E* code behind it ({@link Codes#EMISUSE} when the binding caught it). */
    public int code() {
        return getCause() instanceof MusterException
                ? ((MusterException) getCause()).code()
                : Codes.EMISUSE;
    }
}
