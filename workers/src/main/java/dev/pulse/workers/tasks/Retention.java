package dev.pulse.workers.tasks;

import dev.pulse.workers.maintenance.PeriodicDuty;
import java.time.Duration;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the hot {@code tasks} table small (docs/architecture.md, Traps avoided): terminal tasks
 * (succeeded, failed, cancelled) that finished longer than the retention ago are deleted, with
 * their attempts and callback deliveries (in the same statement: no foreign key does it, see V9),
 * in batches of {@link #BATCH} rows, each its own short transaction that skips locked rows, so
 * pruning never blocks the queue. A task whose callback is still pending is kept until it is
 * delivered or dead. Non-terminal tasks are never touched: the DELETE itself re-checks the state.
 *
 * <p>Candidates are found through the {@code (state, id)} index: task ids are UUIDv7, ordered by
 * creation time, and a task cannot have finished before it was created, so only ids created before
 * {@code now() - retention} are scanned, however large the retained history is. Time comes from the
 * database clock. Any node may run it; a transaction-scoped advisory lock lets one node at a time
 * prune.
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

    private static final String PRUNE =
            """
            WITH locked AS (
                SELECT pg_try_advisory_xact_lock(:key) AS mine
            ), doomed AS MATERIALIZED (
                SELECT t.id FROM tasks t
                 WHERE (SELECT mine FROM locked)
                   AND t.state IN ('succeeded', 'failed', 'cancelled')
                   AND t.id < CAST(:id_bound AS uuid)
                   AND t.finished_at < now() - make_interval(secs => :retention_seconds)
                   AND NOT EXISTS (SELECT 1 FROM callback_deliveries c WHERE c.task_id = t.id AND c.state = 'pending')
                 LIMIT :batch
                   FOR UPDATE SKIP LOCKED
            ), gone AS (
                DELETE FROM tasks t
                 USING doomed
                 WHERE t.id = doomed.id AND t.state IN ('succeeded', 'failed', 'cancelled')
                RETURNING t.id
            ), attempts AS (
                DELETE FROM task_attempts a USING gone WHERE a.task_id = gone.id
            ), deliveries AS (
                DELETE FROM callback_deliveries c USING gone WHERE c.task_id = gone.id
            )
            SELECT count(*) FROM gone
            """;

    /**
     * Operator alerts are deliveries without a task ({@code agent.held}): no task's pruning takes
     * them, so they go on their own once sent (or dead) and older than the retention. Few a day.
     */
    private static final String PRUNE_ALERTS =
            """
            DELETE FROM callback_deliveries c
             WHERE c.id IN (SELECT a.id FROM callback_deliveries a
                             WHERE a.task_id IS NULL AND a.state <> 'pending'
                               AND a.created_at < now() - make_interval(secs => :retention_seconds)
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
    }

    @Override
    protected void failed(RuntimeException e) {
        log.warn("retention pass failed, trying again in {}: {}", every, e.getMessage());
    }

    /**
     * One pass: deletes batch after batch until nothing more is due; returns how many tasks it
     * deleted.
     */
    public long pruneAll() throws InterruptedException {
        long total = 0;
        while (running()) {
            int deleted = pruneBatch();
            total += deleted;
            if (deleted < BATCH) {
                return total;
            }
            Thread.sleep(
                    pauseBetweenBatches
                            .toMillis()); // leave the database to the queue between batches
        }
        return total;
    }

    /**
     * Deletes at most {@link #BATCH} operator alerts that were sent (or died) before the retention.
     */
    public int pruneAlerts() {
        return jdbi.withHandle(
                h ->
                        h.createUpdate(PRUNE_ALERTS)
                                .bind("retention_seconds", retention.toMillis() / 1000.0)
                                .bind("batch", BATCH)
                                .execute());
    }

    /**
     * Deletes at most {@link #BATCH} due tasks in one transaction; 0 when another node holds the
     * lock.
     */
    public int pruneBatch() {
        double seconds = retention.toMillis() / 1000.0;
        return jdbi.inTransaction(
                h -> {
                    long cutoff =
                            h.createQuery(CUTOFF_MILLIS)
                                    .bind("retention_seconds", seconds)
                                    .mapTo(Long.class)
                                    .one();
                    return h.createQuery(PRUNE)
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
