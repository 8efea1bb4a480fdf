package dev.pulse.workers.schedules;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A schedule's cron expression: a 5-field crontab line, read as cronie reads it ({@link
 * CrontabPattern}); an {@code @} alias of one; or Quartz's 6/7-field syntax with seconds, read by
 * Quartz ({@link QuartzPattern}). Fire times come from {@link #fireTimes}, which applies the
 * schedule's zone and DST policy.
 */
public final class CronSpec {

    public enum Syntax {
        CRONTAB,
        QUARTZ
    }

    // cronie's load_entry() sets the same fields for these (with DOW_STAR or DOM_STAR as here).
    private static final Map<String, String> ALIASES =
            Map.of(
                    "@yearly", "0 0 1 1 *",
                    "@annually", "0 0 1 1 *",
                    "@monthly", "0 0 1 * *",
                    "@weekly", "0 0 * * 0",
                    "@daily", "0 0 * * *",
                    "@midnight", "0 0 * * *",
                    "@hourly", "0 * * * *");
    public static final Duration MAX_LOOK_BACK = Duration.ofDays(7);

    private final String original;
    private final Syntax syntax;
    private final WallClockPattern pattern;

    private CronSpec(String original, Syntax syntax, WallClockPattern pattern) {
        this.original = original;
        this.syntax = syntax;
        this.pattern = pattern;
    }

    /**
     * @throws IllegalArgumentException saying what is wrong and what would be accepted
     */
    public static CronSpec parse(String cron) {
        if (cron == null || cron.isBlank()) {
            throw new IllegalArgumentException(
                    "is required: a 5-field cron such as \"30 2 * * *\", "
                            + "a 6/7-field Quartz cron such as \"0 30 2 * * ?\", or a macro such as @daily");
        }
        String trimmed = cron.trim();
        String line = trimmed;
        if (trimmed.startsWith("@")) {
            line = ALIASES.get(trimmed.toLowerCase(Locale.ROOT));
            if (line == null) {
                throw new IllegalArgumentException(
                        "unknown macro "
                                + trimmed
                                + "; use one of "
                                + String.join(", ", ALIASES.keySet().stream().sorted().toList()));
            }
        }
        String[] fields = line.split("\\s+");
        return switch (fields.length) {
            case 5 -> new CronSpec(trimmed, Syntax.CRONTAB, CrontabPattern.parse(fields));
            case 6, 7 -> new CronSpec(trimmed, Syntax.QUARTZ, QuartzPattern.parse(fields));
            default ->
                    throw new IllegalArgumentException(
                            "has "
                                    + fields.length
                                    + " fields; use 5 (minute hour "
                                    + "day-of-month month day-of-week) or Quartz's 6/7 (second first, optional year)");
        };
    }

    /** As the user wrote it (trimmed). */
    public String original() {
        return original;
    }

    public Syntax syntax() {
        return syntax;
    }

    /**
     * The expression when it is in Quartz's syntax; null for a crontab line, which Quartz does not
     * read.
     */
    public String quartz() {
        return syntax == Syntax.QUARTZ ? original : null;
    }

    /**
     * Whether the minute or hour field starts with {@code *}, so that it runs in every real hour
     * across DST changes.
     */
    public boolean periodic() {
        return pattern.periodic();
    }

    /**
     * The next {@code count} fire times strictly after {@code after}, in {@code zone}, under {@code
     * dst}.
     */
    public List<Instant> nextFireTimes(ZoneId zone, DstPolicy dst, Instant after, int count) {
        return new FireTimes(pattern, zone, dst).next(after, count);
    }

    /** As {@link #nextFireTimes(ZoneId, DstPolicy, Instant, int)} under the default DST policy. */
    public List<Instant> nextFireTimes(ZoneId zone, Instant after, int count) {
        return nextFireTimes(zone, DstPolicy.DEFAULT, after, count);
    }

    /**
     * Fire times in ({@code after}, {@code until}], oldest first, at most {@code limit} of the
     * latest. Looks back at most {@link #MAX_LOOK_BACK}: older ticks are never caught up.
     */
    public List<Instant> fireTimesBetween(
            ZoneId zone, DstPolicy dst, Instant after, Instant until, int limit) {
        Instant from =
                after.isBefore(until.minus(MAX_LOOK_BACK)) ? until.minus(MAX_LOOK_BACK) : after;
        return new FireTimes(pattern, zone, dst).between(from, until, limit);
    }

    public List<Instant> fireTimesBetween(ZoneId zone, Instant after, Instant until, int limit) {
        return fireTimesBetween(zone, DstPolicy.DEFAULT, after, until, limit);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CronSpec other && other.original.equals(original);
    }

    @Override
    public int hashCode() {
        return original.hashCode();
    }

    @Override
    public String toString() {
        return original;
    }
}
