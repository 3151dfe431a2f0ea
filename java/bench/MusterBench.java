import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import org.muster.AltingBarrier;
import org.muster.Alternative;
import org.muster.CSTimer;
import org.muster.CountedBarrier;
import org.muster.Region;

/**
 * Muster's side of the Java benchmark (BENCHMARKS.md, "Java"); run by java/bench/run.sh.
 * <ul>
 * <li>{@code gold SECONDS}: Goldsmith's challenge with three JVMs (P, Q, R fair-selecting
 *     between the two alting barriers each shares with a neighbour); events per second.
 * <li>{@code gold-threads SECONDS}: the same with three threads of this JVM (JCSP's setting).
 * <li>{@code sync N ITERS}: N JVMs each calling AltingBarrier.sync ITERS times on one barrier;
 *     syncs (barrier completions) per second.
 * <li>{@code sync-threads N ITERS}: the same with N threads of this JVM (JCSP's setting).
 * </ul>
 * The parent JVM creates the region, starts the child JVMs (same class, role "node"/"syncer"),
 * which meet at a counted barrier, time their loops and print their counts. Each workload ends
 * with a line "RESULT key rate" that java/bench/run.sh makes its table from.
 */
public final class MusterBench {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "gold": gold(Double.parseDouble(args[1])); break;
            case "gold-threads": goldThreads(Double.parseDouble(args[1])); break;
            case "sync": sync(Integer.parseInt(args[1]), Long.parseLong(args[2])); break;
            case "sync-threads": syncThreads(Integer.parseInt(args[1]), Long.parseLong(args[2])); break;
            case "node": node(args[1], Integer.parseInt(args[2]), Double.parseDouble(args[3])); break;
            case "syncer": syncer(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Long.parseLong(args[4])); break;
            default: throw new IllegalArgumentException(args[0]);
        }
    }

    static List<String> runChildren(List<List<String>> roles) throws Exception {
        List<Process> ps = new ArrayList<>();
        for (List<String> r : roles) {
            List<String> cmd = new ArrayList<>();
            cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add("-Dmuster.lib=" + System.getProperty("muster.lib"));
            cmd.add("MusterBench");
            cmd.addAll(r);
            ps.add(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        }
        List<String> out = new ArrayList<>();
        for (Process p : ps) {
            try (BufferedReader br = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
                out.add(br.readLine());
            }
            if (p.waitFor() != 0) {
                throw new IllegalStateException("a child failed");
            }
        }
        return out;
    }

    static void gold(double seconds) throws Exception {
        String name = "java-bench-" + ProcessHandle.current().pid();
        try (Region r = Region.create(name)) {
            for (int k = 0; k < 3; k++) {
                AltingBarrier.create(r, "ev" + k, 2);
            }
            r.countedBarrier("start", 3).close();
            List<List<String>> roles = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                roles.add(List.of("node", name, "" + i, "" + seconds));
            }
            long events = 0;
            double secs = 0;
            StringBuilder shares = new StringBuilder();
            for (String l : runChildren(roles)) {
                String[] f = l.split(" ");
                events += Long.parseLong(f[0]);
                secs = Math.max(secs, Double.parseDouble(f[1]));
                shares.append(shares.length() == 0 ? "" : " / ").append(f[2]);
            }
            // each event is counted by both of its parties
            System.out.printf("muster goldsmith 3 JVMs: %.0f events/s (%d events in %.2f s; ev0 / ev1 / ev2 %s)%n",
                    events / 2 / secs, events / 2, secs, shares);
            System.out.printf("RESULT muster-gold-jvms %.0f%n", events / 2 / secs);
        } finally {
            Region.unlink(name);
        }
    }

    static void goldThreads(double seconds) throws Exception {
        String name = "java-bench-" + ProcessHandle.current().pid();
        try (Region r = Region.create(name)) {
            for (int k = 0; k < 3; k++) {
                AltingBarrier.create(r, "ev" + k, 2);
            }
            r.countedBarrier("start", 3).close();
            long[] counts = new long[3];
            double[] secs = new double[3];
            Thread[] ts = new Thread[3];
            for (int i = 0; i < 3; i++) {
                final int me = i;
                ts[i] = new Thread(() -> {
                    try {
                        String[] f = nodeLoop(r, me, seconds).split(" ");
                        counts[me] = Long.parseLong(f[0]);
                        secs[me] = Double.parseDouble(f[1]);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                ts[i].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            long events = (counts[0] + counts[1] + counts[2]) / 2;
            double s = Math.max(secs[0], Math.max(secs[1], secs[2]));
            System.out.printf("muster goldsmith 3 threads, 1 JVM: %.0f events/s (%d events in %.2f s)%n",
                    events / s, events, s);
            System.out.printf("RESULT muster-gold-threads %.0f%n", events / s);
        } finally {
            Region.unlink(name);
        }
    }

    static void node(String region, int i, double seconds) throws Exception {
        try (Region r = Region.open(region)) {
            System.out.println(nodeLoop(r, i, seconds));
        }
    }

    /** One Goldsmith node's timed loop; returns "events seconds". */
    static String nodeLoop(Region r, int i, double seconds) throws Exception {
        try (AltingBarrier mine = r.altingAttach("ev" + i, 0);
                AltingBarrier prev = r.altingAttach("ev" + ((i + 2) % 3), 1);
                CountedBarrier start = r.countedBarrier("start", 3)) {
            CSTimer tim = new CSTimer();
            long[] per = new long[3];
            try (Alternative alt = new Alternative(mine, prev, tim)) {
                start.await();
                long t0 = System.nanoTime();
                tim.setAlarm(tim.read() + (long) (seconds * 1000));
                int c;
                while ((c = alt.fairSelect()) != 2) {
                    per[c]++;
                }
                // events, seconds, then this node's count of ev{i} (its own event)
                return (per[0] + per[1]) + " " + (System.nanoTime() - t0) / 1e9 + " " + per[0];
            }
        }
    }

    static void sync(int n, long iters) throws Exception {
        String name = "java-bench-" + ProcessHandle.current().pid();
        try (Region r = Region.create(name)) {
            AltingBarrier.create(r, "s", n);
            r.countedBarrier("start", n).close();
            List<List<String>> roles = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                roles.add(List.of("syncer", name, "" + n, "" + i, "" + iters));
            }
            double secs = 0;
            for (String l : runChildren(roles)) {
                secs = Math.max(secs, Double.parseDouble(l));
            }
            System.out.printf("muster AltingBarrier.sync N=%d JVMs: %.0f syncs/s (%d in %.2f s)%n",
                    n, iters / secs, iters, secs);
            System.out.printf("RESULT muster-sync-%d %.0f%n", n, iters / secs);
        } finally {
            Region.unlink(name);
        }
    }

    static void syncer(String region, int n, int i, long iters) throws Exception {
        try (Region r = Region.open(region)) {
            System.out.println(syncLoop(r, n, i, iters));
        }
    }

    /** One party's timed sync loop (after a warm-up); returns its seconds. */
    static double syncLoop(Region r, int n, int i, long iters) throws Exception {
        try (AltingBarrier ab = r.altingAttach("s", i); CountedBarrier start = r.countedBarrier("start", n)) {
            // Warm-up: a tenth of the run, so the JIT has compiled the loop (and its compiler
            // threads are idle again) before the clock starts; JcspBench does the same.
            for (long k = 0; k < Math.max(1000, iters / 10); k++) {
                ab.sync();
            }
            start.await();
            long t0 = System.nanoTime();
            for (long k = 0; k < iters; k++) {
                ab.sync();
            }
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    /** The sync workload with N threads of this JVM (JCSP's setting) instead of N JVMs. */
    static void syncThreads(int n, long iters) throws Exception {
        String name = "java-bench-" + ProcessHandle.current().pid();
        try (Region r = Region.create(name)) {
            AltingBarrier.create(r, "s", n);
            r.countedBarrier("start", n).close();
            double[] secs = new double[n];
            Thread[] ts = new Thread[n];
            for (int i = 0; i < n; i++) {
                final int me = i;
                ts[i] = new Thread(() -> {
                    try {
                        secs[me] = syncLoop(r, n, me, iters);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                ts[i].start();
            }
            double s = 0;
            for (int i = 0; i < n; i++) {
                ts[i].join();
                s = Math.max(s, secs[i]);
            }
            if (s == 0) {
                throw new IllegalStateException("a sync thread failed");
            }
            System.out.printf("muster AltingBarrier.sync N=%d threads of one JVM: %.0f syncs/s (%d in %.2f s)%n",
                    n, iters / s, iters, s);
            System.out.printf("RESULT muster-sync-threads-%d %.0f%n", n, iters / s);
        } finally {
            Region.unlink(name);
        }
    }
}
