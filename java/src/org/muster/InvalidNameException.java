package org.muster;

/** {@code MUSTER_ENAME}: a region or object name breaks the naming rules. */
public class InvalidNameException extends MusterException {
    private static final long serialVersionUID = 1L;

    public InvalidNameException(int code, String detail) {
        super(code, detail);
    }
}
