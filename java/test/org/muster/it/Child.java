package org.muster.it;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import org.muster.AltingBarrier;
import org.muster.Alternative;
import org.muster.Barrier;
import org.muster.CSTimer;
import org.muster.CountedBarrier;
import org.muster.Region;

/**
 * The child-JVM programs of the multi-process tests, by role (first argument). Each prints
 * "READY" once its handles are attached, then "EV name ticket" for every barrier event it takes
 * part in, and stops when the parent writes "stop" to its stdin (or stdin closes). A watchdog
 * halts the JVM after 120 s so a wedged child never outlives the test.
 */
public final class Child {
    static volatile boolean stop;
    static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    public static void main(String[] args) throws Exception {
        Thread dog = new Thread(() -> {
            LockSupport.parkNanos(120_000_000_000L);
            System.err.println("watchdog: halting after 120 s");
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        dog.setDaemon(true);
        dog.start();
        Thread in = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    if (l.equals("stop")) {
                        break;
                    }
                }
            } catch (Exception e) {
                // stdin gone: stop as well
            }
            stop = true;
        }, "stdin");
        in.setDaemon(true);
        in.start();
        switch (args[0]) {
            case "ring": ring(args[1], Integer.parseInt(args[2]), args.length > 3 && args[3].equals("start")); break;
            case "gadgets": Gadget1.run(args); break;
            case "selector": selector(args[1], args[2], Integer.parseInt(args[3])); break;
            case "resigner": resigner(args[1], args[2], Integer.parseInt(args[3])); break;
            case "grinder": grinder(args[1], args[2], Integer.parseInt(args[3])); break;
            case "contractor": contractor(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4])); break;
            case "counted": counted(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), args[5]); break;
            default: throw new IllegalArgumentException("unknown role " + args[0]);
        }
    }

    /**
     * Goldsmith's challenge, node {@code i} of three (P, Q, R): events ev0 = {P, Q},
     * ev1 = {Q, R}, ev2 = {R, P}; node i owns front-end 0 of ev{i} and front-end 1 of
     * ev{i+2 mod 3}, and fair-selects between them (plus a 100 ms timer to look at "stop").
     * With {@code start}, the three first meet at the counted barrier "start" (so the first two
     * JVMs up do not trade events while the third is still starting).
     */
    static void ring(String regionName, int i, boolean start) throws Exception {
        try (Region region = Region.open(regionName);
                AltingBarrier mine = region.altingAttach("ev" + i, 0);
                AltingBarrier prev = region.altingAttach("ev" + ((i + 2) % 3), 1)) {
            CSTimer tim = new CSTimer();
            String[] names = {mine.getName(), prev.getName()};
            try (Alternative alt = new Alternative(mine, prev, tim)) {
                OUT.println("READY");
                if (start) {
                    try (CountedBarrier b = region.countedBarrier("start", 3)) {
                        b.await(60, java.util.concurrent.TimeUnit.SECONDS);
                    }
                }
                while (!stop) {
                    tim.setAlarm(tim.read() + 100);
                    int c = alt.fairSelect();
                    if (c < 2) {
                        OUT.println("EV " + names[c] + " " + alt.lastTicket());
                    }
                }
            }
        }
        OUT.println("BYE");
    }

    /** Offers front-end {@code index} of {@code name} in a select loop (100 ms timer for "stop"). */
    static void selector(String regionName, String name, int index) {
        try (Region region = Region.open(regionName);
                AltingBarrier ab = region.altingAttach(name, index)) {
            CSTimer tim = new CSTimer();
            try (Alternative alt = new Alternative(ab, tim)) {
                OUT.println("READY");
                while (!stop) {
                    tim.setAlarm(tim.read() + 100);
                    if (alt.select() == 0) {
                        OUT.println("EV " + name + " " + alt.lastTicket());
                    }
                }
            }
        }
        OUT.println("BYE");
    }

    /**
     * Races resign and enroll against the selectors' offers: resign, pause 0-300 us, enroll,
     * poll for 0-1 ms; ends resigned, so the others go on without it.
     */
    static void resigner(String regionName, String name, int index) {
        Random rnd = new Random();
        long polls = 0;
        long cycles = 0;
        try (Region region = Region.open(regionName);
                AltingBarrier ab = region.altingAttach(name, index)) {
            OUT.println("READY");
            while (!stop) {
                ab.resign();
                LockSupport.parkNanos(rnd.nextInt(300_000));
                ab.enroll();
                if (ab.poll(rnd.nextInt(1_000_000), java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    polls++;
                }
                cycles++;
            }
            ab.resign();
        }
        OUT.println("POLLS " + polls + " " + cycles);
        OUT.println("BYE");
    }

    /**
     * A party given front-end {@code index} by an expansion: {@code rounds} syncs ("EV name
     * ticket" after each), then it leaves for good with {@code contract()} ("CONTRACTED"); a
     * second contract and a sync must both throw AltingBarrierError ("MISUSE refused").
     */
    static void contractor(String regionName, String name, int index, int rounds) {
        try (Region region = Region.open(regionName)) {
            AltingBarrier ab = region.altingAttach(name, index);
            OUT.println("READY");
            for (int r = 0; r < rounds; r++) {
                ab.sync();
                // I am enrolled and not offering: nothing fires between the sync and this read.
                OUT.println("EV " + name + " " + ab.completions());
            }
            ab.contract();
            OUT.println("CONTRACTED");
            int refused = 0;
            for (Runnable misuse : new Runnable[] {ab::contract, ab::sync}) {
                try {
                    misuse.run();
                } catch (org.muster.AltingBarrierError e) {
                    refused++;
                }
            }
            OUT.println(refused == 2 ? "MISUSE refused" : "MISUSE accepted " + (2 - refused));
        }
        OUT.println("BYE");
    }

    /** A Grinder worker: {@code rounds} awaits on barrier {@code name} ("ROUND r" after each), then cancel. */
    static void grinder(String regionName, String name, int rounds) {
        try (Region region = Region.open(regionName); Barrier b = region.barrier(name)) {
            OUT.println("READY");
            for (int r = 0; r < rounds; r++) {
                b.await();
                OUT.println("ROUND " + r);
            }
            b.cancel();
        }
        OUT.println("BYE");
    }

    /**
     * {@code rounds} rounds on a counted barrier, printing "IDX round index" after each; mode
     * "wait" uses await, "split" arrive + awaitAdvance, "hold" awaits and then stays a party
     * without arriving (printing "HOLD") until stopped or killed.
     */
    static void counted(String regionName, String name, int parties, int rounds, String mode)
            throws Exception {
        try (Region region = Region.open(regionName);
                CountedBarrier b = region.countedBarrier(name, parties)) {
            OUT.println("READY");
            for (int r = 0; r < rounds; r++) {
                int idx;
                if (mode.equals("split")) {
                    CountedBarrier.Arrival a = b.arrive();
                    while (!b.isComplete(a)) {
                        Thread.onSpinWait(); // "other work" between arrive and await
                        if (b.awaitAdvance(a, 1, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                            break;
                        }
                    }
                    b.awaitAdvance(a);
                    idx = a.index();
                } else {
                    idx = b.await(60, java.util.concurrent.TimeUnit.SECONDS);
                }
                OUT.println("IDX " + r + " " + idx);
            }
            if (mode.equals("hold")) {
                OUT.println("HOLD");
                while (!stop) {
                    LockSupport.parkNanos(10_000_000L);
                }
            }
        }
        OUT.println("BYE");
    }
}
