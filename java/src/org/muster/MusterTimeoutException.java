package org.muster;

/** {@code MUSTER_ETIMEDOUT}: a timed wait's deadline passed (where the API does not report a timeout by its return value). */
public class MusterTimeoutException extends MusterException {
    private static final long serialVersionUID = 1L;

    public MusterTimeoutException(int code, String detail) {
        super(code, detail);
    }
}
