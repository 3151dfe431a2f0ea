package org.muster;

/** {@code MUSTER_EEXIST}: the region, or a name in it, already exists. */
public class AlreadyExistsException extends MusterException {
    private static final long serialVersionUID = 1L;

    public AlreadyExistsException(int code, String detail) {
        super(code, detail);
    }
}
