package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.testing.QueueKit;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Retention deletes old terminal tasks with their attempts and deliveries, and nothing else: here
 * the rows outside day partitions, one by one ({@link DayPartitionDropsTest}: whole day partitions
 * once nothing holds them).
 */
class RowPruningTest {

    // Task ids carry their creation time (UUIDv7): these tasks were created two days ago.
    @RegisterExtension
    final QueueKit kit =
            new QueueKit(Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC));

    @Test
    void deletesOnlyTerminalTasksThatFinishedBeforeTheRetention() throws Exception {
        UUID oldSucceeded = finished("succeeded", Duration.ofHours(30));
        UUID oldFailed = finished("failed", Duration.ofHours(30));
        UUID oldCancelled = finished("cancelled", Duration.ofHours(30));
        UUID recentSucceeded = finished("succeeded", Duration.ofHours(2));
        UUID queued = kit.insert(kit.newTask("echo", 0)).id();
        UUID running = kit.insert(kit.newTask("echo", 0)).id();
        kit.claimer("node-a")
                .claim(10); // claims queued and running alike; put one back to queued below
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE tasks SET state = 'queued', lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
                                        queued));
        // Non-terminal rows that look old in every other way must survive: a finished_at left from
        // an
        // earlier attempt, an old updated_at.
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE tasks SET finished_at = now() - interval '40 hours', updated_at = now() - interval '40 hours'"
                                                + " WHERE id IN (?, ?)",
                                        queued,
                                        running));

        long deleted =
                new RowPruning(
                                kit.database.jdbi(),
                                new RetentionSchedule(Duration.ofDays(1), Duration.ofHours(1)))
                        .pruneAll();

        assertThat(deleted).isEqualTo(3);
        assertThat(ids()).containsExactlyInAnyOrder(recentSucceeded, queued, running);
        assertThat(ids()).doesNotContain(oldSucceeded, oldFailed, oldCancelled);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM ended_attempts WHERE task_id NOT IN (SELECT id FROM tasks)"))
                .isZero();
        // recentSucceeded's (the claims of queued and running wrote none: a row is written when its
        // attempt ends)
        assertThat(kit.count("SELECT count(*) FROM ended_attempts")).isEqualTo(1);
    }

    @Test
    void keepsATaskWhoseCallbackIsStillPendingAndDeletesDeliveredOnesWithTheirDeliveries()
            throws Exception {
        kit.insert(kit.withCallback("echo", "http://127.0.0.1:9/a", 1));
        kit.insert(kit.withCallback("echo", "http://127.0.0.1:9/b", 1));
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(2);
        kit.completer.recordAll(
                claimed.stream()
                        .map(c -> kit.completer.succeeded(c, kit.jsonOf("{}"), null))
                        .toList());
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE tasks SET finished_at = now() - interval '30 hours'"));
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE callback_deliveries SET state = 'delivered' WHERE task_id = ?",
                                        claimed.get(0).id()));

        long deleted =
                new RowPruning(
                                kit.database.jdbi(),
                                new RetentionSchedule(Duration.ofDays(1), Duration.ofHours(1)))
                        .pruneAll();

        assertThat(deleted).isEqualTo(1);
        assertThat(ids()).containsExactly(claimed.get(1).id());
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries WHERE state = 'pending'"))
                .isEqualTo(1);
    }

    @Test
    void deletesOperatorAlertsSentBeforeTheRetentionAndKeepsPendingAndRecentOnes() {
        UUID oldSent = alert("delivered", "30 hours");
        UUID oldDead = alert("dead", "30 hours");
        UUID oldPending = alert("pending", "30 hours");
        UUID recentSent = alert("delivered", "1 hour");

        int deleted =
                new RowPruning(
                                kit.database.jdbi(),
                                new RetentionSchedule(Duration.ofDays(1), Duration.ofHours(1)))
                        .pruneAlerts();

        assertThat(deleted).isEqualTo(2);
        List<UUID> left =
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery("SELECT id FROM callback_deliveries")
                                                .mapTo(UUID.class)
                                                .list());
        assertThat(left)
                .containsExactlyInAnyOrder(oldPending, recentSent)
                .doesNotContain(oldSent, oldDead);
    }

    /** An operator alert (a delivery without a task) in {@code state}, created {@code ago}. */
    private UUID alert(String state, String ago) {
        UUID id = UUID.randomUUID();
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                "INSERT INTO callback_deliveries (id, task_id, event_type, url, body, state, created_at)"
                                                        + " VALUES (:id, NULL, 'agent.held', 'http://127.0.0.1:9/alerts', '{}', :state,"
                                                        + " now() - CAST(:ago AS interval))")
                                        .bind("id", id)
                                        .bind("state", state)
                                        .bind("ago", ago)
                                        .execute());
        return id;
    }

    @Test
    void deletesInBatchesUntilNothingIsDue() throws Exception {
        int n = RowPruning.BATCH * 2 + 17;
        for (int i = 0; i < n; i++) {
            finished("succeeded", Duration.ofHours(30));
        }

        long deleted =
                new RowPruning(
                                kit.database.jdbi(),
                                new RetentionSchedule(
                                        Duration.ofDays(1), Duration.ofHours(1), Duration.ZERO))
                        .pruneAll();

        assertThat(deleted).isEqualTo(n);
        assertThat(kit.count("SELECT count(*) FROM tasks")).isZero();
    }

    @Test
    void deletesStrayAttemptsAndDeliveriesOfGoneTasksFromTheDefaultPartitions() {
        // Ids of a day that has no partition (a node's clock a month ahead) land in the defaults.
        Instant ahead = Instant.now().plus(Duration.ofDays(30));
        UUID goneTask = new TaskIds(Clock.fixed(ahead, ZoneOffset.UTC), new Random(1)).next();
        UUID keptTask = new TaskIds(Clock.fixed(ahead, ZoneOffset.UTC), new Random(5)).next();
        UUID recentGoneTask = new TaskIds(Clock.fixed(ahead, ZoneOffset.UTC), new Random(2)).next();
        UUID strayDelivery = new TaskIds(Clock.fixed(ahead, ZoneOffset.UTC), new Random(3)).next();
        UUID pendingDelivery =
                new TaskIds(Clock.fixed(ahead, ZoneOffset.UTC), new Random(4)).next();
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            String attempt =
                                    "INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at, finished_at, outcome)"
                                            + " VALUES (?, 1, 'node-a', gen_random_uuid(), now() - CAST(? AS interval),"
                                            + " now() - CAST(? AS interval), 'released')";
                            h.execute(attempt, goneTask, "30 hours", "30 hours");
                            h.execute(attempt, recentGoneTask, "1 hour", "1 hour");
                            // its task is still queued: its attempt stays while it does
                            h.execute(
                                    "INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at,"
                                            + " virtual_start) VALUES (?, 'echo', 'queued', '{}', 2, 10, now(), now())",
                                    keptTask);
                            h.execute(attempt, keptTask, "30 hours", "30 hours");
                            String delivery =
                                    "INSERT INTO callback_deliveries (id, task_id, event_type, url, body, state, created_at)"
                                            + " VALUES (?, ?, 'task.succeeded', 'http://127.0.0.1:9/', '{}', ?,"
                                            + " now() - interval '30 hours')";
                            h.execute(delivery, strayDelivery, goneTask, "delivered");
                            h.execute(delivery, pendingDelivery, goneTask, "pending");
                        });
        assertThat(kit.count("SELECT count(*) FROM task_attempts_unplaced")).isEqualTo(3);
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries_unplaced")).isEqualTo(2);

        int deleted =
                new RowPruning(
                                kit.database.jdbi(),
                                new RetentionSchedule(Duration.ofDays(1), Duration.ofHours(1)))
                        .pruneStrays();

        assertThat(deleted).isEqualTo(2);
        assertThat(kit.attemptRows(goneTask)).isZero();
        assertThat(kit.attemptRows(recentGoneTask)).isEqualTo(1);
        assertThat(kit.deliveryRows(strayDelivery)).isZero();
        assertThat(kit.deliveryRows(pendingDelivery)).isEqualTo(1);
        assertThat(kit.attemptRows(keptTask)).isEqualTo(1);
    }

    @Test
    void theIdBoundIsAboveEveryUuidV7OfThatMillisecondAndBelowTheNext() {
        long ms = 1_763_700_000_000L;
        UUID bound = RowPruning.idBound(ms);
        UUID sameMs =
                new TaskIds(Clock.fixed(Instant.ofEpochMilli(ms), ZoneOffset.UTC), new Random(1))
                        .next();
        UUID nextMs =
                new TaskIds(
                                Clock.fixed(Instant.ofEpochMilli(ms + 1), ZoneOffset.UTC),
                                new Random(1))
                        .next();
        assertThat(
                        kit.count(
                                "SELECT CAST(CAST('"
                                        + sameMs
                                        + "' AS uuid) < CAST('"
                                        + bound
                                        + "' AS uuid) AS integer)"))
                .isEqualTo(1);
        assertThat(
                        kit.count(
                                "SELECT CAST(CAST('"
                                        + nextMs
                                        + "' AS uuid) > CAST('"
                                        + bound
                                        + "' AS uuid) AS integer)"))
                .isEqualTo(1);
    }

    /** A task that reached the given terminal state the given time ago (by the database clock). */
    private UUID finished(String state, Duration ago) {
        UUID id = kit.insert(kit.newTask("echo", 0)).id();
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                "UPDATE tasks SET state = :state, finished_at = now() - make_interval(secs => :secs) WHERE id = :id")
                                        .bind("state", state)
                                        .bind("secs", (double) ago.toSeconds())
                                        .bind("id", id)
                                        .execute());
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "INSERT INTO task_attempts (task_id, attempt, node, lease_token, finished_at, outcome)"
                                                + " VALUES (?, 1, 'node-a', gen_random_uuid(), now(), 'succeeded')",
                                        id));
        return id;
    }

    private List<UUID> ids() {
        return kit.database
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT id FROM tasks").mapTo(UUID.class).list());
    }
}
