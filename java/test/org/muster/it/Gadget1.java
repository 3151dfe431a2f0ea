package org.muster.it;

import java.util.Random;
import org.muster.AltingBarrier;
import org.muster.Alternative;
import org.muster.CSTimer;
import org.muster.Channel;
import org.muster.Guard;
import org.muster.Region;

/**
 * JCSP's AltingBarrierGadget1 (the AltingBarrier documentation's Example 1), ported: gadgets
 * on a circle, each switching between off, standby and playing. On standby a gadget offers the
 * {@code span} alting barriers it shares with its neighbours plus a timeout, by fairSelect; a
 * fired barrier means its whole span group is playing: the rightmost member picks a colour and
 * passes it down the rail track (channels) to the others, and the group "flashes" {@code count}
 * times in step, each flash one sync on the group's barrier, the rightmost keeping time. The
 * buttons become log lines: "PLAY gadget barrier ticket colour".
 *
 * <p>Here the gadgets are threads of several JVMs: gadget i holds front-end j of barrier
 * (i + j) mod n (the demo's re-arrangement), so every span group crosses JVMs.
 * Arguments: gadgets REGION N SPAN FIRST COUNT DURATION_MS.
 */
public final class Gadget1 implements Runnable {
    /** Timing of the states, milliseconds; a play is PLAY / FLASH flash syncs. */
    public static final int OFF = 20, STANDBY = 60, PLAY = 40, FLASH = 8; // milliseconds

    private final Region region;
    private final int id, n, span;
    private final long deadline;

    private Gadget1(Region region, int id, int n, int span, long deadline) {
        this.region = region;
        this.id = id;
        this.n = n;
        this.span = span;
        this.deadline = deadline;
    }

    static void run(String[] args) throws InterruptedException {
        String regionName = args[1];
        int n = Integer.parseInt(args[2]);
        int span = Integer.parseInt(args[3]);
        int first = Integer.parseInt(args[4]);
        int count = Integer.parseInt(args[5]);
        long deadline = System.currentTimeMillis() + Long.parseLong(args[6]);
        try (Region region = Region.open(regionName)) {
            Thread[] threads = new Thread[count];
            Throwable[] failure = new Throwable[1];
            for (int k = 0; k < count; k++) {
                threads[k] = new Thread(new Gadget1(region, first + k, n, span, deadline),
                        "gadget-" + (first + k));
                threads[k].setUncaughtExceptionHandler((t, e) -> {
                    e.printStackTrace();
                    failure[0] = e;
                });
                threads[k].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            if (failure[0] != null) {
                System.exit(1);
            }
        }
        Child.OUT.println("BYE");
    }

    @Override
    public void run() {
        AltingBarrier[] barrier = new AltingBarrier[span];
        for (int j = 0; j < span; j++) {
            barrier[j] = region.altingAttach("g" + ((id + j) % n), j);
        }
        CSTimer tim = new CSTimer();
        Random random = new Random(id * 7919L + System.nanoTime());
        Guard[] standbyGuard = new Guard[span + 1];
        System.arraycopy(barrier, 0, standbyGuard, 0, span);
        standbyGuard[span] = tim;
        final int timeout = span;
        int plays = 0;
        try (Channel in = region.channel("track" + ((id + 1) % n), 1);
                Channel out = region.channel("track" + id, 1);
                Alternative standbyAlt = new Alternative(standbyGuard)) {
            while (tim.read() < deadline) {
                tim.sleep(random.nextInt(OFF)); // off
                tim.setAlarm(tim.read() + random.nextInt(STANDBY)); // standby
                int choice = standbyAlt.fairSelect(); // magic synchronisation
                if (choice != timeout) {
                    play(choice, barrier, standbyAlt.lastTicket(), in, out, random, tim);
                    plays++;
                }
            }
        } finally {
            for (AltingBarrier ab : barrier) {
                ab.close(); // stays enrolled: no group can fire without this gadget from now on
            }
        }
        Child.OUT.println("DONE " + id + " " + plays);
    }

    private void play(int choice, AltingBarrier[] barrier, long ticket, Channel in, Channel out,
            Random random, CSTimer tim) {
        final boolean rightmost = choice == 0;
        final boolean leftmost = choice == barrier.length - 1;
        long colour = rightmost ? random.nextInt(1 << 24) : in.read();
        if (!leftmost) {
            out.write(colour); // pass it on
        }
        Child.OUT.println("PLAY " + id + " " + barrier[choice].getName() + " " + ticket + " " + colour);
        final AltingBarrier focus = barrier[choice];
        final int count = PLAY / FLASH;
        long timeout = tim.read() + FLASH;
        for (int i = 0; i < count; i++) {
            if (rightmost) {
                tim.after(timeout);
                timeout += FLASH;
            }
            focus.sync();
        }
    }
}
