package org.muster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Misuse of alting barriers (JCSP would throw AltingBarrierError and could be left wedged), then
 * normal use of the same barrier with a partner in another JVM: every misuse throws, changes
 * nothing, and the barrier works afterwards.
 */
class MisuseTest {
    static Throwable onOtherThread(ExecutorService pool, Runnable r) throws Exception {
        Future<?> f = pool.submit(r);
        try {
            f.get(60, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    @Test
    void misuseThenNormalUseAcrossJvms() throws Exception {
        String name = Jvm.uniqueName("misuse");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Region r = Region.create(name)) {
            AltingBarrier[] m = AltingBarrier.create(r, "m", 2);
            AltingBarrier me = m[0];
            me.mark();
            AltingBarrierError e = assertThrows(AltingBarrierError.class, me::enroll, "enrolled already");
            assertEquals(Codes.EMISUSE, e.code());
            assertInstanceOf(MisuseException.class, e.getCause(), "libmuster refused it");
            me.resign();
            assertThrows(AltingBarrierError.class, me::resign, "resigned already");
            assertThrows(AltingBarrierError.class, me::sync, "sync while resigned");
            assertThrows(AltingBarrierError.class, () -> me.poll(0), "poll while resigned");
            assertThrows(AltingBarrierError.class, () -> me.expand(1), "expand while resigned");
            me.enroll();
            // per-thread rule: another thread may neither use nor attach my front-end
            Throwable t = onOtherThread(pool, me::sync);
            assertInstanceOf(AltingBarrierError.class, t);
            assertTrue(t.getMessage().contains("owned by thread"), t.getMessage());
            t = onOtherThread(pool, () -> r.altingAttach("m", 0));
            assertInstanceOf(AltingBarrierError.class, t, "attaching a front-end a live thread owns");
            assertInstanceOf(MisuseException.class, t.getCause());
            assertThrows(AltingBarrierError.class, () -> r.altingAttach("m", 7), "index not in use");
            // one barrier offered twice in one select
            try (Alternative twice = new Alternative(me, me)) {
                assertThrows(AltingBarrierError.class, twice::select);
            }
            try (Alternative alt = new Alternative(me, new Skip())) {
                assertThrows(AltingBarrierError.class, me::release, "a guard of an open Alternative");
                t = onOtherThread(pool, alt::select);
                assertInstanceOf(AltingBarrierError.class, t, "another thread's Alternative");
            }
            assertThrows(AltingBarrierError.class, () -> me.contract(new AltingBarrier[] {m[1]}),
                    "contracting what no expand delivered");
            try (Channel ch = r.channel("ch", 2)) {
                t = onOtherThread(pool, () -> ch.write(1));
                assertInstanceOf(MisuseException.class, t, "another thread's channel");
            }
            assertThrows(AltingBarrierError.class, () -> r.altingReset("m", 9));

            // now normal use, with the partner in another JVM
            List<Long> mine = new ArrayList<>();
            try (Jvm partner = new Jvm("selector", name, "m", "1");
                    Alternative alt = new Alternative(me)) {
                partner.awaitLines(l -> l.equals("READY"), 1, 60);
                for (int i = 0; i < 50; i++) {
                    assertEquals(0, alt.select());
                    mine.add(alt.lastTicket());
                }
                partner.awaitLines(l -> l.startsWith("EV "), 50, 60);
                partner.send("stop");
                partner.awaitSuccess(60);
                assertEquals(mine, partner.tickets("m"), "both parties saw the same 50 events");
            }
            assertNull(onOtherThread(pool, () -> { }));
            me.close();
        } finally {
            pool.shutdownNow();
            Region.unlink(name);
        }
    }
}
