package org.muster;

/** {@code MUSTER_EVERSION}: the region was created by an incompatible libmuster. */
public class VersionMismatchException extends MusterException {
    private static final long serialVersionUID = 1L;

    public VersionMismatchException(int code, String detail) {
        super(code, detail);
    }
}
