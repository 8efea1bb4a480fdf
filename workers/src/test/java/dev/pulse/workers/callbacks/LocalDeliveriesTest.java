package dev.pulse.workers.callbacks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.MutableClock;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The in-memory hand-over between this node's outbox and its dispatcher; the database side is in
 * CallbackDispatcherTest.
 */
class LocalDeliveriesTest {

    private static CallbackDelivery delivery() {
        return new CallbackDelivery(
                UUID.randomUUID(), UUID.randomUUID(), "http://127.0.0.1:1/", "{}", 1);
    }

    @Test
    void roomShrinksAsDeliveriesWaitAndGrowsAsTheyAreTaken() {
        // A frozen clock: however slowly the test runs, no delivery waits past half its lease.
        LocalDeliveries local =
                new LocalDeliveries(
                        3,
                        Duration.ofSeconds(20),
                        new MutableClock(Instant.parse("2026-11-21T12:00:00Z")));
        CallbackDelivery a = delivery();
        CallbackDelivery b = delivery();

        local.handOver(List.of(a, b));

        assertThat(local.room()).isEqualTo(1);
        assertThat(local.take(1)).containsExactly(a);
        assertThat(local.room()).isEqualTo(2);
        assertThat(local.take(5)).containsExactly(b);
        assertThat(local.room()).isEqualTo(3);
    }

    @Test
    void aDeliveryThatWaitedPastHalfItsLeaseIsLeftToAClaim() {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-21T12:00:00Z"));
        LocalDeliveries local = new LocalDeliveries(10, Duration.ofSeconds(20), clock);
        CallbackDelivery stale = delivery();
        local.handOver(List.of(stale));
        clock.advance(Duration.ofSeconds(9));
        CallbackDelivery fresh = delivery();
        local.handOver(List.of(fresh));

        clock.advance(Duration.ofSeconds(2)); // the first has waited 11 s of its 20 s lease

        assertThat(local.take(10)).containsExactly(fresh);
        assertThat(local.room()).isEqualTo(10);
    }

    @Test
    void closedItTakesNoMoreAndGivesBackWhatWaits() {
        LocalDeliveries local =
                new LocalDeliveries(
                        10,
                        Duration.ofSeconds(20),
                        new MutableClock(Instant.parse("2026-11-21T12:00:00Z")));
        CallbackDelivery waiting = delivery();
        local.handOver(List.of(waiting));

        assertThat(local.close()).containsExactly(waiting);
        assertThat(local.room()).isZero();
        assertThat(local.take(10)).isEmpty();
    }

    @Test
    void takesRacingHandOversNeitherFailNorLoseNorRepeatADelivery() throws Exception {
        int capacity = 1_000_000;
        LocalDeliveries local =
                new LocalDeliveries(capacity, Duration.ofMinutes(10), Clock.systemUTC());
        int handOvers = 20_000;
        int each = 5;
        Thread outbox =
                new Thread(
                        () -> {
                            for (int i = 0; i < handOvers; i++) {
                                local.handOver(
                                        Stream.generate(LocalDeliveriesTest::delivery)
                                                .limit(each)
                                                .toList());
                            }
                        });
        Set<UUID> taken = new HashSet<>();
        outbox.start();
        while (outbox.isAlive()) {
            // A take that saw a delivery before its hand-over was counted once threw here.
            local.take(3).forEach(d -> assertThat(taken.add(d.id())).as("taken once").isTrue());
        }
        outbox.join();
        local.take(Integer.MAX_VALUE)
                .forEach(d -> assertThat(taken.add(d.id())).as("taken once").isTrue());

        assertThat(taken).hasSize(handOvers * each);
        assertThat(local.room()).isEqualTo(capacity);
    }

    @Test
    void noneHasNoRoom() {
        assertThat(LocalDeliveries.none().room()).isZero();
    }
}
