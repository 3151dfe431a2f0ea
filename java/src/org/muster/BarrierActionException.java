package org.muster;

/**
 * {@code MUSTER_EACTION}: a completion action failed (a {@link CountedBarrier}'s barrier action
 * threw, in whichever process ran it), so the generation is broken for every party until reset.
 * {@link CountedBarrier} reports it as {@link java.util.concurrent.BrokenBarrierException} with
 * this as the cause; in the JVM that ran the action, this exception's cause is what it threw.
 */
public class BarrierActionException extends BarrierBrokenException {
    private static final long serialVersionUID = 1L;

    public BarrierActionException(int code, String detail) {
        super(code, detail);
    }
}
