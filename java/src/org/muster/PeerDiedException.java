package org.muster;

/**
 * {@code MUSTER_EPEERDIED}: a member process died while others waited; the barrier is broken
 * until reset. {@link #pid()} is the dead process (diagnostic only: its pid may be reused).
 */
public class PeerDiedException extends BarrierBrokenException {
    private static final long serialVersionUID = 1L;
    private final int pid;

    public PeerDiedException(int code, String detail, int pid) {
        super(code, detail);
        this.pid = pid;
    }

    /** The dead peer's process id (0 if unknown). */
    public int pid() {
        return pid;
    }
}
