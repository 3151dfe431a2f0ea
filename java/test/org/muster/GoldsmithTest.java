package org.muster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * Goldsmith's challenge across three JVMs, and the same ring surviving a JVM killed mid-select:
 * P, Q and R each fair-select between the two alting barriers they share with their neighbours
 * (ev0 = {P, Q}, ev1 = {Q, R}, ev2 = {R, P}; see Child.ring).
 */
class GoldsmithTest {
    static final String EV = "EV ";

    static Region ring(String name) {
        Region r = Region.create(name);
        for (int k = 0; k < 3; k++) {
            AltingBarrier.create(r, "ev" + k, 2);
        }
        return r;
    }

    static void stopAll(Jvm... jvms) throws Exception {
        for (Jvm j : jvms) {
            j.send("stop");
        }
        for (Jvm j : jvms) {
            j.awaitSuccess(60);
        }
    }

    static List<Long> oneToN(int n) {
        return LongStream.rangeClosed(1, n).boxed().collect(Collectors.toList());
    }

    @Test
    void threeJvmsSeeIdenticalTicketsAndNoEventStarves() throws Exception {
        String name = Jvm.uniqueName("gold");
        try (Region r = ring(name);
                Jvm p = new Jvm("ring", name, "0", "start");
                Jvm q = new Jvm("ring", name, "1", "start");
                Jvm rr = new Jvm("ring", name, "2", "start")) {
            Jvm[] nodes = {p, q, rr};
            // No event starves: each of the three keeps firing until it has 300 events.
            for (int k = 0; k < 3; k++) {
                String ev = "EV ev" + k + " ";
                nodes[k].awaitLines(l -> l.startsWith(ev), 300, 90);
            }
            stopAll(nodes);
            for (int k = 0; k < 3; k++) {
                // ev k: front-end 0 is node k, front-end 1 is node k+1.
                List<Long> a = nodes[k].tickets("ev" + k);
                List<Long> b = nodes[(k + 1) % 3].tickets("ev" + k);
                assertEquals(a, b, "both parties of ev" + k + " saw the same events");
                assertEquals(oneToN(a.size()), a, "ev" + k + " tickets are 1..n, none lost");
                assertTrue(a.size() >= 300, "ev" + k + " fired " + a.size() + " times");
            }
            System.out.println("Goldsmith shares: ev0 " + p.tickets("ev0").size() + ", ev1 "
                    + q.tickets("ev1").size() + ", ev2 " + rr.tickets("ev2").size());
        } finally {
            Region.unlink(name);
        }
    }

    /**
     * What R and its replacement R' ("R2" in messages) logged of {@code ev}, one of R's two
     * events, whose other party logged every one ({@code other}): R's log is 1..a, the log of
     * R' a contiguous run up to the last ticket, and between them at most ticket a+1 is missing: the
     * event of the select R was killed in (committed before the kill but not printed, or
     * completed afterwards from R's standing offer). No other event of ev can fire without R, or
     * later R', holding the front-end. Returns the missing tickets.
     */
    static List<Long> missingAtTheKill(String ev, List<Long> other, List<Long> r, List<Long> r2) {
        String logs = ": R " + r + ", R2 " + r2 + ", other party " + other;
        assertEquals(oneToN(other.size()), other, ev + " tickets are 1..n" + logs);
        assertEquals(oneToN(r.size()), r, "R took part in every " + ev + " event until it died" + logs);
        assertTrue(r.size() <= other.size(), "R's " + ev + " events are the other party's too" + logs);
        List<Long> missing = new ArrayList<>(other.subList(r.size(), other.size()));
        missing.removeAll(r2);
        assertTrue(missing.isEmpty() || missing.equals(List.of((long) r.size() + 1)),
                "of " + ev + ", at most the event R died in is missing from R's and R2's logs: " + missing + logs);
        assertEquals(other.subList(r.size() + missing.size(), other.size()), r2,
                "R2 took part in every " + ev + " event after R" + logs);
        return missing;
    }

    @Test
    void jvmKilledMidSelectSurvivorsGoOnAfterResetAndAttach() throws Exception {
        String name = Jvm.uniqueName("kill");
        try (Region r = ring(name);
                Jvm p = new Jvm("ring", name, "0");
                Jvm q = new Jvm("ring", name, "1")) {
            List<Long> rEv1;
            List<Long> rEv2;
            try (Jvm rr = new Jvm("ring", name, "2")) {
                rr.awaitLines(l -> l.startsWith("EV "), 50, 90);
                rr.kill(); // SIGKILL, most likely inside a select (it selects all the time)
                rEv1 = rr.tickets("ev1");
                rEv2 = rr.tickets("ev2");
            }
            // P and Q go on with ev0, the only event not involving R.
            int ev0 = p.tickets("ev0").size();
            p.awaitLines(l -> l.startsWith("EV ev0 "), ev0 + 100, 60);
            int ev2Before = p.tickets("ev2").size();
            // Recycle R's front-ends: ev1#1 by reset, ev2#0 by attaching the dead owner's index.
            r.altingReset("ev1", 1);
            try (Jvm r2 = new Jvm("ring", name, "2")) {
                r2.awaitLines(l -> l.startsWith("EV ev1 "), 20, 90);
                r2.awaitLines(l -> l.startsWith("EV ev2 "), 20, 90);
                stopAll(r2, p, q);
                assertEquals(p.tickets("ev0"), q.tickets("ev0"), "P and Q agree on ev0");
                List<Long> pEv2 = p.tickets("ev2");
                assertTrue(pEv2.size() > ev2Before, "ev2 fires again after the attach");
                // R's last select fired at most one event, of ev1 or of ev2, that nobody logged
                // for R; every other event of theirs is in R's log or in the log of R' (r2).
                List<Long> missing1 = missingAtTheKill("ev1", q.tickets("ev1"), rEv1, r2.tickets("ev1"));
                List<Long> missing2 = missingAtTheKill("ev2", pEv2, rEv2, r2.tickets("ev2"));
                String missing = "ev1 " + missing1 + ", ev2 " + missing2;
                assertTrue(missing1.size() + missing2.size() <= 1, "one select of R fired at most one event: " + missing);
                System.out.println("R logged ev1 1.." + rEv1.size() + ", ev2 1.." + rEv2.size()
                        + " before the kill; missing from R's and R2's logs: " + missing);
            }
        } finally {
            Region.unlink(name);
        }
    }
}
