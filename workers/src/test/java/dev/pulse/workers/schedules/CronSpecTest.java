package dev.pulse.workers.schedules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CronSpecTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "*/15 * * * *      | 0 */15 * * * ?",
            "30 2 * * *        | 0 30 2 * * ?",
            "0 9 * * 1-5       | 0 0 9 ? * MON-FRI",
            "0 9 * * 0,6       | 0 0 9 ? * SUN,SAT",
            "0 9 * * 7         | 0 0 9 ? * SUN",
            "0 0 1 * *         | 0 0 0 1 * ?",
            "0 12 * * 1/2      | 0 0 12 ? * MON/2",
            "0 30 2 * * ?      | 0 30 2 * * ?",
            "0 0 12 ? * WED 2030 | 0 0 12 ? * WED 2030",
            "@daily            | 0 0 0 * * ?",
            "@hourly           | 0 0 * * * ?",
            "@weekly           | 0 0 0 ? * SUN",
            "@MONTHLY          | 0 0 0 1 * ?"})
    void acceptsUnixQuartzAndMacroForms(String cron, String quartz) {
        assertThat(CronSpec.parse(cron).quartz()).isEqualTo(quartz);
        assertThat(CronSpec.parse(cron).original()).isEqualTo(cron.trim());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "                    | is required",
            "* * *               | has 3 fields",
            "61 * * * *          | not a valid cron",
            "0 9 1 * 1           | both day-of-month and day-of-week",
            "0 9 * * 8           | out of range",
            "@fortnightly        | unknown macro",
            "0 0 25 * * ?        | not a valid cron"})
    void refusesInvalidExpressionsSayingWhy(String cron, String message) {
        assertThatThrownBy(() -> CronSpec.parse(cron)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message.trim());
    }

    @Test
    void nextFireTimesFollowTheScheduleTimeZone() {
        List<Instant> next = CronSpec.parse("0 9 * * *").nextFireTimes(ZoneId.of("Asia/Tokyo"),
                Instant.parse("2026-11-21T00:30:00Z"), 2);
        assertThat(next).containsExactly(Instant.parse("2026-11-22T00:00:00Z"), Instant.parse("2026-11-23T00:00:00Z"));
    }

    /** Documented DST rules: a wall time that doesn't exist is skipped; one that occurs twice fires once, at its second occurrence. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "America/New_York | 2026-03-07T12:00:00Z | 2026-03-07T02:30-05:00 | 2026-03-09T02:30-04:00",
            "Europe/Berlin    | 2026-03-28T12:00:00Z | 2026-03-28T02:30+01:00 | 2026-03-30T02:30+02:00"})
    void aDailyRunAt0230IsSkippedOnTheSpringForwardDay(String zone, String after, String unused, String expected) {
        Instant next = CronSpec.parse("30 2 * * *").nextFireTimes(ZoneId.of(zone), Instant.parse(after), 1).get(0);
        assertThat(next).isEqualTo(OffsetDateTime.parse(expected).toInstant());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "America/New_York | 30 1 * * * | 2026-10-31T12:00:00Z | 2026-11-01T01:30-05:00 | 2026-11-02T01:30-05:00",
            "Europe/Berlin    | 30 2 * * * | 2026-10-24T12:00:00Z | 2026-10-25T02:30+01:00 | 2026-10-26T02:30+01:00"})
    void aRepeatedWallTimeOnTheFallBackDayFiresOnceAtItsSecondOccurrence(String zone, String cron, String after,
                                                                          String first, String second) {
        List<Instant> next = CronSpec.parse(cron).nextFireTimes(ZoneId.of(zone), Instant.parse(after), 2);
        assertThat(next).containsExactly(OffsetDateTime.parse(first).toInstant(), OffsetDateTime.parse(second).toInstant());
    }

    @Test
    void missedTicksAreTheLatestOnesOldestFirst() {
        CronSpec everyMinute = CronSpec.parse("* * * * *");
        List<Instant> missed = everyMinute.fireTimesBetween(ZoneId.of("UTC"), Instant.parse("2026-11-21T10:00:00Z"),
                Instant.parse("2026-11-21T10:10:30Z"), 3);
        assertThat(missed).containsExactly(Instant.parse("2026-11-21T10:08:00Z"), Instant.parse("2026-11-21T10:09:00Z"),
                Instant.parse("2026-11-21T10:10:00Z"));
    }
}
