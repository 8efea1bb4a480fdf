package dev.pulse.workers.schedules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.pulse.workers.schedules.DstPolicy.Gap;
import dev.pulse.workers.schedules.DstPolicy.Repeat;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The DST policy on the days clocks change, as the table in docs/api.md ("Time zones and DST")
 * shows it: every fire time of the line from 00:00 to 04:59 local time that day, written by hand
 * from the zone's published rules (Europe/Berlin 2027: 02:00 CET → 03:00 CEST on 28 March, 03:00
 * CEST → 02:00 CET on 31 October; America/New_York 2027: 14 March and 7 November at 02:00;
 * Australia/Lord_Howe, a 30-minute shift: 02:00 → 02:30 on 3 October 2027 and 02:00 → 01:30 on 4
 * April 2027; Pacific/Chatham: 02:45 → 03:45 on 26 September 2027).
 */
class DstPolicyTest {

    /**
     * Found by CronOracleTest: a repeated wall time adds two instants, and the search once never
     * stopped.
     */
    @Test
    void aMinutelyLineThroughAFallBackStopsAtTheCountItWasAskedFor() {
        ZoneId lordHowe = ZoneId.of("Australia/Lord_Howe");
        List<Instant> next =
                assertTimeoutPreemptively(
                        Duration.ofSeconds(30),
                        () ->
                                CronSpec.parse("* 1 * * *")
                                        .nextFireTimes(
                                                lordHowe,
                                                Instant.parse("2035-03-31T14:20:30Z"),
                                                12));
        // 01:21 to 01:32 on summer time (+11:00); the second 01:30-01:59 (+10:30) comes half an
        // hour later
        Instant first = OffsetDateTime.parse("2035-04-01T01:21+11:00").toInstant();
        assertThat(next)
                .isEqualTo(
                        IntStream.range(0, 12).mapToObj(i -> first.plusSeconds(60L * i)).toList());
    }

    @ParameterizedTest(name = "{1} in {0} on {2} 00:00-04:59, gap {3}, repeat {4}")
    @CsvSource(
            delimiter = '|',
            value = {
                // spring forward, Europe/Berlin: 02:00-02:59 does not exist
                "Europe/Berlin | 30 2 * * *    | 2027-03-28 | run_after | first  | 2027-03-28T03:00+02:00",
                "Europe/Berlin | 30 2 * * *    | 2027-03-28 | skip      | first  | ",
                "Europe/Berlin | 0,30 2 * * *  | 2027-03-28 | run_after | first  | 2027-03-28T03:00+02:00",
                "Europe/Berlin | 0 2,3 * * *   | 2027-03-28 | run_after | first  | 2027-03-28T03:00+02:00",
                "Europe/Berlin | 0 * * * *     | 2027-03-28 | run_after | first  | 2027-03-28T00:00+01:00 2027-03-28T01:00+01:00 2027-03-28T03:00+02:00 2027-03-28T04:00+02:00",
                "Europe/Berlin | */30 2 * * *  | 2027-03-28 | run_after | first  | ",
                "Europe/Berlin | 30 3 * * *    | 2027-03-28 | skip      | second | 2027-03-28T03:30+02:00",
                // fall back, Europe/Berlin: 02:00-02:59 happens twice, first CEST (+02:00) then CET
                // (+01:00)
                "Europe/Berlin | 30 2 * * *    | 2027-10-31 | run_after | first  | 2027-10-31T02:30+02:00",
                "Europe/Berlin | 30 2 * * *    | 2027-10-31 | skip      | second | 2027-10-31T02:30+01:00",
                "Europe/Berlin | 0 2-3 * * *   | 2027-10-31 | run_after | first  | 2027-10-31T02:00+02:00 2027-10-31T03:00+01:00",
                "Europe/Berlin | 0,30 2 * * *  | 2027-10-31 | run_after | first  | 2027-10-31T02:00+02:00 2027-10-31T02:30+02:00",
                "Europe/Berlin | 0 * * * *     | 2027-10-31 | run_after | first  | 2027-10-31T00:00+02:00 2027-10-31T01:00+02:00 2027-10-31T02:00+02:00 2027-10-31T02:00+01:00 2027-10-31T03:00+01:00 2027-10-31T04:00+01:00",
                "Europe/Berlin | 0 */2 * * *   | 2027-10-31 | run_after | second | 2027-10-31T00:00+02:00 2027-10-31T02:00+02:00 2027-10-31T02:00+01:00 2027-10-31T04:00+01:00",
                "Europe/Berlin | */30 2 * * *  | 2027-10-31 | run_after | second | 2027-10-31T02:00+02:00 2027-10-31T02:30+02:00 2027-10-31T02:00+01:00 2027-10-31T02:30+01:00",
                "Europe/Berlin | 0 0 * * *     | 2027-10-31 | run_after | second | 2027-10-31T00:00+02:00",
                // America/New_York
                "America/New_York | 30 2 * * * | 2027-03-14 | run_after | first  | 2027-03-14T03:00-04:00",
                "America/New_York | 30 1 * * * | 2027-11-07 | run_after | first  | 2027-11-07T01:30-04:00",
                "America/New_York | 30 1 * * * | 2027-11-07 | run_after | second | 2027-11-07T01:30-05:00",
                // Australia/Lord_Howe: half-hour shifts
                "Australia/Lord_Howe | 15 2 * * * | 2027-10-03 | run_after | first  | 2027-10-03T02:30+11:00",
                "Australia/Lord_Howe | 15 2 * * * | 2027-10-03 | skip      | first  | ",
                "Australia/Lord_Howe | 45 1 * * * | 2027-04-04 | run_after | first  | 2027-04-04T01:45+11:00",
                "Australia/Lord_Howe | 45 1 * * * | 2027-04-04 | run_after | second | 2027-04-04T01:45+10:30",
                "Australia/Lord_Howe | 45 * * * * | 2027-04-04 | run_after | first  | 2027-04-04T00:45+11:00 2027-04-04T01:45+11:00 2027-04-04T01:45+10:30 2027-04-04T02:45+10:30 2027-04-04T03:45+10:30 2027-04-04T04:45+10:30",
                // Pacific/Chatham: the jump is at 02:45
                "Pacific/Chatham | 0 3 * * *  | 2027-09-26 | run_after | first  | 2027-09-26T03:45+13:45",
                // the same lines on ordinary days are untouched by the policy
                "Europe/Berlin | 30 2 * * *    | 2027-03-27 | skip      | second | 2027-03-27T02:30+01:00",
                "Europe/Berlin | 30 2 * * *    | 2027-03-29 | skip      | second | 2027-03-29T02:30+02:00"
            })
    void fireTimesOnTheDayClocksChange(
            String zone, String cron, LocalDate day, String gap, String repeat, String expected) {
        ZoneId z = ZoneId.of(zone);
        DstPolicy policy =
                new DstPolicy(
                        DstPolicy.parse(Gap.class, gap), DstPolicy.parse(Repeat.class, repeat));
        Instant start = day.atStartOfDay(z).toInstant().minusNanos(1);
        Instant end = day.atTime(5, 0).atZone(z).toInstant().minusNanos(1);
        List<Instant> fires = CronSpec.parse(cron).fireTimesBetween(z, policy, start, end, 1000);
        List<Instant> want =
                expected == null
                        ? List.of()
                        : Arrays.stream(expected.trim().split("\\s+"))
                                .map(t -> OffsetDateTime.parse(t).toInstant())
                                .toList();
        assertThat(fires)
                .as(
                        "%s in %s on %s (as local times: %s)",
                        cron,
                        zone,
                        day,
                        fires.stream().map(t -> t.atZone(z).toOffsetDateTime().toString()).toList())
                .isEqualTo(want);
        assertThat(CronSpec.parse(cron).nextFireTimes(z, policy, start, want.size()))
                .as("next fire times agree with the window")
                .isEqualTo(want);
    }
}
