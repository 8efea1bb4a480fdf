package dev.pulse.workers.schedules;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.pulse.workers.schedules.ScheduleDefinition.Misfire;
import dev.pulse.workers.schedules.ScheduleDefinition.Overlap;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A stored schedule's ticks, counted here by hand rather than by the code under test. */
class TicksTest {

    private static final Instant FROM = Instant.parse("2026-12-07T12:00:00Z");

    private static Schedule schedule(
            CronSpec cron, Interval every, Bounds bounds, Instant firedThrough) {
        ScheduleDefinition d =
                new ScheduleDefinition(
                        "s",
                        cron,
                        ZoneId.of("Europe/Berlin"),
                        "echo",
                        JsonNodeFactory.instance.objectNode(),
                        JsonNodeFactory.instance.objectNode(),
                        null,
                        Misfire.SKIP,
                        10,
                        Overlap.ALLOW,
                        true,
                        DstPolicy.DEFAULT,
                        every,
                        bounds);
        return new Schedule(UUID.randomUUID(), d, firedThrough, FROM, FROM, FROM);
    }

    private static List<Instant> every(Duration period, int n) {
        List<Instant> ticks = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            ticks.add(FROM.plus(period.multipliedBy(k)));
        }
        return ticks;
    }

    @Test
    void intervalTicksAreTicksFromPlusMultiplesOfThePeriod() {
        Schedule s = schedule(null, Interval.parse("90s"), Bounds.NONE, FROM.minusSeconds(1));
        assertThat(s.nextFireTimes(FROM.minusSeconds(3600), 4))
                .isEqualTo(every(Duration.ofSeconds(90), 4));
        assertThat(s.nextFireTimes(FROM, 2))
                .containsExactly(FROM.plusSeconds(90), FROM.plusSeconds(180));
        assertThat(s.nextFireTimes(FROM.plusSeconds(89).plusNanos(999_999_999), 1))
                .containsExactly(FROM.plusSeconds(90));
        assertThat(s.fireTimesBetween(FROM.plusSeconds(10), FROM.plusSeconds(400), 100))
                .containsExactly(
                        FROM.plusSeconds(90),
                        FROM.plusSeconds(180),
                        FROM.plusSeconds(270),
                        FROM.plusSeconds(360));
        assertThat(s.fireTimesBetween(FROM.plusSeconds(10), FROM.plusSeconds(400), 2))
                .containsExactly(FROM.plusSeconds(270), FROM.plusSeconds(360));
        assertThat(s.fireTimesBetween(FROM.plusSeconds(90), FROM.plusSeconds(179), 10)).isEmpty();
        assertThat(s.isTick(FROM.plusSeconds(180))).isTrue();
        assertThat(s.isTick(FROM.plusSeconds(181))).isFalse();
        assertThat(s.isTick(FROM.minusSeconds(90))).isFalse();
        assertThat(s.state()).isEqualTo(Schedule.State.ACTIVE);
    }

    @Test
    void timesAndUntilEndTheTicksAndTheScheduleCompletesOnceTheLastIsAccountedFor() {
        Bounds three = new Bounds(null, null, 3);
        Schedule running = schedule(null, Interval.parse("2s"), three, FROM.plusSeconds(2));
        assertThat(running.nextFireTimes(FROM.minusSeconds(1), 10))
                .isEqualTo(every(Duration.ofSeconds(2), 3));
        assertThat(running.fireTimesBetween(FROM.minusSeconds(1), FROM.plusSeconds(60), 100))
                .isEqualTo(every(Duration.ofSeconds(2), 3));
        assertThat(running.isTick(FROM.plusSeconds(6))).isFalse();
        assertThat(running.state()).isEqualTo(Schedule.State.ACTIVE);
        assertThat(schedule(null, Interval.parse("2s"), three, FROM.plusSeconds(4)).state())
                .isEqualTo(Schedule.State.COMPLETED);

        Bounds untilFiveMinutes = new Bounds(null, FROM.plusSeconds(300), null);
        Schedule until = schedule(null, Interval.parse("PT1M"), untilFiveMinutes, FROM);
        assertThat(until.nextFireTimes(FROM, 10))
                .containsExactly(
                        FROM.plusSeconds(60),
                        FROM.plusSeconds(120),
                        FROM.plusSeconds(180),
                        FROM.plusSeconds(240),
                        FROM.plusSeconds(300));
    }

    @Test
    void aCronScheduleWithTimesFiresItsFirstCronTimesFromTicksFrom() {
        // 12:00Z is 13:00 in Berlin; "0 * * * *" ticks on the hour.
        Schedule s =
                schedule(
                        CronSpec.parse("0 * * * *"),
                        null,
                        new Bounds(null, null, 2),
                        FROM.minusSeconds(1));
        assertThat(s.nextFireTimes(FROM.minusSeconds(1), 5))
                .containsExactly(FROM, FROM.plusSeconds(3600));
        assertThat(s.isTick(FROM.plusSeconds(7200))).isFalse();
        Schedule unbounded = schedule(CronSpec.parse("0 * * * *"), null, Bounds.NONE, FROM);
        assertThat(unbounded.isTick(Instant.parse("2020-01-01T00:00:30Z")))
                .as("an unbounded cron schedule takes any tick it is offered, as before")
                .isTrue();
        Schedule started =
                schedule(
                        CronSpec.parse("0 * * * *"),
                        null,
                        new Bounds(FROM.plusSeconds(1800), null, null),
                        FROM);
        assertThat(started.nextFireTimes(FROM.minusSeconds(10_000), 1))
                .containsExactly(FROM.plusSeconds(3600));
    }
}
