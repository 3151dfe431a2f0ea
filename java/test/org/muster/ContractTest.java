package org.muster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * JCSP's {@code contract()} across JVMs: this JVM expands a barrier by two front-ends and hands
 * them to two other JVMs; one syncs 20 rounds and then contracts itself, and the two parties
 * left must go on alone (the contraction completes the round it is waited for in). Misuse of
 * contract (resigned, a guard of an open Alternative, another thread's front-end, twice, a
 * contracted index attached again, the broken expansion contracted as a whole) throws
 * AltingBarrierError and changes nothing.
 */
class ContractTest {
    @Test
    void contractedPartyLeavesAndTheOthersGoOnAcrossJvms() throws Exception {
        String name = Jvm.uniqueName("contract");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Region r = Region.create(name)) {
            AltingBarrier base = AltingBarrier.create(r, "c", 1)[0];
            base.mark();
            AltingBarrier[] added = base.expand(2);
            assertEquals(1, added[0].index());
            assertEquals(2, added[1].index());
            base.resign();
            assertThrows(AltingBarrierError.class, base::contract, "contract while resigned");
            base.enroll(); // it was still resigned
            try (Alternative alt = new Alternative(base, new Skip())) {
                assertThrows(AltingBarrierError.class, base::contract, "a guard of an open Alternative");
                assertEquals(1, alt.select(), "the Alternative still works");
            }
            Throwable t = MisuseTest.onOtherThread(pool, base::contract);
            assertInstanceOf(AltingBarrierError.class, t, "another thread's front-end");
            assertTrue(base.isMarked());

            List<Long> mine = new ArrayList<>();
            try (Jvm leaver = new Jvm("contractor", name, "c", "1", "20");
                    Jvm stayer = new Jvm("selector", name, "c", "2")) {
                leaver.awaitLines(l -> l.equals("READY"), 1, 60);
                stayer.awaitLines(l -> l.equals("READY"), 1, 60);
                // Rounds 21..50 fire only if the leaver's contract took it out of the barrier
                // (a bounded offer, so a missing contraction fails instead of hanging).
                for (int i = 0; i < 50; i++) {
                    assertTrue(base.poll(60, TimeUnit.SECONDS), "round " + (i + 1) + " fired");
                    mine.add(base.completions());
                }
                leaver.awaitSuccess(60);
                assertTrue(leaver.lines().contains("CONTRACTED"), leaver.lines().toString());
                assertTrue(leaver.lines().contains("MISUSE refused"), leaver.lines().toString());
                assertEquals(mine.subList(0, 20), leaver.tickets("c"), "the leaver took part in rounds 1..20");

                // The contracted index fronts nothing here either; its expansion is broken up.
                assertThrows(AltingBarrierError.class, () -> r.altingAttach("c", 1));
                assertThrows(AltingBarrierError.class, added[0]::sync);
                assertThrows(AltingBarrierError.class, () -> base.contract(added),
                        "an expansion that lost a member cannot be contracted as a whole");

                // Everything still works: 10 more rounds with the stayer.
                for (int i = 0; i < 10; i++) {
                    assertTrue(base.poll(60, TimeUnit.SECONDS), "round " + (51 + i) + " fired");
                    mine.add(base.completions());
                }
                stayer.awaitLines(l -> l.startsWith("EV "), 60, 60);
                stayer.send("stop");
                stayer.awaitSuccess(60);
                assertEquals(mine, stayer.tickets("c"), "base and the stayer saw the same 60 events");
            }
            for (int i = 0; i < mine.size(); i++) {
                assertEquals(i + 1, (long) mine.get(i), "tickets 1..60");
            }

            // The stayer's front-end (unowned since it exited) leaves from this JVM; base alone fires.
            assertFalse(base.poll(0), "front-end 2 is still enrolled");
            added[1].contract();
            assertFalse(added[1].isMarked());
            assertTrue(base.poll(0), "base alone completes the barrier");
            // A fresh single expansion (JCSP expand()) contracted by its first user.
            AltingBarrier extra = base.expand();
            assertFalse(base.poll(0));
            extra.contract();
            assertThrows(AltingBarrierError.class, extra::sync);
            assertThrows(AltingBarrierError.class, extra::contract);
            assertThrows(AltingBarrierError.class, extra::reset);
            assertThrows(AltingBarrierError.class, extra::mark);
            assertTrue(base.poll(0));
            assertEquals(62, base.completions());
            base.close();
        } finally {
            pool.shutdownNow();
            Region.unlink(name);
        }
    }
}
