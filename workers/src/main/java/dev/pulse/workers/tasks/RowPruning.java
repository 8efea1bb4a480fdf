package dev.pulse.workers.tasks;

import dev.pulse.workers.maintenance.PeriodicDuty;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The other half of keeping the history to {@code PULSE_RETENTION} (docs/architecture.md,
 * "Partitioned history"): what {@link DayPartitionDrops} cannot drop with a day is deleted row by
 * row. The rows outside day partitions ({@code tasks_unplaced}, and {@code tasks_legacy} until it
 * is dropped whole): terminal tasks (succeeded, failed, cancelled) that finished longer than the
 * retention ago, with their attempts and deliveries where these too are outside day partitions (in
 * the same statement), in batches of {@link #BATCH} rows, each its own short transaction that skips
 * locked rows, so pruning never blocks the queue. A task whose callback is still pending is kept
 * until it is delivered or dead. Non-terminal tasks are never touched. Attempts and deliveries in
 * the default partitions whose task went with a day of tasks go once it is gone and they are older
 * than the retention; so do operator alerts outside day partitions once sent, and idempotency keys
 * whose task is gone.
 *
 * <p>Row candidates are found through the {@code (state, id)} index: task ids are UUIDv7, ordered
 * by creation time, and a task cannot have finished before it was created, so only ids created
 * before {@code now() - retention} are scanned. Time comes from the database clock. Any node may
 * run it; a transaction-scoped advisory lock of its own lets one node at a time prune tasks. It
 * runs apart from the drops, which need none of its work first, nor it theirs ({@link
 * DayPartitionDrops} says why).
 */
public final class RowPruning extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(RowPruning.class);

    /**
     * Advisory lock key: "pulse" + 5. Not the drops' {@code …03}: a prune batch holding that one
     * would make a drop's key deletion stop early, taking it for done.
     */
    static final long LOCK_KEY = 0x70756c736505L;

    static final int BATCH = 1000;

    private static final String CUTOFF_MILLIS =
            """
            SELECT CAST(floor(extract(epoch FROM now() - make_interval(secs => :retention_seconds)) * 1000) AS bigint)
            """;

    // Rows of the partitions that are not dropped whole: tasks_unplaced (finished on a day that had
    // no partition) and tasks_legacy (the history from before V23, until it is dropped whole); with
    // their attempts and deliveries in the partitions of those that are not dropped by day (%2$s:
    // ATTACHED, one per partition).
    private static final String PRUNE =
            """
            WITH locked AS (
                SELECT pg_try_advisory_xact_lock(:key) AS mine
            ), doomed AS MATERIALIZED (
                SELECT t.id FROM %1$s t
                 WHERE (SELECT mine FROM locked)
                   AND t.state IN ('succeeded', 'failed', 'cancelled')
                   AND t.id < CAST(:id_bound AS uuid)
                   AND t.finished_at < now() - make_interval(secs => :retention_seconds)
                   AND NOT EXISTS (SELECT 1 FROM callback_deliveries c WHERE c.task_id = t.id AND c.state = 'pending')
                 LIMIT :batch
                   FOR UPDATE SKIP LOCKED
            ), gone AS (
                DELETE FROM %1$s t
                 USING doomed
                 WHERE t.id = doomed.id AND t.state IN ('succeeded', 'failed', 'cancelled')
                RETURNING t.id, t.idempotency_owner, t.idempotency_key
            ), keys AS (
                DELETE FROM task_keys k USING gone
                 WHERE k.idempotency_owner = gone.idempotency_owner AND k.idempotency_key = gone.idempotency_key
                   AND k.task_id = gone.id
            )%2$s
            SELECT count(*) FROM gone
            """;

    /** The attempts or deliveries of the pruned tasks in one partition of their table. */
    private static final String ATTACHED =
            """
            , attached_%1$d AS (
                DELETE FROM %2$s x USING gone WHERE x.task_id = gone.id
            )""";

    private static final String TABLE_EXISTS = "SELECT to_regclass(:name) IS NOT NULL";

    /**
     * Idempotency keys live as long as their task: they are deleted with it (above, and before a
     * day of tasks is dropped). This catches any left behind (a task deleted by hand): once older
     * than the retention, a key whose task is gone is deleted. Few; read through their age index.
     */
    private static final String PRUNE_KEYS =
            """
            DELETE FROM task_keys k
             WHERE (k.idempotency_owner, k.idempotency_key) IN (
                   SELECT o.idempotency_owner, o.idempotency_key FROM task_keys o
                    WHERE o.created_at < now() - make_interval(secs => :retention_seconds)
                      AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = o.task_id)
                    LIMIT :batch)
            """;

    /**
     * Operator alerts are deliveries without a task ({@code agent.held}): in a day partition they
     * go with their day; in the default or legacy partition (%s) no task's pruning takes them, so
     * they go on their own once sent (or dead) and older than the retention. Few a day.
     */
    private static final String PRUNE_ALERTS =
            """
            DELETE FROM %1$s c
             WHERE c.id IN (SELECT a.id FROM %1$s a
                             WHERE a.task_id IS NULL AND a.state <> 'pending'
                               AND a.created_at < now() - make_interval(secs => :retention_seconds)
                             LIMIT :batch)
            """;

    /**
     * Attempts in the default partition (a task id of a day that had no partition: its node's clock
     * far off) whose task went with a day of tasks rather than row by row: once their task is gone
     * and they ended before the retention. Normally none, read from a partition normally empty.
     */
    private static final String PRUNE_STRAY_ATTEMPTS =
            """
            DELETE FROM task_attempts_unplaced a
             WHERE (a.task_id, a.attempt) IN (
                   SELECT s.task_id, s.attempt FROM task_attempts_unplaced s
                    WHERE COALESCE(s.finished_at, s.started_at) < now() - make_interval(secs => :retention_seconds)
                      AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = s.task_id)
                    LIMIT :batch)
            """;

    /** Likewise task deliveries in the default partition, once not pending. */
    private static final String PRUNE_STRAY_DELIVERIES =
            """
            DELETE FROM callback_deliveries_unplaced c
             WHERE c.id IN (
                   SELECT s.id FROM callback_deliveries_unplaced s
                    WHERE s.task_id IS NOT NULL AND s.state <> 'pending'
                      AND s.created_at < now() - make_interval(secs => :retention_seconds)
                      AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = s.task_id)
                    LIMIT :batch)
            """;

    private final Jdbi jdbi;
    private final RetentionSchedule schedule;

    public RowPruning(Jdbi jdbi, RetentionSchedule schedule) {
        super("retention-pruning", schedule.every(), schedule.every());
        this.jdbi = jdbi;
        this.schedule = schedule;
    }

    @Override
    protected void pass() throws InterruptedException {
        long deleted = pruneAll();
        if (deleted > 0) {
            log.info(
                    "retention: deleted {} task(s) finished more than {} ago",
                    deleted,
                    schedule.retention());
        }
        int alerts = pruneAlerts();
        if (alerts > 0) {
            log.info(
                    "retention: deleted {} operator alert(s) sent more than {} ago",
                    alerts,
                    schedule.retention());
        }
        int strays = pruneStrays();
        if (strays > 0) {
            log.info(
                    "retention: deleted {} attempt(s) and deliveries outside day partitions whose"
                            + " task is gone",
                    strays);
        }
        pruneKeys();
    }

    @Override
    protected void failed(RuntimeException e) {
        log.warn(
                "retention pruning pass failed, trying again in {}: {}",
                schedule.every(),
                e.getMessage());
    }

    /**
     * One pass of row-by-row pruning over the partitions that are not dropped whole: deletes batch
     * after batch until nothing more is due; returns how many tasks it deleted.
     */
    public long pruneAll() throws InterruptedException {
        long total = 0;
        HistoryTable tasks = HistoryTable.TASKS;
        for (String table : List.of(tasks.unplaced(), tasks.legacy())) {
            if (!exists(table)) {
                continue;
            }
            while (running()) {
                int deleted = pruneBatch(table);
                total += deleted;
                if (deleted < BATCH) {
                    break;
                }
                Thread.sleep(
                        schedule.pauseBetweenBatches()
                                .toMillis()); // leave the database to the queue between batches
            }
        }
        return total;
    }

    private boolean exists(String table) {
        return jdbi.withHandle(
                h -> h.createQuery(TABLE_EXISTS).bind("name", table).mapTo(Boolean.class).one());
    }

    /**
     * Deletes the idempotency keys older than the retention whose task is gone; returns how many.
     */
    public int pruneKeys() {
        int total = 0;
        while (running()) {
            int deleted = deleteDue(PRUNE_KEYS);
            total += deleted;
            if (deleted < BATCH) {
                break;
            }
        }
        return total;
    }

    /**
     * Deletes at most {@link #BATCH} operator alerts per partition not dropped by day that were
     * sent (or died) before the retention.
     */
    public int pruneAlerts() {
        int deleted = 0;
        for (String partition : notByDay(HistoryTable.DELIVERIES)) {
            deleted += deleteDue(PRUNE_ALERTS.formatted(partition));
        }
        return deleted;
    }

    /**
     * Deletes at most {@link #BATCH} stray attempts and as many stray deliveries from the default
     * partitions (above); returns how many.
     */
    public int pruneStrays() {
        int deleted = 0;
        for (String prune : List.of(PRUNE_STRAY_ATTEMPTS, PRUNE_STRAY_DELIVERIES)) {
            deleted += deleteDue(prune);
        }
        return deleted;
    }

    /** Runs one batch of a row-pruning {@code delete} (older than the retention); how many went. */
    private int deleteDue(String delete) {
        return jdbi.withHandle(
                h ->
                        h.createUpdate(delete)
                                .bind("retention_seconds", schedule.retentionSeconds())
                                .bind("batch", BATCH)
                                .execute());
    }

    /**
     * The partitions of {@code table} that are pruned row by row: the default and the legacy one.
     */
    private List<String> notByDay(HistoryTable table) {
        return List.of(table.unplaced(), table.legacy()).stream().filter(this::exists).toList();
    }

    /**
     * Deletes at most {@link #BATCH} due tasks of {@code table} in one transaction; 0 when another
     * node holds the lock.
     */
    private int pruneBatch(String table) {
        double seconds = schedule.retentionSeconds();
        List<String> attached = new ArrayList<>(notByDay(HistoryTable.ATTEMPTS));
        attached.addAll(notByDay(HistoryTable.DELIVERIES));
        StringBuilder deletes = new StringBuilder();
        for (int i = 0; i < attached.size(); i++) {
            deletes.append(ATTACHED.formatted(i, attached.get(i)));
        }
        String prune = PRUNE.formatted(table, deletes);
        return jdbi.inTransaction(
                h -> {
                    long cutoff =
                            h.createQuery(CUTOFF_MILLIS)
                                    .bind("retention_seconds", seconds)
                                    .mapTo(Long.class)
                                    .one();
                    return h.createQuery(prune)
                            .bind("key", LOCK_KEY)
                            .bind("id_bound", idBound(cutoff).toString())
                            .bind("retention_seconds", seconds)
                            .bind("batch", BATCH)
                            .mapTo(Integer.class)
                            .one();
                });
    }

    /**
     * The greatest UUIDv7 of the given millisecond: every task id created at or before it is
     * smaller.
     */
    static UUID idBound(long epochMillis) {
        return new UUID((Math.max(0, epochMillis) << 16) | 0x7FFFL, -1L);
    }
}
