package dev.pulse.workers.times;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.Optional;

/** Reads the {@code timezone} fields of tasks and schedules. */
public final class Zones {

    public static final String MESSAGE =
            "must be an IANA time zone such as Europe/Berlin or America/New_York";

    private Zones() {}

    public static Optional<ZoneId> parse(String text) {
        if (text == null || text.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(ZoneId.of(text));
        } catch (DateTimeException e) {
            return Optional.empty();
        }
    }
}
