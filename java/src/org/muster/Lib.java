package org.muster;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.File;

/**
 * The C ABI of libmuster (include/muster.h), bound with JNA direct mapping ({@link
 * Native#register}): static natives, so a call costs one JNI transition plus JNA's argument
 * marshalling (about 0.14 us against 0.02 us for hand-written JNI; BENCHMARKS.md, "Java").
 * Handles are passed as {@code long} addresses (64-bit platforms only), out-parameters as
 * one-element primitive arrays, names as NUL-terminated UTF-8 byte arrays, and
 * {@code muster_region_config} as its sixteen {@code uint32_t} fields in an {@code int[]}.
 *
 * <p>Where the library comes from, in order: the system property {@code muster.lib} or the
 * environment variable {@code MUSTER_LIB} (the path of libmuster.so itself), {@code
 * MUSTER_PREFIX} (an install prefix: {@code PREFIX/lib/libmuster.so.0}), then JNA's search for
 * "muster" ({@code jna.library.path}, the system's loader path, and the {@code
 * linux-x86-64/libmuster.so} that java/build.sh puts into the jar).
 */
final class Lib {
    private Lib() {}

    /** The SONAME major version this binding is written for. */
    static final int ABI_MAJOR = 0;

    static final String PATH;

    static {
        if (Native.POINTER_SIZE != 8) {
            throw new UnsatisfiedLinkError("the Muster Java binding needs a 64-bit JVM");
        }
        NativeLibrary lib = NativeLibrary.getInstance(locate());
        Native.register(Lib.class, lib);
        PATH = lib.getFile() != null ? lib.getFile().getPath() : lib.getName();
        String v = muster_version().getString(0, "UTF-8");
        if (!v.startsWith(ABI_MAJOR + ".")) {
            throw new UnsatisfiedLinkError(
                    PATH + " is libmuster " + v + "; this binding needs " + ABI_MAJOR + ".x");
        }
    }

    private static String locate() {
        String p = System.getProperty("muster.lib");
        if (p == null || p.isEmpty()) {
            p = System.getenv("MUSTER_LIB");
        }
        if (p != null && !p.isEmpty()) {
            return p;
        }
        String prefix = System.getenv("MUSTER_PREFIX");
        if (prefix != null && !prefix.isEmpty()) {
            for (String dir : new String[] {"lib", "lib64"}) {
                File f = new File(new File(prefix, dir), "libmuster.so." + ABI_MAJOR);
                if (f.exists()) {
                    return f.getPath();
                }
            }
        }
        return "muster";
    }

    // --- library, errors
    static native Pointer muster_version();

    static native Pointer muster_strerror(int code);

    static native int muster_last_error_message(byte[] buf, long len);

    static native int muster_last_peer_pid();

    // --- regions
    static native int muster_region_config_init(int[] config);

    static native int muster_region_create(byte[] name, int[] config, long[] out);

    static native int muster_region_open(byte[] name, long[] out);

    static native int muster_region_open_or_create(byte[] name, int[] config, long[] out);

    static native int muster_region_close(long region);

    static native int muster_region_unlink(byte[] name);

    // --- barriers
    static native int muster_barrier_open(long region, byte[] name, int parties, long[] out);

    static native int muster_barrier_close(long barrier);

    static native int muster_barrier_enroll(long barrier);

    static native int muster_barrier_resign(long barrier);

    static native int muster_barrier_wait(long barrier);

    static native int muster_barrier_wait_timeout(long barrier, long timeoutNs);

    static native int muster_barrier_abort(long barrier);

    static native int muster_barrier_reset(long barrier);

    static native int muster_barrier_parties(long barrier);

    static native int muster_barrier_waiting(long barrier);

    static native int muster_barrier_broken(long barrier);

    static native int muster_barrier_is_member(long barrier);

    static native int muster_barrier_generation(long barrier, long[] out);

    static native int muster_barrier_arrive(long barrier, long[] ticketOut);

    static native int muster_barrier_await(long barrier, long ticket, long timeoutNs);

    static native int muster_barrier_is_complete(long barrier, long ticket);

    static native int muster_barrier_arrive_and_drop(long barrier);

    /** {@code muster_action_fn}: a completion action; non-zero breaks the generation. */
    interface ActionFn extends com.sun.jna.Callback {
        int invoke(Pointer arg);
    }

    static native int muster_barrier_set_action(long barrier, ActionFn action, Pointer arg);

    // --- alting barriers
    static native int muster_alting_create(long region, byte[] name, int n);

    static native int muster_alting_attach(long region, byte[] name, int index, long[] out);

    static native int muster_alting_close(long frontend);

    static native int muster_alting_reset(long region, byte[] name, int index);

    static native int muster_alting_enroll(long frontend);

    static native int muster_alting_resign(long frontend);

    static native int muster_alting_sync(long frontend);

    static native int muster_alting_poll(long frontend, long offerNs);

    static native int muster_alting_expand(long frontend, int n, int[] firstIndex);

    static native int muster_alting_expanded(long frontend, int first, int[] indices, int cap);

    static native int muster_alting_contract(long frontend, int firstIndex, int n);

    static native int muster_alting_contract_self(long frontend);

    static native int muster_alting_index(long frontend);

    static native int muster_alting_completions(long frontend, long[] out);

    // --- channels
    static native int muster_channel_open(
            long region, byte[] name, int capacity, int flags, long[] out);

    static native int muster_channel_close(long channel);

    static native int muster_channel_write(long channel, long value);

    static native int muster_channel_try_write(long channel, long value);

    static native int muster_channel_read(long channel, long timeoutNs, long[] out);

    static native int muster_channel_try_read(long channel, long[] out);

    // --- Alternatives
    static native int muster_alt_create(long[] out);

    static native int muster_alt_destroy(long alt);

    static native int muster_alt_add_alting(long alt, long frontend);

    static native int muster_alt_add_channel(long alt, long channel);

    static native int muster_alt_add_skip(long alt);

    static native int muster_alt_select(long alt, int mode, long timeoutNs);

    static native int muster_alt_ticket(long alt, int[] out);

    static native int muster_alt_count(long alt);

    /** A name as the NUL-terminated UTF-8 bytes the C API takes. */
    static byte[] name(String name) {
        if (name == null) {
            throw new NullPointerException("name");
        }
        if (name.indexOf('\0') >= 0) {
            throw new InvalidNameException(Codes.ENAME, "name contains a NUL character");
        }
        byte[] utf8 = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] z = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, z, 0, utf8.length);
        return z;
    }
}
