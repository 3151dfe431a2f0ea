package org.muster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.muster.it.Gadget1;

/**
 * JCSP's AltingBarrierGadget1 demo (Example 1) ported, with the circle of gadgets split over two
 * JVMs so that every span group crosses processes (see it/Gadget1.java). Checks that every
 * play event was joined by exactly its span group, all with one ticket, and that the colour
 * the rightmost member chose came down the rail track to the whole group.
 */
class Gadget1Test {
    @Test
    void spanGroupsAcrossJvmsPlayTogether() throws Exception {
        final int n = 4, span = 3;
        String name = Jvm.uniqueName("gadget");
        try (Region r = Region.create(name)) {
            for (int b = 0; b < n; b++) {
                AltingBarrier.create(r, "g" + b, span);
            }
            try (Jvm a = new Jvm("gadgets", name, "" + n, "" + span, "0", "2", "4000");
                    Jvm b = new Jvm("gadgets", name, "" + n, "" + span, "2", "2", "4000")) {
                a.awaitSuccess(90);
                b.awaitSuccess(90);
                // (barrier, ticket) -> gadgets that played it, and their colours
                Map<String, Set<Integer>> members = new HashMap<>();
                Map<String, Set<String>> colours = new HashMap<>();
                for (Jvm j : List.of(a, b)) {
                    for (String l : j.lines()) {
                        String[] f = l.split(" ");
                        if (f[0].equals("PLAY")) {
                            String key = f[2] + "@" + f[3];
                            members.computeIfAbsent(key, k -> new HashSet<>()).add(Integer.parseInt(f[1]));
                            colours.computeIfAbsent(key, k -> new HashSet<>()).add(f[4]);
                        }
                    }
                }
                assertTrue(!members.isEmpty(), "some group played");
                System.out.println("Gadget1: " + members.size() + " plays (barrier@ticket): " + members.keySet());
                for (Map.Entry<String, Set<Integer>> e : members.entrySet()) {
                    int barrier = Integer.parseInt(e.getKey().substring(1, e.getKey().indexOf('@')));
                    Set<Integer> group = new HashSet<>();
                    for (int j = 0; j < span; j++) {
                        group.add(((barrier - j) % n + n) % n); // gadget i holds g(i+j) at j
                    }
                    assertEquals(group, e.getValue(), "the span group of " + e.getKey());
                    assertEquals(1, colours.get(e.getKey()).size(), "one colour down the track for " + e.getKey());
                    // each play is its start event plus PLAY / FLASH flash syncs of the group alone
                    long ticket = Long.parseLong(e.getKey().substring(e.getKey().indexOf('@') + 1));
                    assertEquals(0, (ticket - 1) % (Gadget1.PLAY / Gadget1.FLASH + 1), "play starts at " + e.getKey());
                }
            }
        } finally {
            Region.unlink(name);
        }
    }
}
