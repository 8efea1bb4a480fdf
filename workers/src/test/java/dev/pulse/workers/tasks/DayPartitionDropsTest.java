package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.QueueKit;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Retention deletes old terminal tasks with their attempts and deliveries, and nothing else: here
 * whole day partitions once nothing holds them ({@link RowPruningTest}: the rows outside day
 * partitions, one by one).
 */
class DayPartitionDropsTest {

    // Task ids carry their creation time (UUIDv7): these tasks were created two days ago.
    @RegisterExtension
    final QueueKit kit =
            new QueueKit(Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC));

    @Test
    void dropsADayOfAttemptsOnceNoTaskOfItRemainsAndADayOfDeliveriesOnceNoneIsPending()
            throws Exception {
        // A database that has run for days: no legacy partitions, days made in the past.
        HistoryPartitionsTest.dropLegacyPartitions(kit);
        HistoryPartitions partitions = new HistoryPartitions(kit.database.jdbi());
        LocalDate today = partitions.today();
        assertThat(partitions.ensure(today.minusDays(6), today))
                .isEqualTo(HistoryTable.values().length * 6); // today's were made by the migrations
        LocalDate gone = today.minusDays(5);
        LocalDate held = today.minusDays(4);
        // Created and finished 5 days ago: its day of tasks goes, and then its day of attempts.
        UUID goneTask = task(gone, "succeeded");
        // Created 4 days ago and still waiting: its day of attempts stays while it does.
        UUID heldTask = task(held, "queued");
        attempt(goneTask);
        attempt(heldTask);
        delivery(gone, "delivered");
        UUID pending = delivery(held, "pending");
        UUID recent = delivery(today.minusDays(2), "delivered");

        DayPartitionDrops drops =
                new DayPartitionDrops(
                        kit.database.jdbi(),
                        new RetentionSchedule(
                                Duration.ofDays(3), Duration.ofHours(1), Duration.ZERO));
        List<String> expected = new ArrayList<>();
        for (LocalDate day = today.minusDays(6); day.isBefore(held); day = day.plusDays(1)) {
            for (HistoryTable table : HistoryTable.values()) {
                expected.add(table.partition(day));
            }
        }
        expected.add(HistoryTable.TASKS.partition(held));
        assertThat(drops.dropPartitions()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(kit.tasks.find(goneTask)).isEmpty();
        assertThat(kit.attemptRows(goneTask)).isZero();
        // Held: the queued task's attempt, the pending delivery; and what is newer than the
        // retention.
        assertThat(kit.attemptRows(heldTask)).isEqualTo(1);
        assertThat(kit.deliveryRows(pending)).isEqualTo(1);
        assertThat(kit.deliveryRows(recent)).isEqualTo(1);
        assertThat(drops.dropPartitions()).isEmpty();

        // Once its task is gone and its delivery sent, the held days go too.
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            h.execute("DELETE FROM tasks WHERE id = ?", heldTask);
                            h.execute(
                                    "UPDATE callback_deliveries SET state = 'delivered' WHERE id = ?",
                                    pending);
                        });
        assertThat(drops.dropPartitions())
                .containsExactlyInAnyOrder(
                        HistoryTable.ATTEMPTS.partition(held),
                        HistoryTable.DELIVERIES.partition(held));
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
        assertThat(kit.count("SELECT count(*) FROM task_attempts")).isZero();
    }

    @Test
    void dropsOldDaysWhileAClaimHoldsTheQueue() throws Exception {
        HistoryPartitionsTest.dropLegacyPartitions(kit);
        HistoryPartitions partitions = new HistoryPartitions(kit.database.jdbi());
        LocalDate old = partitions.today().minusDays(5);
        partitions.ensure(old, old);
        DayPartitionDrops drops =
                new DayPartitionDrops(
                        kit.database.jdbi(),
                        new RetentionSchedule(
                                Duration.ofDays(3), Duration.ofHours(1), Duration.ZERO));
        // The claims address tasks_queue alone: dropping a day (which locks tasks) must not wait
        // for them, nor make them wait.
        try (var claim = kit.database.jdbi().open()) {
            claim.begin();
            try {
                claim.execute("LOCK TABLE tasks_queue IN ROW EXCLUSIVE MODE");
                assertThat(drops.dropPartitions())
                        .containsExactlyInAnyOrder(
                                HistoryTable.TASKS.partition(old),
                                HistoryTable.ATTEMPTS.partition(old),
                                HistoryTable.DELIVERIES.partition(old));
            } finally {
                claim.rollback();
            }
        }
    }

    /** A task created at noon UTC on {@code day}, in {@code state} (finished then if terminal). */
    private UUID task(LocalDate day, String state) {
        Instant noon = day.atTime(12, 0).toInstant(ZoneOffset.UTC);
        UUID id = new TaskIds(Clock.fixed(noon, ZoneOffset.UTC), new Random()).next();
        boolean finished = !state.equals("queued");
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                "INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at,"
                                                        + " virtual_start, created_at, finished_at)"
                                                        + " VALUES (:id, 'echo', :state, '{}', 1, 10, :at, :at, :at, :finished)")
                                        .bind("id", id)
                                        .bind("state", state)
                                        .bind("at", noon.atOffset(ZoneOffset.UTC))
                                        .bind(
                                                "finished",
                                                finished
                                                        ? noon.plusSeconds(60)
                                                                .atOffset(ZoneOffset.UTC)
                                                        : null)
                                        .execute());
        return id;
    }

    private void attempt(UUID task) {
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "INSERT INTO task_attempts (task_id, attempt, node, lease_token, finished_at, outcome)"
                                                + " VALUES (?, 1, 'node-a', gen_random_uuid(), now(), 'released')",
                                        task));
    }

    /** A task's delivery created at noon UTC on {@code day}, in {@code state}. */
    private UUID delivery(LocalDate day, String state) {
        Instant noon = day.atTime(12, 0).toInstant(ZoneOffset.UTC);
        UUID id = new TaskIds(Clock.fixed(noon, ZoneOffset.UTC), new Random()).next();
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                "INSERT INTO callback_deliveries (id, task_id, event_type, url, body, state, created_at)"
                                                        + " VALUES (:id, gen_random_uuid(), 'task.succeeded', 'http://127.0.0.1:9/', '{}',"
                                                        + " :state, :at)")
                                        .bind("id", id)
                                        .bind("state", state)
                                        .bind("at", noon.atOffset(ZoneOffset.UTC))
                                        .execute());
        return id;
    }
}
