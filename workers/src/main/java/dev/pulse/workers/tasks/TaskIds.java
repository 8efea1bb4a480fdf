package dev.pulse.workers.tasks;

import java.time.Clock;
import java.time.Instant;
import java.util.UUID;
import java.util.random.RandomGenerator;

/**
 * Generates UUIDv7 task ids (RFC 9562): time-ordered, so new rows land at the right edge of the
 * primary-key index and lists can page by id alone.
 */
public final class TaskIds {

    private final Clock clock;
    private final RandomGenerator random;

    public TaskIds(Clock clock, RandomGenerator random) {
        this.clock = clock;
        this.random = random;
    }

    public UUID next() {
        long millis = clock.millis();
        long msb = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
        long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb);
    }

    /** The smallest id of a millisecond: ids at or after it were created at or after {@code instant}; null for null. */
    public static UUID floor(Instant instant) {
        if (instant == null) {
            return null;
        }
        long millis = Math.max(0, instant.toEpochMilli());
        return new UUID((millis << 16) | 0x7000L, 0x8000000000000000L);
    }
}
