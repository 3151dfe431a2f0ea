package org.muster;

/** {@code MUSTER_EINTERNAL}: a bug in libmuster was caught at the C boundary. */
public class InternalMusterException extends MusterException {
    private static final long serialVersionUID = 1L;

    public InternalMusterException(int code, String detail) {
        super(code, detail);
    }
}
