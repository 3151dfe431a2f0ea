package org.muster;

/** {@code MUSTER_EFULL}: a fixed capacity of the region is exhausted (see {@link #detail()} for which). */
public class CapacityExceededException extends MusterException {
    private static final long serialVersionUID = 1L;

    public CapacityExceededException(int code, String detail) {
        super(code, detail);
    }
}
