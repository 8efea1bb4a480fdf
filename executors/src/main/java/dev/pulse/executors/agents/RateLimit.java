package dev.pulse.executors.agents;

import java.time.Duration;
import java.util.Objects;

/** At most {@code limit} starts in any {@code period}: a sliding window, across all nodes. */
public record RateLimit(int limit, Duration period) {

    public RateLimit {
        Objects.requireNonNull(period, "period");
        if (limit < 1 || period.isZero() || period.isNegative()) {
            throw new IllegalArgumentException("a rate limit needs a positive limit and period");
        }
    }
}
