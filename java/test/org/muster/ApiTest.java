package org.muster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The API in one JVM (threads as parties): errors, Grinder and counted barriers, channels, Alternatives, expand/contract. */
class ApiTest {
    String name;
    Region region;
    ExecutorService pool;

    @BeforeEach
    void setUp() {
        name = Jvm.uniqueName("api");
        region = Region.create(name, new RegionConfig().maxFrontendsPerBarrier(8));
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
        region.close();
        Region.unlink(name);
    }

    static <T> T get(Future<T> f) throws Exception {
        return f.get(60, TimeUnit.SECONDS);
    }

    @Test
    void versionAndErrorsMapToTheirExceptions() {
        assertTrue(Muster.version().startsWith("0."));
        NotFoundException nf = assertThrows(NotFoundException.class, () -> Region.open(name + "-none"));
        assertEquals(Codes.ENOENT, nf.code());
        assertTrue(nf.getMessage().startsWith("MUSTER_ENOENT (-4): "), nf.getMessage());
        assertThrows(InvalidNameException.class, () -> Region.create("bad/name"));
        assertThrows(InvalidNameException.class, () -> Region.create("nul\0name"));
        assertEquals(Codes.EEXIST, assertThrows(AlreadyExistsException.class, () -> Region.create(name)).code());
        try (CountedBarrier b = region.countedBarrier("c", 2)) {
            assertThrows(MismatchException.class, () -> region.countedBarrier("c", 3));
            assertThrows(MismatchException.class, () -> region.barrier("c"));
        }
        assertThrows(NotFoundException.class, () -> region.altingAttach("nothing", 0));
        CapacityExceededException full = assertThrows(CapacityExceededException.class,
                () -> AltingBarrier.create(region, "wide", 9));
        assertFalse(full.detail().isEmpty(), "the library says which capacity");
        assertThrows(IllegalArgumentException.class, () -> region.countedBarrier("d", 0));
        assertInstanceOf(PeerDiedException.class, MusterException.of(Codes.EPEERDIED, "x"));
        assertInstanceOf(BarrierBrokenException.class, MusterException.of(Codes.EPEERDIED, "x"));
        int[] all = {Codes.EINVAL, Codes.ENAME, Codes.EEXIST, Codes.ENOENT, Codes.EFULL, Codes.ETIMEDOUT,
            Codes.ECANCELLED, Codes.EBROKEN, Codes.EPEERDIED, Codes.EMISMATCH, Codes.EVERSION,
            Codes.ECORRUPT, Codes.EMISUSE, Codes.EPERM, Codes.ENOMEM, Codes.EIO, Codes.EACTION, Codes.EINTERNAL};
        Set<Class<?>> classes = new HashSet<>();
        for (int c : all) {
            MusterException e = MusterException.of(c, "");
            assertEquals(c, e.code());
            classes.add(e.getClass());
            assertFalse(Muster.strerror(c).isEmpty());
        }
        assertEquals(all.length, classes.size(), "one exception class per code");
    }

    @Test
    void grinderBarrierTimeoutCancelsTheInstance() throws Exception {
        try (Barrier a = region.barrier("phase 1"); Barrier b = region.barrier("phase 1")) {
            assertEquals("phase 1", a.getName());
            assertEquals(2, a.getParties());
            Future<?> f = pool.submit(() -> {
                b.await();
                return null;
            });
            a.await();
            get(f);
            assertFalse(a.await(30, TimeUnit.MILLISECONDS), "b never comes: a times out");
            assertTrue(a.isCancelled());
            assertThrows(CancelledBarrierException.class, a::await);
            assertTrue(b.await(10_000), "a no longer counts: b passes alone");
            b.cancel();
            b.cancel(); // idempotent
            try (Barrier c = region.barrier("phase 1")) {
                assertTrue(c.await(10_000), "a new instance alone");
            }
        }
    }

    @Test
    void countedBarrierIsCyclicBarrierShaped() throws Exception {
        try (CountedBarrier b = region.countedBarrier("c3", 3)) {
            for (int round = 0; round < 3; round++) {
                Future<Integer> f1 = pool.submit(() -> b.await());
                Future<Integer> f2 = pool.submit(() -> b.await());
                int mine = b.await();
                Set<Integer> idx = new HashSet<>(List.of(mine, get(f1), get(f2)));
                assertEquals(Set.of(0, 1, 2), idx, "distinct arrival indices, one leader");
            }
            assertEquals(3, b.getParties());
            Future<Integer> waiter = pool.submit(() -> b.await());
            while (b.getNumberWaiting() < 1) {
                Thread.sleep(1);
            }
            assertThrows(TimeoutException.class, () -> b.await(20, TimeUnit.MILLISECONDS));
            Exception e = assertThrows(Exception.class, () -> get(waiter));
            assertInstanceOf(BrokenBarrierException.class, e.getCause());
            assertInstanceOf(BarrierBrokenException.class, e.getCause().getCause());
            assertTrue(b.isBroken());
            assertThrows(BrokenBarrierException.class, b::await);
            b.reset();
            assertFalse(b.isBroken());
            Future<Integer> f1 = pool.submit(() -> b.await());
            Future<Integer> f2 = pool.submit(() -> b.await());
            b.await(60, TimeUnit.SECONDS);
            get(f1);
            get(f2);
        }
    }

    @Test
    void splitPhaseArriveAwaitAndDeregister() throws Exception {
        try (CountedBarrier b = region.countedBarrier("split", 2)) {
            CountedBarrier.Arrival a = b.arrive();
            assertFalse(b.isComplete(a));
            assertFalse(b.awaitAdvance(a, 10, TimeUnit.MILLISECONDS), "times out");
            assertFalse(b.isBroken(), "a split-phase timeout changes nothing");
            assertEquals(1, b.getNumberWaiting(), "the arrival stands");
            Future<Integer> other = pool.submit(() -> b.await());
            b.awaitAdvance(a);
            assertTrue(b.isComplete(a));
            assertEquals(Set.of(0, 1), Set.of(a.index(), get(other)));
            b.awaitAdvance(a); // a completed generation: at once
        }
        try (CountedBarrier b = region.countedBarrier("drop", 3);
                CountedBarrier leaver = region.countedBarrier("drop", 3)) {
            Future<Integer> w = pool.submit(() -> b.await());
            int dropped = leaver.arriveAndDeregister();
            int last = b.await();
            assertEquals(Set.of(0, 1, 2), Set.of(dropped, last, get(w)));
            assertEquals(2, b.getParties(), "one party less from the next generation");
            assertThrows(MisuseException.class, leaver::arrive, "a handle that dropped out");
            Future<Integer> w2 = pool.submit(() -> b.await());
            b.await();
            get(w2);
        }
    }

    @Test
    void barrierActionRunsOncePerGenerationAndBreaksWhenItThrows() throws Exception {
        java.util.concurrent.atomic.AtomicInteger runs = new java.util.concurrent.atomic.AtomicInteger();
        int[] seen = new int[1];
        try (CountedBarrier b = region.countedBarrier("act", 2, () -> {
            if (runs.incrementAndGet() == 4) {
                throw new IllegalStateException("fourth");
            }
        })) {
            for (int round = 1; round <= 3; round++) {
                Future<Integer> f = pool.submit(() -> b.await());
                b.await();
                get(f);
                assertEquals(round, runs.get(), "the action ran before release, once");
            }
            Future<Integer> f = pool.submit(() -> b.await());
            BrokenBarrierException mine = assertThrows(BrokenBarrierException.class, b::await);
            Exception theirs = assertThrows(Exception.class, () -> get(f));
            assertInstanceOf(BrokenBarrierException.class, theirs.getCause());
            // whichever thread ran the action sees what it threw; both see MUSTER_EACTION
            for (Throwable t : List.of(mine, theirs.getCause())) {
                assertInstanceOf(BarrierActionException.class, t.getCause());
                if (t.getCause().getCause() != null) {
                    assertEquals("fourth", t.getCause().getCause().getMessage());
                    seen[0]++;
                }
            }
            assertEquals(1, seen[0], "the action's exception is the cause in the thread that ran it");
            assertTrue(b.isBroken());
            b.reset();
            Future<Integer> g = pool.submit(() -> b.await());
            b.await();
            get(g);
            assertEquals(5, runs.get());
        }
    }

    @Test
    void channelsAndAlternativesWithSkipAndTimer() throws Exception {
        try (Channel ch = region.channel("jobs", 4)) {
            ch.write(7);
            assertTrue(ch.tryWrite(-1L)); // 2^64 - 1 travels as -1
            assertEquals(7, ch.read());
            assertEquals(OptionalLong.of(-1L), ch.read(1, TimeUnit.MILLISECONDS));
            assertEquals(OptionalLong.empty(), ch.read(5, TimeUnit.MILLISECONDS));
            CSTimer tim = new CSTimer();
            try (Alternative alt = new Alternative(ch, new Skip(), tim)) {
                assertEquals(1, alt.priSelect(), "nothing to read: skip");
                ch.write(42);
                assertEquals(0, alt.priSelect(), "a ready channel beats the skip after it");
                assertEquals(0, alt.lastTicket());
                assertEquals(OptionalLong.of(42), ch.tryRead());
            }
            try (Alternative alt = new Alternative(tim, ch)) {
                long t0 = tim.read();
                tim.setAlarm(t0 + 30);
                assertEquals(0, alt.select(), "the timer fires");
                assertTrue(tim.read() >= t0 + 30, "never early");
                // another thread writes: the channel guard fires
                Future<?> w = pool.submit(() -> {
                    try (Channel mine = region.channel("jobs", 4)) {
                        mine.write(9);
                    }
                    return null;
                });
                tim.setAlarm(tim.read() + 60_000);
                assertEquals(1, alt.fairSelect());
                assertEquals(OptionalLong.of(9), ch.tryRead());
                get(w);
            }
            assertThrows(IllegalArgumentException.class, () -> new Alternative(tim, new CSTimer()));
            // JCSP's pre-conditioned selects: a disabled guard is not considered
            try (Alternative alt = new Alternative(ch, new Skip(), tim)) {
                ch.write(5);
                assertEquals(0, alt.priSelect(new boolean[] {true, true, false}));
                assertEquals(1, alt.priSelect(new boolean[] {false, true, false}), "the ready channel is disabled");
                tim.setAlarm(tim.read() + 10);
                assertEquals(2, alt.select(new boolean[] {false, false, true}), "only the timer");
                assertEquals(0, alt.fairSelect(new boolean[] {true, false, true}));
                assertEquals(OptionalLong.of(5), ch.tryRead());
                assertThrows(IllegalStateException.class, () -> alt.select(new boolean[3]), "nothing enabled");
                assertThrows(IllegalArgumentException.class, () -> alt.select(new boolean[2]));
            }
        }
    }

    @Test
    void resetRecyclesAFrontEndWhoseThreadEndedWithoutReleasing() throws Exception {
        AltingBarrier[] ab = AltingBarrier.create(region, "r", 2);
        Thread t = new Thread(() -> {
            ab[1].resign(); // marks it for t, resigns, and t ends still owning it
        });
        t.start();
        t.join(60_000);
        assertTrue(ab[0].poll(0), "alone while the other is resigned");
        assertThrows(AltingBarrierError.class, ab[1]::sync, "still owned through the dead thread's handle");
        ab[1].reset(); // JCSP reset: enrolled and unowned again
        assertFalse(ab[0].poll(0), "enrolled again: waits for it");
        Future<?> f = pool.submit(() -> {
            ab[1].sync(); // a new owner
            ab[1].release();
            return null;
        });
        ab[0].sync();
        get(f);
        ab[0].release();
    }

    @Test
    void expandContractAndMarkAsInJcsp() throws Exception {
        AltingBarrier[] one = AltingBarrier.create(region, "x", 1);
        AltingBarrier me = one[0];
        assertTrue(me.poll(0), "alone: fires at once");
        AltingBarrier[] more = me.expand(2);
        assertEquals(2, more.length);
        assertFalse(me.poll(0), "now waits for the new parties");
        List<Future<Long>> subs = new java.util.ArrayList<>();
        for (AltingBarrier ab : more) {
            subs.add(pool.submit(() -> {
                for (int i = 0; i < 20; i++) {
                    ab.sync(); // first use marks it for this thread
                }
                long c = ab.completions();
                ab.release();
                return c;
            }));
        }
        for (int i = 0; i < 20; i++) {
            me.sync();
        }
        for (Future<Long> f : subs) {
            assertTrue(get(f) >= 21);
        }
        me.contract(more);
        assertTrue(me.poll(0), "contracted: alone again");
        assertThrows(AltingBarrierError.class, () -> more[0].sync());
        // hand the original front-end to another thread: release here, mark there
        AltingBarrier partner = me.expand();
        Future<?> bad = pool.submit(() -> {
            me.mark();
            return null;
        });
        Exception owned = assertThrows(Exception.class, () -> get(bad));
        assertInstanceOf(AltingBarrierError.class, owned.getCause(), "still owned by this thread");
        me.release();
        Future<?> t = pool.submit(() -> {
            me.mark();
            me.sync();
            me.release();
            return null;
        });
        partner.sync();
        get(t);
        me.mark(); // back to this thread
        me.contract(new AltingBarrier[] {partner});
        assertTrue(me.poll(0));
        me.close();
    }
}
