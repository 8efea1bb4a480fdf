package dev.pulse.workers.schedules;

import java.time.Instant;

/**
 * Where a schedule's ticks start and stop: ticks come no earlier than {@code startAt}, no later
 * than {@code until}, and no more than the first {@code times} of them. Each may be null (no
 * bound).
 */
public record Bounds(Instant startAt, Instant until, Integer times) {

    public static final Bounds NONE = new Bounds(null, null, null);

    /** The most a schedule may be asked to fire with {@code times}. */
    public static final int MAX_TIMES = 100_000;
}
