package org.muster;

/** {@code MUSTER_EBROKEN}: the barrier is broken (aborted, reset during the wait, or a non-member's timeout) until it is reset. {@link CountedBarrier} reports it as {@link java.util.concurrent.BrokenBarrierException} with this as the cause. */
public class BarrierBrokenException extends MusterException {
    private static final long serialVersionUID = 1L;

    public BarrierBrokenException(int code, String detail) {
        super(code, detail);
    }
}
