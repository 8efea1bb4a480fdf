package dev.pulse.workers.tasks;

import dev.pulse.workers.maintenance.PeriodicDuty;
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
 * Half of keeping the history to {@code PULSE_RETENTION} (docs/architecture.md, "Partitioned
 * history"): the day partitions of the history's tables ({@link HistoryTable}, made by {@link
 * HistoryPartitions}) whose whole range lies before {@code now() - retention} are dropped whole,
 * unless something still holds them: a {@code tasks} day while one of its tasks has a pending
 * callback (its tasks' idempotency keys are deleted first); a {@code task_attempts} day (by its
 * tasks' creation) while a task created that day remains, so that attempts live as long as their
 * task; a {@code callback_deliveries} day (by creation) while one of its deliveries is pending. The
 * legacy partitions follow the same rules from MINVALUE. The rows outside day partitions are {@link
 * RowPruning}'s.
 *
 * <p>The two run apart, each on its own schedule, because neither needs the other's work first:
 * every statement of each re-checks, by the database clock, all that makes a row or a day due, so
 * whichever runs first, the other finds in its next pass what the first left for it (the stray
 * attempts of a day of tasks dropped here, the keys of a task deleted by hand), a pass later at
 * worst. Each has its own advisory lock, so one node at a time drops and one node at a time prunes;
 * a drop never waits for the lock of pruning, and a prune batch running on another connection is
 * met only by the drop's {@code lock_timeout}, as any other reader of the table is. Any node may
 * run it; time comes from the database clock.
 */
public final class DayPartitionDrops extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(DayPartitionDrops.class);

    /** Advisory lock key: "pulse" + 3, retention's since before the split. */
    static final long LOCK_KEY = 0x70756c736503L;

    /** Idempotency keys deleted per transaction before a day of tasks is dropped. */
    static final int KEYS_BATCH = 10_000;

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
     * order, under the drops' lock; answers the last id of the batch (none when the partition is
     * done, or when another node holds the lock). Their attempts and deliveries go with their own
     * days.
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

    private final Jdbi jdbi;
    private final RetentionSchedule schedule;

    public DayPartitionDrops(Jdbi jdbi, RetentionSchedule schedule) {
        super("retention-drops", schedule.every(), schedule.every());
        this.jdbi = jdbi;
        this.schedule = schedule;
    }

    @Override
    protected void pass() throws InterruptedException {
        List<String> dropped = dropPartitions();
        if (!dropped.isEmpty()) {
            log.info(
                    "retention: dropped the history partition(s) {}, all finished more than {} ago",
                    dropped,
                    schedule.retention());
        }
    }

    @Override
    protected void failed(RuntimeException e) {
        log.warn(
                "retention drops pass failed, trying again in {}: {}",
                schedule.every(),
                e.getMessage());
    }

    /**
     * Drops the partitions of the history's tables whose whole range lies before {@code now() -
     * retention} (so a row is kept between the retention and the retention plus one day) and that
     * nothing holds any more (the class's comment); returns the ones dropped. Tasks first: the days
     * of tasks dropped let the attempts of their days go. The partition of unfinished tasks and the
     * default ones are never dropped.
     */
    public List<String> dropPartitions() throws InterruptedException {
        double seconds = schedule.retentionSeconds();
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
                                            .bind("batch", KEYS_BATCH)
                                            .mapTo(UUID.class)
                                            .findOne());
            if (last.isEmpty()) {
                return true;
            }
            after = last.get().toString();
            Thread.sleep(schedule.pauseBetweenBatches().toMillis());
        }
        return false;
    }
}
