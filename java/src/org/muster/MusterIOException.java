package org.muster;

/** {@code MUSTER_EIO}: another operating-system error (see {@link #detail()}). */
public class MusterIOException extends MusterException {
    private static final long serialVersionUID = 1L;

    public MusterIOException(int code, String detail) {
        super(code, detail);
    }
}
