package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Task ids are RFC 9562 version-7 UUIDs carrying their millisecond, distinct within a batch. */
class TaskIdsTest {

    private static final long MILLIS = 1_795_000_000_123L;

    @Test
    void aBatchOfIdsAreDistinctVersionSevenUuidsOfTheClocksMillisecond() {
        TaskIds ids =
                new TaskIds(
                        Clock.fixed(Instant.ofEpochMilli(MILLIS), ZoneOffset.UTC),
                        new SecureRandom());

        UUID[] batch = ids.next(1000);

        assertThat(Arrays.stream(batch).distinct()).hasSize(1000);
        for (UUID id : batch) {
            assertThat(id.version()).isEqualTo(7);
            assertThat(id.variant()).isEqualTo(2);
            assertThat(id.getMostSignificantBits() >>> 16).isEqualTo(MILLIS);
            assertThat(id)
                    .isGreaterThanOrEqualTo(TaskIds.floor(Instant.ofEpochMilli(MILLIS)))
                    .isLessThan(TaskIds.floor(Instant.ofEpochMilli(MILLIS + 1)));
        }
        assertThat(ids.next().getMostSignificantBits() >>> 16).isEqualTo(MILLIS);
    }
}
