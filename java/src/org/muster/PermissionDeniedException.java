package org.muster;

/** {@code MUSTER_EPERM}: the region file exists but this user may not open it. */
public class PermissionDeniedException extends MusterException {
    private static final long serialVersionUID = 1L;

    public PermissionDeniedException(int code, String detail) {
        super(code, detail);
    }
}
