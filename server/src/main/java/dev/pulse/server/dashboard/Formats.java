package dev.pulse.server.dashboard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How the dashboard writes times, durations, counts and JSON for people. */
final class Formats {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
                    .withZone(ZoneOffset.UTC);

    private Formats() {}

    static String time(Instant instant) {
        return instant == null ? "" : TIME.format(instant);
    }

    /** "12 s ago", "in 3 min", "" for null. */
    static String relative(Instant instant, Instant now) {
        if (instant == null) {
            return "";
        }
        Duration d = Duration.between(instant, now);
        if (d.abs().compareTo(Duration.ofSeconds(1)) < 0) {
            return "just now"; // database and node clocks may differ by a little
        }
        return d.isNegative() ? "in " + duration(d.negated()) : duration(d) + " ago";
    }

    static String duration(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + " ms";
        }
        long s = d.toSeconds();
        if (s < 120) {
            return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
        }
        if (s < 7200) {
            return (s / 60) + " min";
        }
        if (s < 172_800) {
            return (s / 3600) + " h " + (s % 3600 / 60) + " min";
        }
        return (s / 86_400) + " d";
    }

    static String between(Instant from, Instant to) {
        return from == null || to == null ? "" : duration(Duration.between(from, to));
    }

    /** A count that was capped at {@code cap + 1} rows: "10,000+" past the cap. */
    static String capped(long count, long cap) {
        return count > cap ? number(cap) + "+" : number(count);
    }

    static String number(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String percent(long part, long whole) {
        return whole == 0 ? "–" : String.format(Locale.ROOT, "%.1f%%", 100.0 * part / whole);
    }

    static String json(ObjectMapper mapper, JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        try {
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            return node.toString();
        }
    }
}
