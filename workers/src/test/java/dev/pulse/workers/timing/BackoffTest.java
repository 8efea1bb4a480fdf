package dev.pulse.workers.timing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BackoffTest {

    private final Backoff backoff =
            new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), new Random(11));

    @Test
    void eachAttemptWaitsBetweenHalfAndAllOfADoublingCeiling() {
        long[] ceilings = {1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000};
        for (int attempt = 1; attempt <= ceilings.length; attempt++) {
            for (int sample = 0; sample < 200; sample++) {
                long ms = backoff.delayAfter(attempt).toMillis();
                assertThat(ms).isBetween(ceilings[attempt - 1] / 2, ceilings[attempt - 1]);
            }
        }
    }

    @Test
    void jitterSpreadsRetriesOfTasksThatFailedTogether() {
        long distinct =
                IntStream.range(0, 100)
                        .mapToLong(i -> backoff.delayAfter(5).toMillis())
                        .distinct()
                        .count();
        assertThat(distinct).isGreaterThan(50);
    }

    @Test
    void hugeAttemptNumbersStayAtTheCap() {
        assertThat(backoff.delayAfter(1_000)).isLessThanOrEqualTo(Duration.ofSeconds(60));
        assertThat(backoff.delayAfter(1_000)).isGreaterThanOrEqualTo(Duration.ofSeconds(30));
    }
}
