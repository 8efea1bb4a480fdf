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
import java.time.LocalDate;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** V23's partitioned history: where rows live, what retention drops, and the upgrade. */
class HistoryPartitionsTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    private final HistoryPartitions partitions = new HistoryPartitions(kit.database.jdbi());

    @Test
    void makesTheDayPartitionsAheadAndLeavesThoseThatExist() {
        LocalDate today = partitions.today();
        partitions.ensure();
        for (int i = 0; i <= HistoryPartitions.DAYS_AHEAD; i++) {
            assertThat(exists(HistoryPartitions.nameOf(today.plusDays(i)))).isTrue();
        }
        // Yesterday overlaps the legacy partition (the migration ran today): skipped, no error.
        assertThat(exists(HistoryPartitions.nameOf(today.minusDays(1)))).isFalse();
        assertThat(partitions.ensure()).isZero();
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

        String today = HistoryPartitions.nameOf(partitions.today());
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
        // A database that has run for days: no legacy partition, days made in the past.
        kit.database.jdbi().useHandle(h -> h.execute("DROP TABLE tasks_legacy"));
        LocalDate today = partitions.today();
        partitions.ensure(today.minusDays(6), today);
        UUID old = finishedDaysAgo(5, kit.newTask("echo", 0));
        UUID oldKeyed = finishedDaysAgo(5, keyed("old-key"));
        UUID oldWithPendingCallback = finishedDaysAgo(6, "http://127.0.0.1:9/pending");
        UUID recent = finishedDaysAgo(2, kit.newTask("echo", 0));
        assertThat(partitionOf(old)).isEqualTo(HistoryPartitions.nameOf(today.minusDays(5)));
        assertThat(partitionOf(oldWithPendingCallback))
                .isEqualTo(HistoryPartitions.nameOf(today.minusDays(6)));
        assertThat(kit.count("SELECT count(*) FROM ended_attempts")).isEqualTo(4);
        assertThat(kit.tasks.enqueue(keyed("old-key")).created()).isFalse();

        Retention retention =
                new Retention(
                        kit.database.jdbi(),
                        Duration.ofDays(3),
                        Duration.ofHours(1),
                        Duration.ZERO);
        assertThat(retention.dropPartitions())
                .containsExactlyInAnyOrder(
                        HistoryPartitions.nameOf(today.minusDays(5)),
                        HistoryPartitions.nameOf(today.minusDays(4)));

        assertThat(kit.tasks.find(old)).isEmpty();
        assertThat(kit.tasks.find(oldKeyed)).isEmpty();
        // Its key went with it: a new task may take it.
        assertThat(kit.count("SELECT count(*) FROM task_keys")).isZero();
        assertThat(kit.tasks.enqueue(keyed("old-key")).created()).isTrue();
        assertThat(kit.tasks.find(recent)).isPresent();
        assertThat(kit.tasks.find(oldWithPendingCallback)).isPresent();
        // Its range ends less than the retention ago (a task is kept up to a day longer).
        assertThat(exists(HistoryPartitions.nameOf(today.minusDays(3)))).isTrue();
        assertThat(exists(HistoryPartitions.nameOf(today.minusDays(2)))).isTrue();
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
        assertThat(retention.dropPartitions())
                .containsExactly(HistoryPartitions.nameOf(today.minusDays(6)));
        assertThat(kit.tasks.find(oldWithPendingCallback)).isEmpty();
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isZero();
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
