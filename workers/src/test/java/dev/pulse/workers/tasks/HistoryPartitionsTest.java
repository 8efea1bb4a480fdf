package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.testing.QueueKit;
import dev.pulse.workers.testing.TestDatabase;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** V23's and V26's partitioned history: where rows live, what retention drops, and the upgrades. */
class HistoryPartitionsTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    private final HistoryPartitions partitions = new HistoryPartitions(kit.database.jdbi());

    @Test
    void makesTheDayPartitionsOfEveryTableAheadAndLeavesThoseThatExist() {
        LocalDate today = partitions.today();
        // The migrations made today's to today + 3: the later ones are made again here.
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            for (HistoryTable table : HistoryTable.values()) {
                                for (int i = 1; i <= HistoryPartitions.DAYS_AHEAD; i++) {
                                    h.execute("DROP TABLE " + table.partition(today.plusDays(i)));
                                }
                            }
                        });
        assertThat(partitions.ensure())
                .isEqualTo(HistoryTable.values().length * HistoryPartitions.DAYS_AHEAD);
        for (HistoryTable table : HistoryTable.values()) {
            for (int i = 0; i <= HistoryPartitions.DAYS_AHEAD; i++) {
                assertThat(exists(table.partition(today.plusDays(i)))).isTrue();
            }
            // Yesterday overlaps the legacy partition (the migration ran today): skipped, no error.
            assertThat(exists(table.partition(today.minusDays(1)))).isFalse();
        }
        assertThat(partitions.ensure()).isZero();

        // A made partition has the table's keys and indexes, and V7's settings.
        String attempts = HistoryTable.ATTEMPTS.partition(today.plusDays(2));
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM pg_indexes WHERE tablename = '"
                                        + attempts
                                        + "'"))
                .isEqualTo(1);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM pg_class WHERE relname = '"
                                        + attempts
                                        + "' AND 'fillfactor=80' = ANY(reloptions)"))
                .isEqualTo(1);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM pg_indexes WHERE tablename = '"
                                        + HistoryTable.DELIVERIES.partition(today.plusDays(2))
                                        + "'"))
                .isEqualTo(4);
        // Rows of a day made ahead land in it: an attempt by its task's id, a delivery by its own.
        UUID future = TaskIds.floor(today.plusDays(2).atTime(12, 0).toInstant(ZoneOffset.UTC));
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            h.execute(
                                    "INSERT INTO task_attempts (task_id, attempt, node, lease_token, outcome)"
                                            + " VALUES (?, 1, 'node-a', gen_random_uuid(), 'failed')",
                                    future);
                            h.execute(
                                    "INSERT INTO callback_deliveries (id, task_id, event_type, url, body)"
                                            + " VALUES (?, NULL, 'agent.held', 'http://127.0.0.1:9/', '{}')",
                                    future);
                        });
        assertThat(tableOf("task_attempts", "task_id", future)).isEqualTo(attempts);
        assertThat(tableOf("callback_deliveries", "id", future))
                .isEqualTo(HistoryTable.DELIVERIES.partition(today.plusDays(2)));
    }

    @Test
    void anAttemptLivesInItsTasksDayAndADeliveryInItsOwn() {
        UUID id = kit.insert(kit.withCallback("echo", "http://127.0.0.1:9/hook", 2)).id();
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        kit.completer.recordAll(
                List.of(kit.completer.succeeded(claimed, kit.jsonOf("{}"), "log line")));
        String today = HistoryTable.ATTEMPTS.partition(partitions.today());
        assertThat(tableOf("task_attempts", "task_id", id)).isEqualTo(today);
        assertThat(tableOf("callback_deliveries", "task_id", id))
                .isEqualTo(HistoryTable.DELIVERIES.partition(partitions.today()));
        assertThat(kit.count("SELECT count(*) FROM ended_attempts WHERE logs = 'log line'"))
                .isEqualTo(1);
    }

    @Test
    void aFinishedTaskLivesInItsDaysPartitionAndARetriedOneMovesBackToTheQueue() {
        partitions.ensure();
        UUID succeeded = kit.insert(kit.newTask("echo", 0)).id();
        UUID cancelled = kit.insert(kit.newTask("echo", 0)).id();
        assertThat(partitionOf(succeeded)).isEqualTo(HistoryPartitions.QUEUE);
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        assertThat(claimed.id()).isEqualTo(succeeded);
        kit.completer.recordAll(List.of(kit.completer.succeeded(claimed, kit.jsonOf("{}"), null)));
        kit.tasks.cancel(cancelled);

        String today = HistoryTable.TASKS.partition(partitions.today());
        assertThat(partitionOf(succeeded)).isEqualTo(today);
        assertThat(partitionOf(cancelled)).isEqualTo(today);
        assertThat(kit.tasks.find(succeeded).orElseThrow().state()).isEqualTo(TaskState.SUCCEEDED);

        assertThat(kit.tasks.retry(cancelled, 1)).isPresent();
        assertThat(partitionOf(cancelled)).isEqualTo(HistoryPartitions.QUEUE);
        assertThat(kit.claimer("node-a").claim(5))
                .extracting(ClaimedTask::id)
                .containsExactly(cancelled);
    }

    @Test
    void retentionDropsWholeDaysOlderThanItAndKeepsNewerOnesAndThoseWithPendingCallbacks()
            throws Exception {
        // A database that has run for days: no legacy partitions, days made in the past.
        dropLegacyPartitions(kit);
        LocalDate today = partitions.today();
        partitions.ensure(today.minusDays(6), today);
        UUID old = finishedDaysAgo(5, kit.newTask("echo", 0));
        UUID oldKeyed = finishedDaysAgo(5, keyed("old-key"));
        UUID oldWithPendingCallback = finishedDaysAgo(6, "http://127.0.0.1:9/pending");
        UUID recent = finishedDaysAgo(2, kit.newTask("echo", 0));
        assertThat(partitionOf(old)).isEqualTo(HistoryTable.TASKS.partition(today.minusDays(5)));
        assertThat(partitionOf(oldWithPendingCallback))
                .isEqualTo(HistoryTable.TASKS.partition(today.minusDays(6)));
        assertThat(kit.count("SELECT count(*) FROM ended_attempts")).isEqualTo(4);
        assertThat(kit.tasks.enqueue(keyed("old-key")).created()).isFalse();

        DayPartitionDrops drops =
                new DayPartitionDrops(
                        kit.database.jdbi(),
                        new RetentionSchedule(
                                Duration.ofDays(3), Duration.ofHours(1), Duration.ZERO));
        assertThat(drops.dropPartitions())
                .filteredOn(name -> name.startsWith("tasks_"))
                .containsExactlyInAnyOrder(
                        HistoryTable.TASKS.partition(today.minusDays(5)),
                        HistoryTable.TASKS.partition(today.minusDays(4)));

        assertThat(kit.tasks.find(old)).isEmpty();
        assertThat(kit.tasks.find(oldKeyed)).isEmpty();
        // Its key went with it: a new task may take it.
        assertThat(kit.count("SELECT count(*) FROM task_keys")).isZero();
        assertThat(kit.tasks.enqueue(keyed("old-key")).created()).isTrue();
        assertThat(kit.tasks.find(recent)).isPresent();
        assertThat(kit.tasks.find(oldWithPendingCallback)).isPresent();
        // Its range ends less than the retention ago (a task is kept up to a day longer).
        assertThat(exists(HistoryTable.TASKS.partition(today.minusDays(3)))).isTrue();
        assertThat(exists(HistoryTable.TASKS.partition(today.minusDays(2)))).isTrue();
        assertThat(kit.count("SELECT count(*) FROM ended_attempts WHERE task_id = '" + old + "'"))
                .isZero();
        assertThat(kit.count("SELECT count(*) FROM ended_attempts")).isEqualTo(2);

        // Once its callback is delivered, that day goes too.
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE callback_deliveries SET state = 'delivered' WHERE task_id = ?",
                                        oldWithPendingCallback));
        assertThat(drops.dropPartitions())
                .containsExactly(HistoryTable.TASKS.partition(today.minusDays(6)));
        assertThat(kit.tasks.find(oldWithPendingCallback)).isEmpty();
        // The delivery was made today: it is kept the retention past that, in today's partition.
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
        assertThat(kit.tasks.find(recent)).isPresent();
    }

    @Test
    void theMigrationKeepsExistingTasksReadableAndTheirIdempotencyKeysTaken() {
        DatabaseUrl url = TestDatabase.create();
        Flyway.configure()
                .dataSource(url.jdbcUrl(), url.user(), url.password())
                .locations("classpath:db/migration/pulse")
                .placeholderReplacement(false)
                .target("22")
                .load()
                .migrate();
        UUID finished = UUID.fromString("01890000-0000-7000-8000-000000000001");
        UUID queued = UUID.fromString("01890000-0000-7000-8000-000000000002");
        try (Database database = Database.connect(url, 4)) {
            database.jdbi()
                    .useHandle(
                            h -> {
                                h.execute(
                                        "INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at,"
                                                + " finished_at, idempotency_key)"
                                                + " VALUES (?, 'echo', 'succeeded', '{}', 1, 10, now() - interval '2 days',"
                                                + " now() - interval '2 days', 'old-key')",
                                        finished);
                                h.execute(
                                        "INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at,"
                                                + " idempotency_key, virtual_start)"
                                                + " VALUES (?, 'echo', 'queued', '{}', 1, 10, now(), 'queued-key', now())",
                                        queued);
                            });
            database.migrate();
            TaskStore tasks =
                    new TaskStore(
                            database.jdbi(),
                            JsonMapper.create(),
                            new TaskIds(Clock.systemUTC(), new Random(1)),
                            kit.outbox,
                            QueueMetrics.discarded());

            assertThat(tasks.find(finished).orElseThrow().state()).isEqualTo(TaskState.SUCCEEDED);
            assertThat(tasks.find(queued).orElseThrow().state()).isEqualTo(TaskState.QUEUED);
            assertThat(tasks.list(TaskFilter.of(null, "echo", null, null, 10)).items())
                    .extracting(Task::id)
                    .containsExactly(queued, finished);
            assertThat(tasks.list(TaskFilter.of(TaskState.SUCCEEDED, null, null, null, 10)).items())
                    .extracting(Task::id)
                    .containsExactly(finished);

            Enqueued again = tasks.enqueue(keyed("old-key"));
            assertThat(again.created()).isFalse();
            assertThat(again.task().id()).isEqualTo(finished);
            Enqueued againQueued = tasks.enqueue(keyed("queued-key"));
            assertThat(againQueued.created()).isFalse();
            assertThat(againQueued.task().id()).isEqualTo(queued);
            assertThat(tasks.enqueue(keyed("new-key")).created()).isTrue();

            String partition =
                    database.jdbi()
                            .withHandle(
                                    h ->
                                            h.createQuery(
                                                            "SELECT tableoid::regclass::text FROM tasks WHERE id = :id")
                                                    .bind("id", queued)
                                                    .mapTo(String.class)
                                                    .one());
            assertThat(partition).isEqualTo(HistoryPartitions.QUEUE);
        }
    }

    @Test
    void theSecondMigrationKeepsAttemptsAndDeliveriesAndPlacesThoseMadeAhead() {
        DatabaseUrl url = TestDatabase.create();
        Flyway.configure()
                .dataSource(url.jdbcUrl(), url.user(), url.password())
                .locations("classpath:db/migration/pulse")
                .placeholderReplacement(false)
                .target("25")
                .load()
                .migrate();
        Instant now = Instant.now();
        UUID old =
                new TaskIds(
                                Clock.fixed(now.minus(Duration.ofDays(2)), ZoneOffset.UTC),
                                new Random(1))
                        .next();
        // made by a node whose clock ran a day ahead: above the legacy partition's bound
        UUID ahead =
                new TaskIds(
                                Clock.fixed(now.plus(Duration.ofDays(1)), ZoneOffset.UTC),
                                new Random(2))
                        .next();
        try (Database database = Database.connect(url, 4)) {
            database.jdbi()
                    .useHandle(
                            h -> {
                                for (UUID id : List.of(old, ahead)) {
                                    h.execute(
                                            "INSERT INTO task_attempts (task_id, attempt, node, lease_token, finished_at, outcome)"
                                                    + " VALUES (?, 1, 'node-a', gen_random_uuid(), now(), 'failed')",
                                            id);
                                    h.execute(
                                            "INSERT INTO callback_deliveries (id, task_id, event_type, url, body)"
                                                    + " VALUES (?, ?, 'task.failed', 'http://127.0.0.1:9/', '{}')",
                                            id,
                                            id);
                                }
                            });
            database.migrate();
            LocalDate tomorrow = LocalDate.ofInstant(now, ZoneOffset.UTC).plusDays(1);
            Jdbi jdbi = database.jdbi();
            assertThat(tableOf(jdbi, "task_attempts", "task_id", old))
                    .isEqualTo(HistoryTable.ATTEMPTS.legacy());
            assertThat(tableOf(jdbi, "callback_deliveries", "id", old))
                    .isEqualTo(HistoryTable.DELIVERIES.legacy());
            assertThat(tableOf(jdbi, "task_attempts", "task_id", ahead))
                    .isEqualTo(HistoryTable.ATTEMPTS.partition(tomorrow));
            assertThat(tableOf(jdbi, "callback_deliveries", "id", ahead))
                    .isEqualTo(HistoryTable.DELIVERIES.partition(tomorrow));
            // ended_attempts reads the partitioned table, not the old one it was made on.
            UUID fresh = new TaskIds(Clock.systemUTC(), new Random(3)).next();
            jdbi.useHandle(
                    h -> {
                        h.execute(
                                "INSERT INTO task_attempts (task_id, attempt, node, lease_token, finished_at, outcome)"
                                        + " VALUES (?, 1, 'node-a', gen_random_uuid(), now(), 'failed')",
                                fresh);
                        // the primary key holds across the old rows: ON CONFLICT still finds them
                        h.execute(
                                "INSERT INTO task_attempts (task_id, attempt, node, lease_token, finished_at, outcome)"
                                        + " VALUES (?, 1, 'node-b', gen_random_uuid(), now(), 'failed')"
                                        + " ON CONFLICT (task_id, attempt) DO NOTHING",
                                old);
                    });
            int byNodeA =
                    jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    "SELECT count(*) FROM ended_attempts WHERE node = 'node-a'")
                                            .mapTo(Integer.class)
                                            .one());
            assertThat(byNodeA).isEqualTo(3);
        }
    }

    private NewTask keyed(String key) {
        return NewTask.builder("echo", kit.json.createObjectNode(), kit.json.createObjectNode())
                .idempotencyKey(key)
                .maxAttempts(1)
                .timeoutSeconds(10)
                .build();
    }

    /**
     * A task that ran and finished at 01:00 UTC {@code days} ago (moved there by an UPDATE of
     * tasks, as a finishing statement moves it), with a pending callback if {@code callbackUrl}.
     */
    private UUID finishedDaysAgo(int days, String callbackUrl) {
        return finishedDaysAgo(
                days,
                callbackUrl == null
                        ? kit.newTask("echo", 0)
                        : kit.withCallback("echo", callbackUrl, 1));
    }

    private UUID finishedDaysAgo(int days, NewTask task) {
        UUID id = kit.insert(task).id();
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        assertThat(claimed.id()).isEqualTo(id);
        kit.completer.recordAll(List.of(kit.completer.succeeded(claimed, kit.jsonOf("{}"), null)));
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE tasks SET finished_at = (date_trunc('day', now() AT TIME ZONE 'UTC')"
                                                + " - make_interval(days => ?) + interval '1 hour') AT TIME ZONE 'UTC'"
                                                + " WHERE id = ?",
                                        days,
                                        id));
        return id;
    }

    /** As on a database that has run for days since V23 and V26. */
    static void dropLegacyPartitions(QueueKit kit) {
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            for (HistoryTable table : HistoryTable.values()) {
                                h.execute("DROP TABLE " + table.legacy());
                            }
                        });
    }

    private String tableOf(String table, String column, UUID id) {
        return tableOf(kit.database.jdbi(), table, column, id);
    }

    private static String tableOf(Jdbi jdbi, String table, String column, UUID id) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(
                                        "SELECT tableoid::regclass::text FROM "
                                                + table
                                                + " WHERE "
                                                + column
                                                + " = :id")
                                .bind("id", id)
                                .mapTo(String.class)
                                .one());
    }

    private String partitionOf(UUID id) {
        return kit.database
                .jdbi()
                .withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT tableoid::regclass::text FROM tasks WHERE id = :id")
                                        .bind("id", id)
                                        .mapTo(String.class)
                                        .one());
    }

    private boolean exists(String table) {
        return kit.database
                .jdbi()
                .withHandle(
                        h ->
                                h.createQuery("SELECT to_regclass(:t) IS NOT NULL")
                                        .bind("t", table)
                                        .mapTo(Boolean.class)
                                        .one());
    }
}
