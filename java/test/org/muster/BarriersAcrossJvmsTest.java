package org.muster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Grinder barriers and counted barriers between JVMs. */
class BarriersAcrossJvmsTest {
    @Test
    void grinderBarrierAcrossJvmsThenCancelledInstancesNoLongerCount() throws Exception {
        String name = Jvm.uniqueName("grinder");
        final int rounds = 30;
        try (Region r = Region.create(name);
                Barrier mine = r.barrier("Phase 1");
                Jvm a = new Jvm("grinder", name, "Phase 1", "" + rounds);
                Jvm b = new Jvm("grinder", name, "Phase 1", "" + rounds)) {
            a.awaitLines(l -> l.equals("READY"), 1, 60);
            b.awaitLines(l -> l.equals("READY"), 1, 60);
            for (int i = 0; i < rounds; i++) {
                assertTrue(mine.await(60_000), "round " + i);
            }
            a.awaitSuccess(60);
            b.awaitSuccess(60);
            assertEquals(rounds, a.lines().stream().filter(l -> l.startsWith("ROUND ")).count());
            assertEquals(1, mine.getParties(), "the workers cancelled: only this instance is left");
            assertTrue(mine.await(60_000), "alone, the barrier opens at once");
        } finally {
            Region.unlink(name);
        }
    }

    @Test
    void countedBarrierGivesDistinctIndicesAcrossJvmsWithSplitPhase() throws Exception {
        String name = Jvm.uniqueName("counted");
        final int rounds = 40;
        try (Region r = Region.create(name);
                Jvm a = new Jvm("counted", name, "c", "3", "" + rounds, "wait");
                Jvm b = new Jvm("counted", name, "c", "3", "" + rounds, "wait");
                Jvm c = new Jvm("counted", name, "c", "3", "" + rounds, "split")) {
            Map<Integer, Set<Integer>> byRound = new HashMap<>();
            for (Jvm j : List.of(a, b, c)) {
                j.awaitSuccess(90);
                for (String l : j.lines()) {
                    String[] f = l.split(" ");
                    if (f[0].equals("IDX")) {
                        byRound.computeIfAbsent(Integer.parseInt(f[1]), k -> new HashSet<>())
                                .add(Integer.parseInt(f[2]));
                    }
                }
            }
            assertEquals(rounds, byRound.size());
            for (Map.Entry<Integer, Set<Integer>> e : byRound.entrySet()) {
                assertEquals(Set.of(0, 1, 2), e.getValue(), "round " + e.getKey());
            }
        } finally {
            Region.unlink(name);
        }
    }

    @Test
    void aPartyJvmKilledBetweenWaitsBreaksTheCountedBarrier() throws Exception {
        String name = Jvm.uniqueName("peer");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Region r = Region.create(name);
                CountedBarrier b = r.countedBarrier("c", 2);
                Jvm child = new Jvm("counted", name, "c", "2", "1", "hold")) {
            b.await(60, TimeUnit.SECONDS); // round 0 with the child: it is a party now
            child.awaitLines(l -> l.equals("HOLD"), 1, 60);
            Future<Integer> w = pool.submit(() -> b.await(60, TimeUnit.SECONDS));
            while (b.getNumberWaiting() < 1) {
                Thread.sleep(1);
            }
            child.kill();
            ExecutionException e = assertThrows(ExecutionException.class, () -> w.get(60, TimeUnit.SECONDS));
            assertInstanceOf(BrokenBarrierException.class, e.getCause());
            PeerDiedException died = assertInstanceOf(PeerDiedException.class, e.getCause().getCause());
            assertEquals(child.pid(), died.pid(), "the dead party's pid");
            assertTrue(b.isBroken());
            b.reset();
            assertFalse(b.isBroken());
        } finally {
            pool.shutdownNow();
            Region.unlink(name);
        }
    }
}
