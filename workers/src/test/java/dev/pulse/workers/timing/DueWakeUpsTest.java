package dev.pulse.workers.timing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DueWakeUpsTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @Test
    void aDelayedTaskWakesTheWaitersAtItsDueTimeAndNotBefore() throws Exception {
        WakeUp queued = new WakeUp();
        try (DueWakeUps due = new DueWakeUps(queued, Clock.systemUTC())) {
            Instant runAt = Instant.now().plusMillis(300);
            due.at(runAt);
            assertThat(queued.await(PATIENCE)).as("woken").isTrue();
            assertThat(Instant.now()).isAfterOrEqualTo(runAt);
        }
    }

    @Test
    void tasksDueWithinOneGrainShareOneWakeUpAndPastOnesGetNone() throws Exception {
        AtomicInteger signals = new AtomicInteger();
        WakeUp queued = new WakeUp(signals::incrementAndGet);
        try (DueWakeUps due = new DueWakeUps(queued, Clock.systemUTC())) {
            Instant grain = Instant.ofEpochMilli((System.currentTimeMillis() / 5 + 100) * 5);
            due.at(grain);
            due.at(grain.minusMillis(1));
            due.at(grain.minusMillis(4));
            due.at(Instant.now().minusSeconds(1));
            due.at(null);
            assertThat(queued.await(PATIENCE)).isTrue();
            // A second wake-up would have to be scheduled by now; the one grain gave one.
            assertThat(queued.await(Duration.ofMillis(200))).isFalse();
            assertThat(signals).hasValue(1);
        }
    }
}
