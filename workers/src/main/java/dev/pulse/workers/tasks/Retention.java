package dev.pulse.workers.tasks;

import dev.pulse.workers.maintenance.PeriodicDuty;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the history to {@code PULSE_RETENTION} (docs/architecture.md, "Partitioned history"). The
 * day partitions of the history's tables ({@link HistoryTable}, made by {@link HistoryPartitions})
 * whose whole range lies before {@code now() - retention} are dropped whole, unless something still
 * holds them: a {@code tasks} day while one of its tasks has a pending callback (its tasks'
 * idempotency keys are deleted first); a {@code task_attempts} day (by its tasks' creation) while a
 * task created that day remains, so that attempts live as long as their task; a {@code
 * callback_deliveries} day (by creation) while one of its deliveries is pending. The legacy
 * partitions follow the same rules from MINVALUE. The rows outside day partitions ({@code
 * tasks_unplaced}, and {@code tasks_legacy} until it is dropped whole) are deleted row by row:
 * terminal tasks (succeeded, failed, cancelled) that finished longer than the retention ago, with
 * their attempts and deliveries where these too are outside day partitions (in the same statement),
 * in batches of {@link #BATCH} rows, each its own short transaction that skips locked rows, so
 * pruning never blocks the queue. A task whose callback is still pending is kept until it is
 * delivered or dead. Non-terminal tasks are never touched. Attempts and deliveries in the default
 * partitions whose task went with a day of tasks go once it is gone and they are older than the
 * retention.
 *
 * <p>Row candidates are found through the {@code (state, id)} index: task ids are UUIDv7, ordered
 * by creation time, and a task cannot have finished before it was created, so only ids created
 * before {@code now() - retention} are scanned. Time comes from the database clock. Any node may
 * run it; a transaction-scoped advisory lock lets one node at a time prune or drop.
 */
public final class Retention extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(Retention.class);

    /** Advisory lock key: "pulse" + 3. */
    static final long LOCK_KEY = 0x70756c736503L;

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

    private static final String TRY_LOCK = "SELECT pg_try_advisory_xact_lock(:key)";

    /** The end of the history a day partition must lie wholly before to be dropped. */
    private static final String DROP_BEFORE =
            "SELECT now() - make_interval(secs => :retention_seconds)";

    /** A tasks partition holding a task whose callback is still pending waits. */
    private static final String PENDING_CALLBACK_IN =
            """
            SELECT EXISTS (SELECT 1 FROM callback_deliveries c JOIN %s t ON t.id = c.task_id
                            WHERE c.state = 'pending')
            """;

    /**
     * An attempts partition waits while a task created in its range remains (wherever it is: the
     * queue, a day of history): one probe of each tasks partition's primary key.
     */
    private static final String TASK_IN_RANGE =
            """
            SELECT EXISTS (SELECT 1 FROM tasks WHERE id >= CAST(:low AS uuid) AND id < CAST(:high AS uuid))
            """;

    /** A deliveries partition waits while one of its deliveries is pending (its due index). */
    private static final String PENDING_DELIVERY_IN =
            "SELECT EXISTS (SELECT 1 FROM %s WHERE state = 'pending')";

    /** The lower bound of a legacy partition, which starts at MINVALUE. */
    private static final String LOWEST_ID = new UUID(0, 0).toString();

    /**
     * The idempotency keys of a batch of a doomed tasks partition's tasks, past {@code after} in id
     * order, under the retention's lock; answers the last id of the batch (none when the partition
     * is done, or when another node holds the lock). Their attempts and deliveries go with their
     * own days.
     */
    private static final String DELETE_KEYS =
            """
            WITH locked AS (
                SELECT pg_try_advisory_xact_lock(:key) AS mine
            ), doomed AS MATERIALIZED (
                SELECT id, idempotency_owner, idempotency_key FROM %s
                 WHERE (SELECT mine FROM locked) AND id > CAST(:after AS uuid)
                 ORDER BY id LIMIT :batch
            ), keys AS (
                DELETE FROM task_keys k USING doomed
                 WHERE k.idempotency_owner = doomed.idempotency_owner AND k.idempotency_key = doomed.idempotency_key
                   AND k.task_id = doomed.id
            )
            SELECT id FROM doomed ORDER BY id DESC LIMIT 1
            """;

    private static final String SET_LOCK_TIMEOUT =
            "SELECT set_config('lock_timeout', '" + HistoryPartitions.LOCK_TIMEOUT + "', true)";

    /**
     * The lock DROP takes on the partition's table anyway, taken before the last check so that
     * nothing can come to hold the partition between the check and the drop. ONLY: without it the
     * lock would extend to every partition, the queue's too, which the claims address directly.
     */
    private static final String LOCK_TABLE = "LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE";

    private static final String DROP = "DROP TABLE %s";

    /**
     * Idempotency keys live as long as their task: they are deleted with it (above). This catches
     * any left behind (a task deleted by hand): once older than the retention, a key whose task is
     * gone is deleted. Few; read through their age index.
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
    private final Duration retention;
    private final Duration every;
    private final Duration pauseBetweenBatches;

    /**
     * @param retention how long terminal tasks are kept after they finished
     * @param every how often a pass runs
     */
    public Retention(Jdbi jdbi, Duration retention, Duration every) {
        this(jdbi, retention, every, Duration.ofMillis(20));
    }

    Retention(Jdbi jdbi, Duration retention, Duration every, Duration pauseBetweenBatches) {
        super("retention", every, every);
        if (retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException("retention must be positive");
        }
        this.jdbi = jdbi;
        this.retention = retention;
        this.every = every;
        this.pauseBetweenBatches = pauseBetweenBatches;
    }

    @Override
    protected void pass() throws InterruptedException {
        List<String> dropped = dropPartitions();
        if (!dropped.isEmpty()) {
            log.info(
                    "retention: dropped the history partition(s) {}, all finished more than {} ago",
                    dropped,
                    retention);
        }
        long deleted = pruneAll();
        if (deleted > 0) {
            log.info("retention: deleted {} task(s) finished more than {} ago", deleted, retention);
        }
        int alerts = pruneAlerts();
        if (alerts > 0) {
            log.info(
                    "retention: deleted {} operator alert(s) sent more than {} ago",
                    alerts,
                    retention);
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
        log.warn("retention pass failed, trying again in {}: {}", every, e.getMessage());
    }

    /**
     * Drops the partitions of the history's tables whose whole range lies before {@code now() -
     * retention} (so a row is kept between the retention and the retention plus one day) and that
     * nothing holds any more (the class's comment); returns the ones dropped. Tasks first: the days
     * of tasks dropped let the attempts of their days go. The partition of unfinished tasks and the
     * default ones are never dropped.
     */
    public List<String> dropPartitions() throws InterruptedException {
        double seconds = retention.toMillis() / 1000.0;
        Instant before =
                jdbi.withHandle(
                        h ->
                                h.createQuery(DROP_BEFORE)
                                        .bind("retention_seconds", seconds)
                                        .mapTo(OffsetDateTime.class)
                                        .one()
                                        .toInstant());
        List<String> dropped = new ArrayList<>();
        for (HistoryTable table : HistoryTable.values()) {
            List<HistoryPartitions.Partition> partitions =
                    jdbi.withHandle(h -> HistoryPartitions.bounded(h, table));
            for (HistoryPartitions.Partition p : partitions) {
                if (!running() || p.ends().isAfter(before)) {
                    break;
                }
                if (drop(table, p)) {
                    dropped.add(p.name());
                }
            }
        }
        return dropped;
    }

    private boolean drop(HistoryTable table, HistoryPartitions.Partition partition)
            throws InterruptedException {
        if (jdbi.withHandle(h -> held(h, table, partition))) {
            // A task waiting for weeks holds its day of attempts as long: not worth a line a pass.
            if (table == HistoryTable.ATTEMPTS) {
                log.debug("retention: keeping {}: {}", partition.name(), heldBy(table));
            } else {
                log.info("retention: keeping {}: {}", partition.name(), heldBy(table));
            }
            return false;
        }
        if (table == HistoryTable.TASKS && !deleteKeys(partition.name())) {
            return false;
        }
        // One short transaction that checks again, with the table locked as the drop locks it.
        return jdbi.inTransaction(
                h -> {
                    if (!h.createQuery(TRY_LOCK).bind("key", LOCK_KEY).mapTo(Boolean.class).one()) {
                        return false;
                    }
                    h.createQuery(SET_LOCK_TIMEOUT).mapTo(String.class).one();
                    h.execute(LOCK_TABLE.formatted(table.table()));
                    if (held(h, table, partition)) {
                        return false;
                    }
                    h.execute(DROP.formatted(partition.name()));
                    return true;
                });
    }

    /** Whether something still holds the partition (the class's comment). */
    private static boolean held(Handle h, HistoryTable table, HistoryPartitions.Partition p) {
        Query check =
                switch (table) {
                    case TASKS -> h.createQuery(PENDING_CALLBACK_IN.formatted(p.name()));
                    case ATTEMPTS ->
                            h.createQuery(TASK_IN_RANGE)
                                    .bind("low", p.low() == null ? LOWEST_ID : p.low())
                                    .bind("high", p.high());
                    case DELIVERIES -> h.createQuery(PENDING_DELIVERY_IN.formatted(p.name()));
                };
        return check.mapTo(Boolean.class).one();
    }

    private static String heldBy(HistoryTable table) {
        return switch (table) {
            case TASKS -> "a task of it has a pending callback";
            case ATTEMPTS -> "a task created in its range remains";
            case DELIVERIES -> "a delivery of it is pending";
        };
    }

    /**
     * Deletes the idempotency keys of a doomed tasks partition's tasks, in batches (no foreign key
     * takes them); false if stopped before the end.
     */
    private boolean deleteKeys(String partition) throws InterruptedException {
        String after = LOWEST_ID;
        while (running()) {
            String from = after;
            Optional<UUID> last =
                    jdbi.withHandle(
                            h ->
                                    h.createQuery(DELETE_KEYS.formatted(partition))
                                            .bind("key", LOCK_KEY)
                                            .bind("after", from)
                                            .bind("batch", BATCH * 10)
                                            .mapTo(UUID.class)
                                            .findOne());
            if (last.isEmpty()) {
                return true;
            }
            after = last.get().toString();
            Thread.sleep(pauseBetweenBatches.toMillis());
        }
        return false;
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
                        pauseBetweenBatches
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
                                .bind("retention_seconds", retention.toMillis() / 1000.0)
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
        double seconds = retention.toMillis() / 1000.0;
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
