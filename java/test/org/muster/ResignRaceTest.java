package org.muster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * resign() and enroll() racing selects, across three JVMs (JCSP's AltingBarrier can deadlock
 * here): two JVMs select on a three-party alting barrier while the third resigns, enrolls and
 * polls in a tight random loop. The selectors must keep firing together (identical tickets,
 * no event seen by only one of them) and the resigner's polls must succeed too.
 */
class ResignRaceTest {
    @Test
    void resignAndEnrollRacingSelectsNeverWedge() throws Exception {
        String name = Jvm.uniqueName("resign");
        try (Region r = Region.create(name)) {
            AltingBarrier.create(r, "r", 3);
            try (Jvm a = new Jvm("selector", name, "r", "0");
                    Jvm b = new Jvm("selector", name, "r", "1");
                    Jvm c = new Jvm("resigner", name, "r", "2")) {
                c.awaitLines(l -> l.equals("READY"), 1, 60);
                a.awaitLines(l -> l.startsWith("EV "), 1000, 90);
                c.send("stop");
                c.awaitSuccess(60);
                // c ended resigned: a and b go on without it.
                int n = a.tickets("r").size();
                a.awaitLines(l -> l.startsWith("EV "), n + 50, 60);
                a.send("stop");
                b.send("stop");
                a.awaitSuccess(60);
                b.awaitSuccess(60);
                assertEquals(a.tickets("r"), b.tickets("r"), "both selectors saw the same events");
                String polls = c.lines().stream().filter(l -> l.startsWith("POLLS ")).findFirst().orElseThrow();
                long won = Long.parseLong(polls.split(" ")[1]);
                long cycles = Long.parseLong(polls.split(" ")[2]);
                assertTrue(cycles > 0 && won > 0, "the resigner's polls fired too: " + polls);
                List<Long> t = a.tickets("r");
                for (int i = 1; i < t.size(); i++) {
                    assertTrue(t.get(i) > t.get(i - 1), "tickets increase");
                }
            }
        } finally {
            Region.unlink(name);
        }
    }
}
