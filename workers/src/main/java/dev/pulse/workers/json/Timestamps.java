package dev.pulse.workers.json;

import dev.pulse.workers.db.Columns;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.Locale;

/**
 * The one way Pulse writes a timestamp for clients: RFC 3339 {@code date-time}, always with seconds
 * ({@link OffsetDateTime#toString()} leaves out zero seconds, which RFC 3339 forbids), fractions
 * only when non-zero, {@code Z} for UTC. Instants are written in UTC; a time in a schedule's zone
 * keeps that zone's offset.
 */
public final class Timestamps {

    private static final DateTimeFormatter RFC_3339 =
            new DateTimeFormatterBuilder()
                    .appendPattern("uuuu-MM-dd'T'HH:mm:ss")
                    .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
                    .appendOffset("+HH:MM", "Z")
                    .toFormatter(Locale.ROOT);

    private Timestamps() {}

    /**
     * In UTC ({@code 2026-12-08T01:30:00Z}, fractions in groups of three digits); null stays null.
     * Written without a DateTimeFormatter for the years 0000-9999, as a task list writes many.
     */
    public static String rfc3339(Instant instant) {
        return Columns.iso(instant);
    }

    /**
     * With its own offset ({@code 2026-12-08T02:30:00+01:00}); null stays null. RFC 3339 offsets
     * have no seconds, so a time whose offset has some (local mean time, before about 1900) is
     * written in UTC instead of being rounded to a different instant.
     */
    public static String rfc3339(OffsetDateTime time) {
        if (time == null) {
            return null;
        }
        OffsetDateTime writable =
                time.getOffset().getTotalSeconds() % 60 == 0
                        ? time
                        : time.withOffsetSameInstant(ZoneOffset.UTC);
        return RFC_3339.format(writable);
    }
}
