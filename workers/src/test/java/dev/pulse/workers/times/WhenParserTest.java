package dev.pulse.workers.times;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The phrases are checked against expectations computed here with java.time's own adjusters and
 * day-by-day walks, and against instants written out by hand for the days clocks change.
 */
class WhenParserTest {

    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");
    private static final List<ZoneId> ZONES =
            List.of(
                    ZoneOffset.UTC,
                    BERLIN,
                    NEW_YORK,
                    ZoneId.of("Asia/Kolkata"),
                    ZoneId.of("Australia/Lord_Howe"),
                    ZoneId.of("Pacific/Chatham"));

    private static WhenParser at(Instant now) {
        return new WhenParser(Clock.fixed(now, ZoneOffset.UTC));
    }

    private static Instant instant(String text, ZoneId zone, Instant now) {
        return at(now).parse(text, zone).instant(now);
    }

    /** Every 5 h 17 min through five weeks around the spring and autumn changes of 2026. */
    private static List<Instant> nows() {
        List<Instant> nows = new java.util.ArrayList<>();
        for (Instant start :
                List.of(
                        Instant.parse("2026-03-01T00:00:00Z"),
                        Instant.parse("2026-10-10T00:00:00Z"))) {
            for (Instant t = start;
                    t.isBefore(start.plus(35, ChronoUnit.DAYS));
                    t = t.plus(Duration.ofMinutes(317))) {
                nows.add(t);
            }
        }
        return nows;
    }

    @Test
    void dayPhrasesMeanWhatJavaTimeAdjustersSayInEveryZone() {
        for (ZoneId zone : ZONES) {
            for (Instant now : nows()) {
                LocalDate today = LocalDate.ofInstant(now, zone);
                check(
                        "tomorrow 9am",
                        zone,
                        now,
                        today.plusDays(1).atTime(9, 0).atZone(zone).toInstant());
                check(
                        "tomorrow at 09:30",
                        zone,
                        now,
                        today.plusDays(1).atTime(9, 30).atZone(zone).toInstant());
                check(
                        "next monday 9am",
                        zone,
                        now,
                        today.with(TemporalAdjusters.next(DayOfWeek.MONDAY))
                                .atTime(9, 0)
                                .atZone(zone)
                                .toInstant());
                check(
                        "friday 18:00",
                        zone,
                        now,
                        firstAfter(now, zone, DayOfWeek.FRIDAY, LocalTime.of(18, 0)));
                check(
                        "Sun 7:15 PM",
                        zone,
                        now,
                        firstAfter(now, zone, DayOfWeek.SUNDAY, LocalTime.of(19, 15)));
                check("in 10 minutes", zone, now, now.plus(10, ChronoUnit.MINUTES));
                check("in 2 hours", zone, now, now.plus(2, ChronoUnit.HOURS));
                check("in 1 day", zone, now, now.plus(24, ChronoUnit.HOURS));
                check("in 2h30m", zone, now, now.plus(150, ChronoUnit.MINUTES));
                Instant fivePm = today.atTime(17, 0).atZone(zone).toInstant();
                if (!fivePm.isBefore(now.minus(WhenParser.TOLERANCE))) {
                    check("today 17:00", zone, now, fivePm);
                }
            }
        }
    }

    /** Walks day by day from today: the first such day and time not yet past. */
    private static Instant firstAfter(Instant now, ZoneId zone, DayOfWeek day, LocalTime time) {
        for (LocalDate d = LocalDate.ofInstant(now, zone); ; d = d.plusDays(1)) {
            Instant candidate = d.atTime(time).atZone(zone).toInstant();
            if (d.getDayOfWeek() == day && candidate.isAfter(now)) {
                return candidate;
            }
        }
    }

    private static void check(String phrase, ZoneId zone, Instant now, Instant expected) {
        assertThat(instant(phrase, zone, now))
                .as("'%s' in %s at %s", phrase, zone, now)
                .isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
        // Europe/Berlin jumps 02:00 CET -> 03:00 CEST on 29 March 2026: 02:30 does not exist.
        "Europe/Berlin, 2026-03-28T12:00:00Z, tomorrow 2:30am, 2026-03-29T01:00:00Z",
        "Europe/Berlin, 2026-03-28T12:00:00Z, tomorrow 9am, 2026-03-29T07:00:00Z",
        "Europe/Berlin, 2026-03-28T12:00:00Z, tomorrow 1:59am, 2026-03-29T00:59:00Z",
        "Europe/Berlin, 2026-03-28T23:30:00Z, in 2 hours, 2026-03-29T01:30:00Z",
        "Europe/Berlin, 2026-03-22T12:00:00Z, next sunday 02:30, 2026-03-29T01:00:00Z",
        // ... and 03:00 CEST -> 02:00 CET on 25 October 2026: 02:30 happens twice; the first
        // counts.
        "Europe/Berlin, 2026-10-24T12:00:00Z, tomorrow 2:30am, 2026-10-25T00:30:00Z",
        "Europe/Berlin, 2026-10-24T12:00:00Z, tomorrow 9am, 2026-10-25T08:00:00Z",
        "Europe/Berlin, 2026-10-25T00:15:00Z, today 02:30, 2026-10-25T00:30:00Z",
        // America/New_York: 02:00 EST -> 03:00 EDT on 8 March, 02:00 EDT -> 01:00 EST on 1
        // November.
        "America/New_York, 2026-03-07T17:00:00Z, tomorrow 2:30am, 2026-03-08T07:00:00Z",
        "America/New_York, 2026-03-07T17:00:00Z, tomorrow 9am, 2026-03-08T13:00:00Z",
        "America/New_York, 2026-03-07T17:00:00Z, sunday 12am, 2026-03-08T05:00:00Z",
        "America/New_York, 2026-10-31T17:00:00Z, tomorrow 1:30am, 2026-11-01T05:30:00Z",
        "America/New_York, 2026-10-31T17:00:00Z, tomorrow at noon, 2026-11-01T17:00:00Z",
        "America/New_York, 2026-10-31T17:00:00Z, tomorrow midnight, 2026-11-01T04:00:00Z",
    })
    void daysWhenClocksChange(String zone, String now, String phrase, String expected) {
        assertThat(instant(phrase, ZoneId.of(zone), Instant.parse(now)))
                .isEqualTo(Instant.parse(expected));
    }

    @Test
    void spansStaySpansSoTheDatabaseClockCanCountThem() {
        Instant now = Instant.parse("2026-12-07T12:00:00Z");
        assertThat(at(now).parse("in 10 minutes", BERLIN))
                .isEqualTo(new When.After(Duration.ofMinutes(10)));
        assertThat(at(now).parse("In An Hour", BERLIN))
                .isEqualTo(new When.After(Duration.ofHours(1)));
        assertThat(at(now).parse("in 3 weeks", BERLIN))
                .isEqualTo(new When.After(Duration.ofDays(21)));
        assertThat(at(now).parse("in PT5M", BERLIN))
                .isEqualTo(new When.After(Duration.ofMinutes(5)));
        assertThat(at(now).parse("now", BERLIN)).isEqualTo(new When.After(Duration.ZERO));
        assertThat(at(now).parse("2026-12-08T09:30:00+01:00", NEW_YORK))
                .isEqualTo(new When.At(Instant.parse("2026-12-08T08:30:00Z")));
    }

    @Test
    void aTimeAlreadyPastIsRefusedUnlessWithinAMinute() {
        Instant now = Instant.parse("2026-12-07T17:00:40Z");
        assertThat(instant("today 17:00", ZoneOffset.UTC, now))
                .isEqualTo(Instant.parse("2026-12-07T17:00:00Z"));
        assertThat(instant("2026-12-07T16:59:45Z", ZoneOffset.UTC, now))
                .isEqualTo(Instant.parse("2026-12-07T16:59:45Z"));
        BiFunction<String, ZoneId, Throwable> refused =
                (text, zone) -> {
                    try {
                        at(now).parse(text, zone);
                        return null;
                    } catch (IllegalArgumentException e) {
                        return e;
                    }
                };
        assertThat(refused.apply("today 16:59", ZoneOffset.UTC))
                .hasMessageStartingWith("is in the past (2026-12-07T16:59Z)");
        assertThat(refused.apply("2026-12-07T16:58:00Z", ZoneOffset.UTC))
                .hasMessageContaining("is in the past");
        // 17:00 in Berlin is 16:00Z.
        assertThat(refused.apply("today 17:00", BERLIN)).hasMessageContaining("+01:00");
        // A bare weekday is never past: Monday 7 December 17:00 means next week.
        assertThat(instant("monday 17:00", ZoneOffset.UTC, now))
                .isEqualTo(Instant.parse("2026-12-14T17:00:00Z"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "tomorrow",
                "9am",
                "next week",
                "in 10 fortnights",
                "in -5 minutes",
                "in 1.5 hours",
                "in 5",
                "10 minutes",
                "10 minutes ago",
                "tomorrow 25:00",
                "tomorrow 13pm",
                "tomorrow 0am",
                "tomorrow 9:60",
                "tomorrow 9",
                "tomorrow 9:5",
                "today at",
                "next 9am",
                "next month",
                "someday 9am",
                "last friday 9am",
                "yesterday 9am",
                "2026-12-08T09:00:00",
                "2026-12-08 09:00",
                "2026-12-08",
                "friday 18:00 UTC",
                "tomorrow 9am tomorrow"
            })
    void anythingElseIsRefusedListingTheAcceptedForms(String text) {
        assertThatThrownBy(() -> at(Instant.parse("2026-12-07T12:00:00Z")).parse(text, BERLIN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("RFC 3339")
                .hasMessageContaining("'tomorrow 9am'")
                .hasMessageContaining("'in 10 minutes'");
    }
}
