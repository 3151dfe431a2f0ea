package org.muster;

/** {@code MUSTER_ENOENT}: no region, or no alting barrier, by that name. */
public class NotFoundException extends MusterException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(int code, String detail) {
        super(code, detail);
    }
}
