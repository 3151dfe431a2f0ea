package org.muster;

/** {@code MUSTER_EINVAL}: an argument is invalid (a value out of range, a bad capacity, a timeout the clock cannot represent). */
public class InvalidArgumentException extends MusterException {
    private static final long serialVersionUID = 1L;

    public InvalidArgumentException(int code, String detail) {
        super(code, detail);
    }
}
