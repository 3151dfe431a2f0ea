package org.muster;

/** {@code MUSTER_EMISMATCH}: the name exists with another kind of object or another party count. */
public class MismatchException extends MusterException {
    private static final long serialVersionUID = 1L;

    public MismatchException(int code, String detail) {
        super(code, detail);
    }
}
