package dev.pulse.workers.times;

import java.time.Duration;
import java.time.Instant;

/**
 * A time a user asked for: a given instant ({@code 2026-11-21T09:30:00Z}, {@code tomorrow 9am}) or
 * a span from whenever it is taken ({@code in 10 minutes}). A span is kept as a span so that a task
 * queued with it is due by the database clock, as {@code delay_seconds} is.
 */
public sealed interface When {

    /** The instant this names, a span counted from {@code now}. */
    Instant instant(Instant now);

    record At(Instant at) implements When {
        @Override
        public Instant instant(Instant now) {
            return at;
        }
    }

    record After(Duration delay) implements When {
        @Override
        public Instant instant(Instant now) {
            return now.plus(delay);
        }
    }
}
