package org.muster;

/**
 * A guard of an {@link Alternative} (JCSP {@code Guard}): an {@link AltingBarrier} front-end,
 * a {@link Channel} input, {@link Skip} or a {@link CSTimer} timeout.
 */
public sealed interface Guard permits AltingBarrier, Channel, Skip, CSTimer {}
