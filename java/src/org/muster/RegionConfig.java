package org.muster;

/**
 * Capacities and permissions of a new region ({@code muster_region_config}); a field left 0
 * takes the library's default. Setters return {@code this}:
 * {@code new RegionConfig().maxAgents(64).maxFrontendsPerBarrier(8)}.
 */
public final class RegionConfig {
    // Field order of muster_region_config after `size`.
    private final int[] fields = new int[8];

    /** Most barriers, 1..=65536 (0: default 1024). */
    public RegionConfig maxBarriers(int v) { return set(0, v); }

    /** Most processes attached at once, 1..=4096 (0: default 256). */
    public RegionConfig maxProcesses(int v) { return set(1, v); }

    /** Permission bits of the region file, must include 0600 (0: default 0600). */
    public RegionConfig mode(int v) { return set(2, v); }

    /** Most threads holding alting, channel or Alternative handles at once (0: default 256). */
    public RegionConfig maxAgents(int v) { return set(3, v); }

    /** Most alting barriers (0: default 256). */
    public RegionConfig maxAltingBarriers(int v) { return set(4, v); }

    /** Most front-ends per alting barrier, 1..=64 (0: default 32). */
    public RegionConfig maxFrontendsPerBarrier(int v) { return set(5, v); }

    /** Most channels (0: default 256). */
    public RegionConfig maxChannels(int v) { return set(6, v); }

    /** Largest channel capacity, 1..=65535 (0: default 64). */
    public RegionConfig maxChannelCapacity(int v) { return set(7, v); }

    private RegionConfig set(int i, int v) {
        if (v < 0) {
            throw new IllegalArgumentException("a capacity must be >= 0 (0: the default)");
        }
        fields[i] = v;
        return this;
    }

    /** The C struct: 16 uint32 fields, `size` set by muster_region_config_init. */
    int[] toNative() {
        int[] c = new int[16];
        MusterException.check(Lib.muster_region_config_init(c));
        for (int i = 0; i < fields.length; i++) {
            if (fields[i] != 0) {
                c[1 + i] = fields[i];
            }
        }
        return c;
    }
}
