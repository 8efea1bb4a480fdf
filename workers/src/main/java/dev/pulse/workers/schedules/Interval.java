package dev.pulse.workers.schedules;

import dev.pulse.executors.agents.Durations;
import java.time.Duration;

/**
 * A schedule's {@code every}: a fixed period of elapsed time (so no DST policy applies), at least
 * {@link #MIN}. {@code original} is kept as the user wrote it ({@code 10m}, {@code PT10M}).
 */
public record Interval(String original, Duration period) {

    public static final Duration MIN = Duration.ofSeconds(1);

    /**
     * @throws IllegalArgumentException saying what would be accepted
     */
    public static Interval parse(String text) {
        Duration period =
                Durations.parse(text)
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                "must be a duration such as "
                                                        + Durations.FORMS
                                                        + ", got '"
                                                        + text
                                                        + "'"));
        if (period.compareTo(MIN) < 0) {
            throw new IllegalArgumentException("must be at least 1s, got '" + text + "'");
        }
        return new Interval(text.trim(), period);
    }

    @Override
    public String toString() {
        return original;
    }
}
