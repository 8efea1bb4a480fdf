package dev.pulse.executors.agents;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one reader of durations, wherever Pulse takes a delay or a period (agent files,
 * configuration, a task's {@code delay}, a schedule's {@code every}): a number with a unit ({@code
 * 500ms}, {@code 90s}, {@code 5m}, {@code 2h}, {@code 1d}), several of them largest unit first
 * ({@code 2h30m}, {@code 1d 12h}), or ISO 8601 ({@code PT5M}, {@code P1DT2H}). Never negative;
 * whole numbers only in the short form, so {@code 1.5h} is written {@code 1h30m}.
 */
public final class Durations {

    /** How the accepted forms are named in error messages. */
    public static final String FORMS = "90s, 5m, 2h30m, 1d or ISO 8601 PT5M";

    private static final Pattern PART = Pattern.compile("(\\d{1,9})(ms|d|h|m|s) ?");
    private static final String UNITS = "d h m s ms";

    private Durations() {}

    public static Optional<Duration> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String trimmed = text.trim();
        if (trimmed.startsWith("P") || trimmed.startsWith("p")) {
            return iso(trimmed);
        }
        return compact(trimmed);
    }

    private static Optional<Duration> iso(String text) {
        try {
            Duration parsed = Duration.parse(text);
            return parsed.isNegative() ? Optional.empty() : Optional.of(parsed);
        } catch (DateTimeParseException | ArithmeticException e) {
            return Optional.empty();
        }
    }

    /** Parts in order of unit size, each unit once: {@code 2h30m} but not {@code 30m2h}. */
    private static Optional<Duration> compact(String text) {
        Matcher m = PART.matcher(text);
        Duration total = Duration.ZERO;
        int at = 0;
        int lastUnit = -1;
        while (at < text.length()) {
            if (!m.find(at) || m.start() != at) {
                return Optional.empty();
            }
            int unit = UNITS.indexOf(m.group(2) + (m.group(2).length() == 1 ? " " : ""));
            if (unit <= lastUnit) {
                return Optional.empty();
            }
            lastUnit = unit;
            long n = Long.parseLong(m.group(1));
            total =
                    total.plus(
                            switch (m.group(2)) {
                                case "ms" -> Duration.ofMillis(n);
                                case "s" -> Duration.ofSeconds(n);
                                case "m" -> Duration.ofMinutes(n);
                                case "h" -> Duration.ofHours(n);
                                default -> Duration.ofDays(n);
                            });
            at = m.end();
        }
        return at == 0 || text.endsWith(" ") ? Optional.empty() : Optional.of(total);
    }
}
