package org.muster;

/** A guard that is always ready (CSP {@code SKIP}, JCSP {@code Skip}): a select with it never blocks. */
public final class Skip implements Guard {
    @Override
    public String toString() {
        return "Skip";
    }
}
