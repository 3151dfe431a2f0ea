package org.muster;

import com.sun.jna.Pointer;

/** Library-wide facts: the loaded libmuster's version and path, and error texts. */
public final class Muster {
    private Muster() {}

    /** The loaded library's version, "MAJOR.MINOR.PATCH". */
    public static String version() {
        return Lib.muster_version().getString(0, "UTF-8");
    }

    /** Where the loaded libmuster came from. */
    public static String libraryPath() {
        return Lib.PATH;
    }

    /** The library's description of a code ({@code muster_strerror}). */
    public static String strerror(int code) {
        Pointer p = Lib.muster_strerror(code);
        return p == null ? "" : p.getString(0, "UTF-8");
    }

    /** The calling thread's last error message ({@code muster_last_error_message}). */
    static String lastErrorMessage() {
        int n = Lib.muster_last_error_message(null, 0);
        if (n <= 0) {
            return "";
        }
        byte[] buf = new byte[n + 1];
        Lib.muster_last_error_message(buf, buf.length);
        return new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Prints the version and library path (a smoke test of the jar). */
    public static void main(String[] args) {
        System.out.println("libmuster " + version() + " from " + libraryPath());
    }
}
