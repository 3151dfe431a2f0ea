import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import org.muster.AltingBarrier;
import org.muster.Region;

/**
 * Per-call cost of the ways Java can call libmuster. Three calls:
 * <ul>
 * <li>{@code muster_version()}: returns a static string's address (the bare transition);
 * <li>{@code muster_alting_index(fe)}: a front-end handle in, an int out, with libmuster's
 *     per-call checks (NULL, owning thread, fork) but no shared-memory work: the shape of the
 *     binding's hot calls ({@code muster_alting_sync}, {@code muster_alt_select});
 * <li>{@code muster_alting_completions(fe, &out)}: an out-parameter (JNA: a reused {@code
 *     long[1]}, as the binding passes them, or an 8-byte {@code Memory}; JNI: the value as the
 *     result), the shape of channel reads and tickets;
 * <li>{@code muster_alting_poll(fe, 0)} on a one-party alting barrier: a whole barrier
 *     completion (it fires every time), i.e. the cheapest real sync.
 * </ul>
 * each through plain JNI (a small C library, jni_probe.c: what a Rust {@code jni} cdylib would
 * cost too), JNA direct mapping ({@code Native.register}, what the binding uses), JNA interface
 * mapping ({@code Native.load}), and for poll also the binding's public {@code
 * AltingBarrier.poll(0)} (its Java-side checks on top). Run by java/bench/callcost.sh.
 */
public final class CallCost {
    /** Direct mapping: static natives bound by Native.register. */
    static final class Direct {
        static {
            Native.register(NativeLibrary.getInstance(System.getProperty("muster.lib")));
        }

        static native long muster_version();

        static native int muster_region_create(byte[] name, Pointer config, long[] out);

        static native int muster_region_unlink(byte[] name);

        static native int muster_alting_create(long region, byte[] name, int n);

        static native int muster_alting_attach(long region, byte[] name, int index, long[] out);

        static native int muster_alting_index(long fe);

        static native int muster_alting_poll(long fe, long offerNs);

        static native int muster_alting_completions(long fe, long[] out);

        @SuppressWarnings("overloads")
        static native int muster_alting_completions(long fe, Pointer out);
    }

    /** Interface mapping: a proxy per call (reflection and argument conversion). */
    interface Lib extends Library {
        Pointer muster_version();

        int muster_alting_index(long fe);
    }

    static native long jniVersion();

    static native int jniIndex(long fe);

    static native int jniPoll(long fe, long offerNs);

    static native long jniCompletions(long fe);

    interface Call {
        long call();
    }

    /**
     * The fastest of five timed rounds of {@code n / 5} calls each, after {@code n / 2} warm-up
     * calls (the minimum, since other processes only ever add time).
     */
    static double nsPerCall(String what, int n, Call c) {
        long sink = 0;
        for (int i = 0; i < n / 2; i++) {
            sink += c.call(); // warm-up: let the JIT compile the call path
        }
        int per = Math.max(1, n / 5);
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < per; i++) {
                sink += c.call();
            }
            best = Math.min(best, (System.nanoTime() - t0) / (double) per);
        }
        System.out.printf("%-48s %8.1f ns/call (checksum %d)%n", what, best, sink);
        return best;
    }

    static byte[] z(String s) {
        return (s + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static void ok(int rc, String what) {
        if (rc != 0) {
            throw new IllegalStateException(what + " failed: " + rc);
        }
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5_000_000;
        System.load(System.getProperty("jni.probe"));
        Lib lib = Native.load(System.getProperty("muster.lib"), Lib.class);
        String name = "java-callcost-" + ProcessHandle.current().pid();
        long[] out = new long[1];
        ok(Direct.muster_region_create(z(name), null, out), "region_create");
        long region = out[0];
        ok(Direct.muster_alting_create(region, z("one"), 1), "alting_create");
        ok(Direct.muster_alting_attach(region, z("one"), 0, out), "alting_attach");
        long fe = out[0];
        long[] one = new long[1];
        com.sun.jna.Memory mem = new com.sun.jna.Memory(8);
        try (Region r = Region.open(name)) {
            AltingBarrier api = AltingBarrier.create(r, "api", 1)[0];
            double[] v = {
                nsPerCall("version: JNI", n, () -> jniVersion()),
                nsPerCall("version: JNA direct", n, () -> Direct.muster_version()),
                nsPerCall("version: JNA interface", n, () -> Pointer.nativeValue(lib.muster_version())),
                nsPerCall("alting_index(fe): JNI", n, () -> jniIndex(fe)),
                nsPerCall("alting_index(fe): JNA direct", n, () -> Direct.muster_alting_index(fe)),
                nsPerCall("alting_index(fe): JNA interface", n, () -> lib.muster_alting_index(fe)),
                nsPerCall("alting_completions(fe, &out): JNI", n, () -> jniCompletions(fe)),
                nsPerCall("alting_completions(fe, &out): JNA direct", n, () -> {
                    Direct.muster_alting_completions(fe, one);
                    return one[0];
                }),
                nsPerCall("alting_completions(fe, &out): JNA direct, Memory", n, () -> {
                    Direct.muster_alting_completions(fe, mem);
                    return mem.getLong(0);
                }),
                nsPerCall("alting_poll(fe, 0), 1 party: JNI", n, () -> jniPoll(fe, 0)),
                nsPerCall("alting_poll(fe, 0), 1 party: JNA direct", n, () -> Direct.muster_alting_poll(fe, 0)),
                nsPerCall("AltingBarrier.poll(0), 1 party (binding)", n, () -> api.poll(0) ? 1 : 0),
            };
            // One line for BENCHMARKS.md (ns per call).
            StringBuilder line = new StringBuilder("|");
            for (double x : v) {
                line.append(String.format(" %.1f |", x));
            }
            System.out.println(line);
            api.close();
        } finally {
            Direct.muster_region_unlink(z(name));
        }
    }
}
