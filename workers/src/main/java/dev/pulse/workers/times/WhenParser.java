package dev.pulse.workers.times;

import dev.pulse.executors.agents.Durations;
import java.time.Clock;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAdjusters;
import java.time.zone.ZoneRules;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a time as people and agents write one: an RFC 3339 timestamp, or one of a few phrases read
 * in a time zone. The grammar is small and explicit, so that every accepted phrase means one thing:
 *
 * <ul>
 *   <li>{@code now}; {@code in 10 minutes}, {@code in an hour}, {@code in 2h30m}: a span from now
 *       (elapsed time, so {@code in 1 day} is 24 hours even across a clock change);
 *   <li>{@code today 17:00}, {@code tomorrow 9am}, {@code tomorrow at 09:30}: that wall time on
 *       that day;
 *   <li>{@code friday 18:00}: the next time it is that day and time, today included if the time is
 *       still to come;
 *   <li>{@code next monday 9am}: that time on the first such day after today (as GNU date reads
 *       "next monday"), never today.
 * </ul>
 *
 * Times are {@code 9am}, {@code 9:30 pm}, {@code 09:30}, {@code 17:00}, {@code noon} or {@code
 * midnight} (the start of the day). A wall time that does not exist because clocks jump forward
 * means the instant of the jump, and one that occurs twice means the first occurrence: what
 * schedules do by default. A time more than {@link #TOLERANCE} in the past is refused; now comes
 * from the injected clock.
 */
public final class WhenParser {

    /** A time this far in the past is still taken (as now): clocks of callers differ. */
    public static final Duration TOLERANCE = Duration.ofMinutes(1);

    /** How the accepted forms are listed in error messages. */
    public static final String FORMS =
            "an RFC 3339 timestamp such as 2026-11-21T09:30:00Z, or a phrase read in `timezone`:"
                    + " 'in 10 minutes', 'in 2 hours', 'today 17:00', 'tomorrow 9am',"
                    + " 'tomorrow at 09:30', 'friday 18:00', 'next monday 9am'";

    private static final Pattern SPAN =
            Pattern.compile("in (\\d{1,9}|an?) (second|sec|minute|min|hour|hr|day|week)s?");
    private static final Pattern SHORT_SPAN = Pattern.compile("in (\\S+)");
    private static final String DAYS =
            "monday|mon|tuesday|tue|tues|wednesday|wed|thursday|thu|thurs|friday|fri|saturday|sat|sunday|sun";
    private static final Pattern DAY_AND_TIME =
            Pattern.compile("(today|tomorrow|(next )?(" + DAYS + "))( at)? (.+)");
    private static final Pattern CLOCK_12 =
            Pattern.compile("(\\d{1,2})(?::(\\d{2}))? ?([ap])\\.?m\\.?");
    private static final Pattern CLOCK_24 = Pattern.compile("(\\d{1,2}):(\\d{2})");
    private static final Map<String, Duration> UNITS =
            Map.of(
                    "second", Duration.ofSeconds(1),
                    "sec", Duration.ofSeconds(1),
                    "minute", Duration.ofMinutes(1),
                    "min", Duration.ofMinutes(1),
                    "hour", Duration.ofHours(1),
                    "hr", Duration.ofHours(1),
                    "day", Duration.ofDays(1),
                    "week", Duration.ofDays(7));

    private final Clock clock;

    public WhenParser(Clock clock) {
        this.clock = clock;
    }

    /**
     * @throws IllegalArgumentException with a message that completes "run_at ..." (names the
     *     accepted forms, or says the time is past)
     */
    public When parse(String text, ZoneId zone) {
        Instant now = clock.instant();
        When read = read(text, zone, now);
        if (read instanceof When.At at && at.at().isBefore(now.minus(TOLERANCE))) {
            throw new IllegalArgumentException(
                    "is in the past ("
                            + at.at().atZone(zone).toOffsetDateTime()
                            + "); give a time to come");
        }
        return read;
    }

    /**
     * As {@link #parse} but a time in the past is taken too (a schedule's {@code start_at}, which
     * only sets the phase of its ticks).
     */
    public When parseAnyTime(String text, ZoneId zone) {
        return read(text, zone, clock.instant());
    }

    private static When read(String text, ZoneId zone, Instant now) {
        String phrase = text == null ? "" : text.trim().replaceAll("\\s+", " ");
        return rfc3339(phrase)
                .or(() -> phrase(phrase.toLowerCase(Locale.ROOT), zone, now))
                .orElseThrow(
                        () ->
                                new IllegalArgumentException(
                                        "must be " + FORMS + "; got '" + text + "'"));
    }

    /** What "now" is to this parser. */
    public Instant now() {
        return clock.instant();
    }

    private static Optional<When> rfc3339(String text) {
        try {
            return Optional.of(new When.At(OffsetDateTime.parse(text).toInstant()));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static Optional<When> phrase(String text, ZoneId zone, Instant now) {
        if (text.equals("now")) {
            return Optional.of(new When.After(Duration.ZERO));
        }
        Matcher span = SPAN.matcher(text);
        if (span.matches()) {
            long n = span.group(1).startsWith("a") ? 1 : Long.parseLong(span.group(1));
            return Optional.of(new When.After(UNITS.get(span.group(2)).multipliedBy(n)));
        }
        Matcher shortSpan = SHORT_SPAN.matcher(text);
        if (shortSpan.matches()) {
            return Durations.parse(shortSpan.group(1)).map(When.After::new);
        }
        Matcher dayAndTime = DAY_AND_TIME.matcher(text);
        if (!dayAndTime.matches()) {
            return Optional.empty();
        }
        Optional<LocalTime> time = time(dayAndTime.group(5));
        if (time.isEmpty()) {
            return Optional.empty();
        }
        LocalDate today = LocalDate.ofInstant(now, zone);
        String day = dayAndTime.group(1);
        if (day.equals("today")) {
            return Optional.of(at(today, time.get(), zone));
        }
        if (day.equals("tomorrow")) {
            return Optional.of(at(today.plusDays(1), time.get(), zone));
        }
        DayOfWeek weekday = weekday(dayAndTime.group(3));
        if (dayAndTime.group(2) != null) {
            return Optional.of(at(today.with(TemporalAdjusters.next(weekday)), time.get(), zone));
        }
        When.At sameDay = at(today.with(TemporalAdjusters.nextOrSame(weekday)), time.get(), zone);
        return Optional.of(
                sameDay.at().isAfter(now)
                        ? sameDay
                        : at(today.with(TemporalAdjusters.next(weekday)), time.get(), zone));
    }

    private static Optional<LocalTime> time(String text) {
        switch (text) {
            case "noon":
                return Optional.of(LocalTime.NOON);
            case "midnight":
                return Optional.of(LocalTime.MIDNIGHT);
            default:
                break;
        }
        Matcher twelve = CLOCK_12.matcher(text);
        if (twelve.matches()) {
            int hour = Integer.parseInt(twelve.group(1));
            int minute = twelve.group(2) == null ? 0 : Integer.parseInt(twelve.group(2));
            if (hour < 1 || hour > 12 || minute > 59) {
                return Optional.empty();
            }
            return Optional.of(
                    LocalTime.of(hour % 12 + (twelve.group(3).equals("p") ? 12 : 0), minute));
        }
        Matcher twentyFour = CLOCK_24.matcher(text);
        if (twentyFour.matches()) {
            int hour = Integer.parseInt(twentyFour.group(1));
            int minute = Integer.parseInt(twentyFour.group(2));
            if (hour > 23 || minute > 59) {
                return Optional.empty();
            }
            return Optional.of(LocalTime.of(hour, minute));
        }
        return Optional.empty();
    }

    private static DayOfWeek weekday(String name) {
        for (DayOfWeek d : DayOfWeek.values()) {
            if (d.name().toLowerCase(Locale.ROOT).startsWith(name.substring(0, 3))) {
                return d;
            }
        }
        throw new IllegalStateException(name); // the pattern admits only day names
    }

    /**
     * A wall time in a zone as an instant: in a spring-forward gap, the instant of the jump; in a
     * fall-back overlap, the first occurrence.
     */
    private static When.At at(LocalDate date, LocalTime time, ZoneId zone) {
        LocalDateTime wall = date.atTime(time);
        ZoneRules rules = zone.getRules();
        if (rules.getValidOffsets(wall).isEmpty()) {
            return new When.At(rules.getTransition(wall).getInstant());
        }
        return new When.At(wall.atZone(zone).withEarlierOffsetAtOverlap().toInstant());
    }
}
