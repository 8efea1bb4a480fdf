package dev.pulse.workers.callbacks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.GenericPlans;
import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The outbox's claim, on a real PostgreSQL: due order, and resuming after a full claim. */
class DeliveryStoreTest {

    /**
     * Far longer than the test: a claimed delivery must not come due again while it runs, however
     * slowly.
     */
    private static final Duration LEASE = Duration.ofMinutes(10);

    @RegisterExtension final QueueKit kit = new QueueKit();
    private UUID taskId;

    @BeforeEach
    void setUp() {
        taskId = kit.insert(kit.newTask("echo", 0)).id();
    }

    @Test
    void outcomesReachTheirRowsThroughAnIndexEvenOnEmptyStatistics() {
        // One generic plan per connection (FixedPlans): it must not depend on when it was made.
        kit.database.jdbi().useHandle(h -> h.execute("ANALYZE callback_deliveries"));

        GenericPlans.assertBoundedByItsBatch(
                kit.database.jdbi(), "callback outcomes", DeliveryStore.RECORD_MANY);
        // V26: deliveries are partitioned by id; only the days of the batch's ids are read.
        assertThat(
                        String.join(
                                "\n",
                                GenericPlans.of(kit.database.jdbi(), DeliveryStore.RECORD_MANY)))
                .contains("(id >= ", "(id <= ");
    }

    @Test
    void resumesAfterItsLastFullClaimAndScansFromTheStartOnceAResumedClaimRunsShort() {
        List<UUID> due = new ArrayList<>();
        for (int secondsAgo = 40; secondsAgo > 0; secondsAgo -= 10) {
            due.add(pending(secondsAgo));
        }
        DeliveryStore store = new DeliveryStore(kit.database.jdbi(), Duration.ofHours(1));

        assertThat(ids(store.claim(2, LEASE))).containsExactly(due.get(0), due.get(1));
        UUID overdue = pending(60); // e.g. one whose claim lease just passed
        // Resumed where the last claim stopped: the overdue delivery lies before that point...
        assertThat(ids(store.claim(2, LEASE))).containsExactly(due.get(2), due.get(3));
        // ...and is claimed as soon as a resumed claim finds too few rows.
        assertThat(ids(store.claim(2, LEASE))).containsExactly(overdue);
        assertThat(store.claim(2, LEASE)).isEmpty();
    }

    @Test
    void scansFromTheStartOnceTheRescanIntervalHasPassed() {
        UUID first = pending(30);
        UUID second = pending(20);
        UUID third = pending(10);
        DeliveryStore store = new DeliveryStore(kit.database.jdbi(), Duration.ZERO);

        assertThat(ids(store.claim(2, LEASE))).containsExactly(first, second);
        UUID overdue = pending(60);
        assertThat(ids(store.claim(2, LEASE))).containsExactly(overdue, third);
    }

    /** A pending delivery that has been due for {@code secondsAgo}. */
    private UUID pending(int secondsAgo) {
        UUID id = UUID.randomUUID();
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "INSERT INTO callback_deliveries (id, task_id, event_type, url, body, next_attempt_at)"
                                                + " VALUES (?, ?, 'task.succeeded', 'http://127.0.0.1:9/hook', '{}', now() - make_interval(secs => ?))",
                                        id,
                                        taskId,
                                        (double) secondsAgo));
        return id;
    }

    private static List<UUID> ids(List<CallbackDelivery> deliveries) {
        return deliveries.stream().map(CallbackDelivery::id).toList();
    }
}
