package org.muster;

/**
 * A libmuster call failed. Every {@code MUSTER_E*} code has its own subclass (see {@link
 * #of}); {@link #code()} is the code, {@link #detail()} the library's message about this
 * failure ({@code muster_last_error_message}), and the exception's message combines the code's
 * name, {@code muster_strerror} and the detail.
 */
public class MusterException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int code;
    private final String detail;

    public MusterException(int code, String detail) {
        super(text(code, detail));
        this.code = code;
        this.detail = detail == null ? "" : detail;
    }

    private static String text(int code, String detail) {
        String base = Codes.name(code) + " (" + code + "): " + Muster.strerror(code);
        if (detail != null && !detail.isEmpty() && !detail.equals(Muster.strerror(code))) {
            base += ": " + detail;
        }
        return base;
    }

    /** The (negative) MUSTER_E* code. */
    public int code() {
        return code;
    }

    /** The library's detail message for this failure ("" if none). */
    public String detail() {
        return detail;
    }

    /**
     * The exception for {@code code}, with the calling thread's last error message (read it on
     * the thread that got the code, right after the call).
     */
    public static MusterException of(int code) {
        return of(code, Muster.lastErrorMessage());
    }

    static MusterException of(int code, String detail) {
        switch (code) {
            case Codes.EINVAL: return new InvalidArgumentException(code, detail);
            case Codes.ENAME: return new InvalidNameException(code, detail);
            case Codes.EEXIST: return new AlreadyExistsException(code, detail);
            case Codes.ENOENT: return new NotFoundException(code, detail);
            case Codes.EFULL: return new CapacityExceededException(code, detail);
            case Codes.ETIMEDOUT: return new MusterTimeoutException(code, detail);
            case Codes.ECANCELLED: return new CancelledBarrierException(code, detail);
            case Codes.EBROKEN: return new BarrierBrokenException(code, detail);
            case Codes.EPEERDIED:
                return new PeerDiedException(code, detail, Lib.muster_last_peer_pid());
            case Codes.EMISMATCH: return new MismatchException(code, detail);
            case Codes.EVERSION: return new VersionMismatchException(code, detail);
            case Codes.ECORRUPT: return new CorruptRegionException(code, detail);
            case Codes.EMISUSE: return new MisuseException(code, detail);
            case Codes.EPERM: return new PermissionDeniedException(code, detail);
            case Codes.ENOMEM: return new OutOfSharedMemoryException(code, detail);
            case Codes.EIO: return new MusterIOException(code, detail);
            case Codes.EACTION: return new BarrierActionException(code, detail);
            case Codes.EINTERNAL: return new InternalMusterException(code, detail);
            default: return new MusterException(code, detail);
        }
    }

    /** Returns {@code rc} if it is not an error, else throws the matching exception. */
    static int check(int rc) {
        if (rc < 0) {
            throw of(rc);
        }
        return rc;
    }
}
