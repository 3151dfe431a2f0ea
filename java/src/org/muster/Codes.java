package org.muster;

/** The MUSTER_* constants of include/muster.h (stable values). */
public final class Codes {
    private Codes() {}

    public static final int OK = 0;
    public static final int EINVAL = -1;
    public static final int ENAME = -2;
    public static final int EEXIST = -3;
    public static final int ENOENT = -4;
    public static final int EFULL = -5;
    public static final int ETIMEDOUT = -6;
    public static final int ECANCELLED = -7;
    public static final int EBROKEN = -8;
    public static final int EPEERDIED = -9;
    public static final int EMISMATCH = -10;
    public static final int EVERSION = -11;
    public static final int ECORRUPT = -12;
    public static final int EMISUSE = -13;
    public static final int EPERM = -14;
    public static final int ENOMEM = -15;
    public static final int EIO = -16;
    public static final int EACTION = -17;
    public static final int EINTERNAL = -32;

    static final int SELECT_ARBITRARY = 0;
    static final int SELECT_PRI = 1;
    static final int SELECT_FAIR = 2;

    /** The symbolic name of a code, e.g. "MUSTER_EMISUSE". */
    public static String name(int code) {
        switch (code) {
            case OK: return "MUSTER_OK";
            case EINVAL: return "MUSTER_EINVAL";
            case ENAME: return "MUSTER_ENAME";
            case EEXIST: return "MUSTER_EEXIST";
            case ENOENT: return "MUSTER_ENOENT";
            case EFULL: return "MUSTER_EFULL";
            case ETIMEDOUT: return "MUSTER_ETIMEDOUT";
            case ECANCELLED: return "MUSTER_ECANCELLED";
            case EBROKEN: return "MUSTER_EBROKEN";
            case EPEERDIED: return "MUSTER_EPEERDIED";
            case EMISMATCH: return "MUSTER_EMISMATCH";
            case EVERSION: return "MUSTER_EVERSION";
            case ECORRUPT: return "MUSTER_ECORRUPT";
            case EMISUSE: return "MUSTER_EMISUSE";
            case EPERM: return "MUSTER_EPERM";
            case ENOMEM: return "MUSTER_ENOMEM";
            case EIO: return "MUSTER_EIO";
            case EACTION: return "MUSTER_EACTION";
            case EINTERNAL: return "MUSTER_EINTERNAL";
            default: return "MUSTER_E?(" + code + ")";
        }
    }
}
