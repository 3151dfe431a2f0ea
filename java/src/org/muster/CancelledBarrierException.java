package org.muster;

/** {@code MUSTER_ECANCELLED} (The Grinder's name): this barrier instance was cancelled, by {@link Barrier#cancel()} or a timed-out {@link Barrier#await(long)}; a cancelled instance cannot be waited on (open a new one). */
public class CancelledBarrierException extends MusterException {
    private static final long serialVersionUID = 1L;

    public CancelledBarrierException(int code, String detail) {
        super(code, detail);
    }
}
