package org.muster;

/** {@code MUSTER_ENOMEM}: memory, shared-memory space or address space could not be obtained. */
public class OutOfSharedMemoryException extends MusterException {
    private static final long serialVersionUID = 1L;

    public OutOfSharedMemoryException(int code, String detail) {
        super(code, detail);
    }
}
