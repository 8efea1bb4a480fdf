package dev.pulse.workers.json;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class TimestampsTest {

    /**
     * RFC 3339 section 5.6 {@code date-time}, transcribed from its ABNF (seconds are not optional
     * there).
     */
    private static final Pattern RFC_3339 =
            Pattern.compile(
                    "\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})");

    @Test
    void aScheduleFireTimeOnTheHourKeepsItsSeconds() {
        OffsetDateTime fire = OffsetDateTime.of(2026, 12, 8, 2, 30, 0, 0, ZoneOffset.ofHours(1));
        assertThat(fire.toString())
                .as("what the API used to write")
                .isEqualTo("2026-12-08T02:30+01:00");
        assertThat(Timestamps.rfc3339(fire)).isEqualTo("2026-12-08T02:30:00+01:00");
        assertThat(Timestamps.rfc3339(fire.toInstant())).isEqualTo("2026-12-08T01:30:00Z");
        assertThat(Timestamps.rfc3339(OffsetDateTime.of(2026, 12, 8, 2, 30, 0, 0, ZoneOffset.UTC)))
                .isEqualTo("2026-12-08T02:30:00Z");
        assertThat(Timestamps.rfc3339((Instant) null)).isNull();
        assertThat(Timestamps.rfc3339((OffsetDateTime) null)).isNull();
    }

    @Test
    void everyInstantInEveryZoneIsRfc3339AndReadsBackAsTheSameInstant() {
        SplittableRandom random = new SplittableRandom(18);
        List<String> wrong = new ArrayList<>();
        List<ZoneId> zones =
                ZoneId.getAvailableZoneIds().stream().sorted().map(ZoneId::of).toList();
        for (int i = 0; i < 20_000; i++) {
            // 1800..2200, whole minutes half of the time (the case toString shortens), any nanos
            // otherwise
            long second = random.nextLong(-5_364_662_400L, 7_258_118_400L);
            Instant instant =
                    random.nextBoolean()
                            ? Instant.ofEpochSecond(second - Math.floorMod(second, 60))
                            : Instant.ofEpochSecond(second, random.nextInt(1_000_000_000));
            OffsetDateTime local =
                    instant.atZone(zones.get(random.nextInt(zones.size()))).toOffsetDateTime();
            for (String text : List.of(Timestamps.rfc3339(instant), Timestamps.rfc3339(local))) {
                if (!RFC_3339.matcher(text).matches()
                        || !OffsetDateTime.parse(text).toInstant().equals(instant)) {
                    wrong.add(local + " -> " + text);
                }
            }
        }
        assertThat(wrong).as("timestamps that are not RFC 3339 or not the same instant").isEmpty();
    }
}
