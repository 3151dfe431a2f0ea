package org.muster;

/** {@code MUSTER_EMISUSE}: the call breaks the API's rules (enrolling twice, using a per-thread handle on another thread, ...). Alting barrier misuse is reported as {@link AltingBarrierError} (JCSP's name) with this as the cause. */
public class MisuseException extends MusterException {
    private static final long serialVersionUID = 1L;

    public MisuseException(int code, String detail) {
        super(code, detail);
    }
}
