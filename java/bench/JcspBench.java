import org.jcsp.lang.AltingBarrier;
import org.jcsp.lang.Alternative;
import org.jcsp.lang.CSTimer;
import org.jcsp.lang.Guard;

/**
 * The JCSP 1.1-rc4 baseline (Debian's libjcsp-java) of the Java benchmark: the same workloads
 * as MusterBench with threads of one JVM (JCSP's alting barriers work only there).
 * {@code gold SECONDS}: Goldsmith with three threads; {@code sync N ITERS}: N threads syncing.
 * Each ends with a line "RESULT key rate" for java/bench/run.sh's table.
 */
public final class JcspBench {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("gold")) {
            gold(Double.parseDouble(args[1]));
        } else {
            sync(Integer.parseInt(args[1]), Long.parseLong(args[2]));
        }
    }

    static void gold(double seconds) throws Exception {
        AltingBarrier[][] ev = new AltingBarrier[3][];
        for (int k = 0; k < 3; k++) {
            ev[k] = AltingBarrier.create(2);
        }
        long[] counts = new long[3];
        double[] secs = new double[3];
        long deadline = System.currentTimeMillis() + (long) (seconds * 1000);
        Thread[] ts = new Thread[3];
        for (int i = 0; i < 3; i++) {
            final int me = i;
            ts[i] = new Thread(() -> {
                CSTimer tim = new CSTimer();
                tim.setAlarm(deadline);
                Alternative alt = new Alternative(new Guard[] {ev[me][0], ev[(me + 2) % 3][1], tim});
                long n = 0;
                long t0 = System.nanoTime();
                while (alt.fairSelect() != 2) {
                    n++;
                }
                counts[me] = n;
                secs[me] = (System.nanoTime() - t0) / 1e9;
            });
        }
        for (Thread t : ts) {
            t.start();
        }
        for (Thread t : ts) {
            t.join();
        }
        long events = (counts[0] + counts[1] + counts[2]) / 2;
        double s = Math.max(secs[0], Math.max(secs[1], secs[2]));
        System.out.printf("jcsp goldsmith 3 threads: %.0f events/s (%d events in %.2f s)%n",
                events / s, events, s);
        System.out.printf("RESULT jcsp-gold %.0f%n", events / s);
        System.exit(0); // JCSP's timer thread may linger
    }

    static void sync(int n, long iters) throws Exception {
        AltingBarrier[] ab = AltingBarrier.create(n);
        double[] secs = new double[n];
        Thread[] ts = new Thread[n];
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(n);
        for (int i = 0; i < n; i++) {
            final int me = i;
            ts[i] = new Thread(() -> {
                // Warm-up: a tenth of the run, as MusterBench's syncers do.
                for (long k = 0; k < Math.max(100, iters / 10); k++) {
                    ab[me].sync();
                }
                try {
                    start.await();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                long t0 = System.nanoTime();
                for (long k = 0; k < iters; k++) {
                    ab[me].sync();
                }
                secs[me] = (System.nanoTime() - t0) / 1e9;
            });
        }
        for (Thread t : ts) {
            t.start();
        }
        for (Thread t : ts) {
            t.join();
        }
        double s = 0;
        for (double x : secs) {
            s = Math.max(s, x);
        }
        System.out.printf("jcsp AltingBarrier.sync N=%d threads: %.0f syncs/s (%d in %.2f s)%n",
                n, iters / s, iters, s);
        System.out.printf("RESULT jcsp-sync-%d %.0f%n", n, iters / s);
        System.exit(0);
    }
}
