import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * Per-call cost of the ways Java can call libmuster, on one trivial call
 * (muster_version(), which returns a static string's address):
 * JNA direct mapping (Native.register, what the binding uses), JNA interface mapping
 * (Native.load), and plain JNI through a one-function C library (jni_probe.c), the cost a
 * Rust `jni` cdylib would also have. Run by java/bench/callcost.sh.
 */
public final class CallCost {
    /** Direct mapping: static natives bound by Native.register. */
    static final class Direct {
        static {
            Native.register(NativeLibrary.getInstance(System.getProperty("muster.lib")));
        }

        static native long muster_version();
    }

    /** Interface mapping: a proxy per call (reflection and argument conversion). */
    interface Lib extends Library {
        Pointer muster_version();
    }

    static native long jniVersion();

    interface Call {
        long call();
    }

    static double nsPerCall(String what, Call c) {
        long sink = 0;
        for (int i = 0; i < 2_000_000; i++) {
            sink += c.call(); // warm-up: let the JIT compile the call path
        }
        int n = 5_000_000;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            sink += c.call();
        }
        double ns = (System.nanoTime() - t0) / (double) n;
        System.out.printf("%-22s %8.1f ns/call (checksum %d)%n", what, ns, sink);
        return ns;
    }

    public static void main(String[] args) {
        System.load(System.getProperty("jni.probe"));
        Lib lib = Native.load(System.getProperty("muster.lib"), Lib.class);
        nsPerCall("JNI (C probe)", () -> jniVersion());
        nsPerCall("JNA direct", () -> Direct.muster_version());
        nsPerCall("JNA interface", () -> Pointer.nativeValue(lib.muster_version()));
    }
}
