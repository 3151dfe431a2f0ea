package org.muster;

/** {@code MUSTER_ECORRUPT}: the region file is malformed, truncated or inconsistent. */
public class CorruptRegionException extends MusterException {
    private static final long serialVersionUID = 1L;

    public CorruptRegionException(int code, String detail) {
        super(code, detail);
    }
}
