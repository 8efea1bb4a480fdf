package dev.pulse.workers.schedules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Cron lines as crontab(5) and cronie read them, checked against days worked out by hand from a
 * calendar (2027: January 1st is a Friday). The oracle comparison over thousands of generated lines
 * is {@link CronOracleTest}; the DST policy's instants are {@link DstPolicyTest}.
 */
class CronSpecTest {

    private static final ZoneId UTC = ZoneOffset.UTC;

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "*/15 * * * *      | CRONTAB",
                "30 2 * * *        | CRONTAB",
                "0 9 * * 1-5       | CRONTAB",
                "0 9 * * mon-FRI/2 | CRONTAB",
                "0 0 1,15 * 5      | CRONTAB",
                "0 30 2 * * ?      | QUARTZ",
                "0 0 12 ? * WED 2030 | QUARTZ",
                "@daily            | CRONTAB",
                "@MONTHLY          | CRONTAB"
            })
    void acceptsCrontabQuartzAndMacroForms(String cron, CronSpec.Syntax syntax) {
        CronSpec spec = CronSpec.parse(cron);
        assertThat(spec.syntax()).isEqualTo(syntax);
        assertThat(spec.original()).isEqualTo(cron.trim());
        assertThat(spec.quartz()).isEqualTo(syntax == CronSpec.Syntax.QUARTZ ? cron.trim() : null);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "                    | is required",
                "* * *               | has 3 fields",
                "61 * * * *          | minute \"61\" has 61, out of range 0-59",
                "0 9 * * 8           | day-of-week \"8\" has 8, out of range 0-7",
                "0 9 * * FRI-SUN     | runs backwards",
                "0 9 * * 5-1         | runs backwards",
                "0 12 * * 1/2        | step on a single value",
                "*/0 * * * *         | step of 0",
                "0 0 * JANUARY *     | neither a number nor one of JAN",
                "0 0 1,,2 * *        | empty list element",
                "0 0 30 2 *          | never fires",
                "@fortnightly        | unknown macro",
                "@reboot             | unknown macro",
                "0 0 25 * * ?        | not a valid Quartz cron"
            })
    void refusesInvalidExpressionsSayingWhy(String cron, String message) {
        assertThatThrownBy(() -> CronSpec.parse(cron))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message.trim());
    }

    @Test
    void nextFireTimesFollowTheScheduleTimeZone() {
        List<Instant> next =
                CronSpec.parse("0 9 * * *")
                        .nextFireTimes(
                                ZoneId.of("Asia/Tokyo"), Instant.parse("2026-11-21T00:30:00Z"), 2);
        assertThat(next)
                .containsExactly(
                        Instant.parse("2026-11-22T00:00:00Z"),
                        Instant.parse("2026-11-23T00:00:00Z"));
    }

    /** The days in January and February 2027 on which a line fires, in UTC. */
    private static Set<LocalDate> days(String cron) {
        Set<LocalDate> days = new TreeSet<>();
        CronSpec spec = CronSpec.parse(cron);
        spec.nextFireTimes(UTC, Instant.parse("2026-12-31T23:59:59Z"), 100).stream()
                .filter(t -> t.isBefore(Instant.parse("2027-03-01T00:00:00Z")))
                .forEach(t -> days.add(t.atZone(UTC).toLocalDate()));
        return days;
    }

    private static Set<LocalDate> januaryAndFebruary(Predicate<LocalDate> which) {
        Set<LocalDate> days = new TreeSet<>();
        for (LocalDate d = LocalDate.of(2027, 1, 1);
                d.getYear() == 2027 && d.getMonthValue() <= 2;
                d = d.plusDays(1)) {
            if (which.test(d)) {
                days.add(d);
            }
        }
        return days;
    }

    private static boolean on(LocalDate d, DayOfWeek... dows) {
        return Set.of(dows).contains(d.getDayOfWeek());
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {"0 9 * * 1-5/2", "0 9 * * MON-FRI/2", "0 9 * * mon-fri/2", "0 9 * * 1,3,5"})
    void aStepOnADayOfWeekRangeTakesEveryOtherDayOfIt(String cron) {
        assertThat(days(cron))
                .isEqualTo(
                        januaryAndFebruary(
                                d ->
                                        on(
                                                d,
                                                DayOfWeek.MONDAY,
                                                DayOfWeek.WEDNESDAY,
                                                DayOfWeek.FRIDAY)));
    }

    @Test
    void aStepOnTheWholeWeekCountsFromSunday() {
        assertThat(days("0 9 * * 0-6/3"))
                .isEqualTo(
                        januaryAndFebruary(
                                d ->
                                        on(
                                                d,
                                                DayOfWeek.SUNDAY,
                                                DayOfWeek.WEDNESDAY,
                                                DayOfWeek.SATURDAY)));
        assertThat(days("0 9 * * */3")).isEqualTo(days("0 9 * * 0-6/3"));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {"0 9 * * 0-7", "0 9 * * *", "0 9 * * SUN-SAT,7"})
    void zeroToSevenIsEveryDay(String cron) {
        assertThat(days(cron)).isEqualTo(januaryAndFebruary(d -> true));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {"0 9 * * 5-7", "0 9 * * fri-7", "0 9 * * 0,5,6"})
    void aRangeEndingInSevenEndsOnSunday(String cron) {
        assertThat(days(cron))
                .isEqualTo(
                        januaryAndFebruary(
                                d ->
                                        on(
                                                d,
                                                DayOfWeek.FRIDAY,
                                                DayOfWeek.SATURDAY,
                                                DayOfWeek.SUNDAY)));
    }

    @Test
    void sevenAloneIsSunday() {
        assertThat(days("0 9 * * 7")).isEqualTo(januaryAndFebruary(d -> on(d, DayOfWeek.SUNDAY)));
    }

    /**
     * crontab(5): "If both fields are restricted (i.e., aren't *), the command will be run when
     * either field matches."
     */
    @Test
    void bothDayFieldsRestrictedMeansEither() {
        assertThat(days("0 0 1,15 * 5"))
                .isEqualTo(
                        januaryAndFebruary(
                                d ->
                                        d.getDayOfMonth() == 1
                                                || d.getDayOfMonth() == 15
                                                || on(d, DayOfWeek.FRIDAY)));
        assertThat(days("0 0 1-31/2 * sat"))
                .as("a range that covers the month still restricts it")
                .isEqualTo(
                        januaryAndFebruary(
                                d -> d.getDayOfMonth() % 2 == 1 || on(d, DayOfWeek.SATURDAY)));
    }

    /**
     * cronie (entry.c) decides "unrestricted" on the field's first character: {@code *}{@code /2}
     * or {@code *,10} count as {@code *}.
     */
    @Test
    void aDayFieldStartingWithAStarMakesTheOtherOneAFilter() {
        assertThat(days("0 0 */2 * sat"))
                .isEqualTo(
                        januaryAndFebruary(
                                d -> d.getDayOfMonth() % 2 == 1 && on(d, DayOfWeek.SATURDAY)));
        assertThat(days("0 0 13 * *,5"))
                .isEqualTo(januaryAndFebruary(d -> d.getDayOfMonth() == 13));
        assertThat(days("0 0 *,13 * 5"))
                .isEqualTo(januaryAndFebruary(d -> on(d, DayOfWeek.FRIDAY)));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "@yearly   | 0 0 1 1 *",
                "@annually | 0 0 1 1 *",
                "@monthly  | 0 0 1 * *",
                "@weekly   | 0 0 * * 0",
                "@daily    | 0 0 * * *",
                "@midnight | 0 0 * * *",
                "@hourly   | 0 * * * *"
            })
    void aliasesAreTheirLines(String alias, String line) {
        Instant from = Instant.parse("2026-12-30T10:17:00Z");
        assertThat(CronSpec.parse(alias).nextFireTimes(UTC, from, 5))
                .isEqualTo(CronSpec.parse(line).nextFireTimes(UTC, from, 5));
    }

    @Test
    void namesAreCaseInsensitiveInMonthsAndDays() {
        assertThat(
                        CronSpec.parse("0 0 1 jan-Mar,DEC *")
                                .nextFireTimes(UTC, Instant.parse("2027-01-05T00:00:00Z"), 4))
                .containsExactly(
                        Instant.parse("2027-02-01T00:00:00Z"),
                        Instant.parse("2027-03-01T00:00:00Z"),
                        Instant.parse("2027-12-01T00:00:00Z"),
                        Instant.parse("2028-01-01T00:00:00Z"));
    }

    @Test
    void quartzSyntaxKeepsQuartzsDayNumbersWhereOneIsSunday() {
        assertThat(days("0 0 9 ? * 1")).isEqualTo(januaryAndFebruary(d -> on(d, DayOfWeek.SUNDAY)));
        assertThat(days("0 0 9 ? * 2-6")).isEqualTo(days("0 9 * * 1-5"));
    }

    @Test
    void missedTicksAreTheLatestOnesOldestFirst() {
        CronSpec everyMinute = CronSpec.parse("* * * * *");
        List<Instant> missed =
                everyMinute.fireTimesBetween(
                        ZoneId.of("UTC"),
                        Instant.parse("2026-11-21T10:00:00Z"),
                        Instant.parse("2026-11-21T10:10:30Z"),
                        3);
        assertThat(missed)
                .containsExactly(
                        Instant.parse("2026-11-21T10:08:00Z"),
                        Instant.parse("2026-11-21T10:09:00Z"),
                        Instant.parse("2026-11-21T10:10:00Z"));
    }
}
