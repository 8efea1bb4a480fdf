package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.callbacks.CallbackOutbox;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.maintenance.PeriodicDuty;
import dev.pulse.workers.tasks.HistoryPartitions;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskRowMapper;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requeues tasks whose lease expired by the database clock and whose node has stopped beating (no
 * heartbeat for a lease): it crashed or was cut off. A lease that expired more than three leases
 * ago is rescued even if its node still beats, so no task can stay running forever. Any node may
 * run it; a transaction-scoped advisory lock lets one node at a time do a pass. The rescue is the
 * same fenced update as a completion, so it can't overwrite a result that landed first. A rescued
 * attempt counts: with no attempts left, the task fails with {@code lease_expired}; if its
 * cancellation had been requested, it ends cancelled.
 *
 * <p>After it (re)gains the database, a rescuer waits one lease before rescuing, so that after an
 * outage live nodes have beaten and renewed their leases before anyone judges them dead. A pass
 * that stalled (the pool blocked on a database that was away, without failing) counts as regaining
 * it.
 */
public final class Rescuer extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(Rescuer.class);

    /** Advisory lock key: "pulse" + 1 for the rescuer. */
    static final long LOCK_KEY = 0x70756c736501L;

    static final int BATCH = 500;

    private static final String LOCK = "SELECT pg_try_advisory_xact_lock(:key)";

    static final String RESCUE =
            """
            WITH expired AS MATERIALIZED (
                SELECT id, lease_token, lease_owner, attempts, attempt_started_at,
                       CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                            WHEN attempts < max_attempts THEN 'queued'
                            ELSE 'failed' END AS next_state
                  FROM tasks_queue t
                 WHERE state = 'running' AND lease_expires_at < now()
                   AND (lease_expires_at < now() - make_interval(secs => 3 * :lease_seconds)
                        OR NOT EXISTS (SELECT 1 FROM nodes n
                                        WHERE n.id = t.lease_owner
                                          AND n.heartbeat_at > now() - make_interval(secs => :lease_seconds)))
                 ORDER BY lease_expires_at
                 LIMIT :limit
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE tasks t
               SET state = o.next_state,
                   run_at = CASE WHEN o.next_state = 'queued' THEN now() ELSE t.run_at END,
                   finished_at = CASE WHEN o.next_state = 'queued' THEN NULL ELSE now() END,
                   error = CASE WHEN o.next_state = 'cancelled' THEN t.error
                                ELSE jsonb_build_object('code', 'lease_expired', 'attempt', o.attempts,
                                     'message', CASE WHEN o.lease_owner LIKE 'remote:%%'
                                         THEN 'remote worker ' || substr(o.lease_owner, 8) || ' stopped heartbeating'
                                              || ' (it died, hung or lost the network); the attempt was abandoned'
                                         ELSE 'node ' || o.lease_owner || ' stopped renewing its lease'
                                              || ' (it crashed or lost the database); the attempt was abandoned' END) END,
                   updated_at = now(),
                   lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL
              FROM expired o
             WHERE t.id = o.id AND t.state = 'running' AND t.lease_token = o.lease_token AND %s
            RETURNING t.*, o.lease_token AS lost_token, o.lease_owner AS lost_owner,
                      o.attempt_started_at AS lost_started_at
            """
                    .formatted(HistoryPartitions.inQueue("t"));

    /**
     * The lost attempt's row; one a node of the previous version opened at its claim (V11) is
     * closed in place.
     */
    private static final String RECORD_LOST_ATTEMPT =
            """
            INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at, finished_at, outcome, error)
            VALUES (:id, :attempt, :node, :token, COALESCE(CAST(:started_at AS timestamptz), now()), now(), 'lost',
                    jsonb_build_object('code', 'lease_expired', 'message', 'the lease expired before the attempt reported'))
            ON CONFLICT (task_id, attempt) DO UPDATE
               SET finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome, error = EXCLUDED.error
             WHERE task_attempts.finished_at IS NULL AND task_attempts.lease_token = EXCLUDED.lease_token
            """;

    private static final String FORGET_DEAD_NODES =
            """
            DELETE FROM nodes WHERE heartbeat_at < now() - make_interval(secs => :seconds)
            """;

    /** Remote workers not seen for as long as a dead node is kept. */
    private static final String FORGET_GONE_REMOTE_WORKERS =
            """
            DELETE FROM remote_workers WHERE last_seen_at < now() - make_interval(secs => :seconds)
            """;

    private record Rescued(Task task, UUID lostToken, String lostOwner, Instant lostStartedAt) {}

    private final Jdbi jdbi;
    private final TaskRowMapper mapper;
    private final CallbackOutbox outbox;
    private final Clock clock;
    private final Duration lease;
    private final Duration interval;
    private Instant connectedSince;
    private Instant lastPass;

    public Rescuer(
            Jdbi jdbi, ObjectMapper json, CallbackOutbox outbox, Clock clock, Duration lease) {
        this(
                jdbi,
                json,
                outbox,
                clock,
                lease,
                Duration.ofMillis(Math.max(200, lease.toMillis() / 2)));
    }

    private Rescuer(
            Jdbi jdbi,
            ObjectMapper json,
            CallbackOutbox outbox,
            Clock clock,
            Duration lease,
            Duration interval) {
        super("rescuer", interval, interval);
        this.jdbi = jdbi;
        this.mapper = new TaskRowMapper(json);
        this.outbox = outbox;
        this.clock = clock;
        this.lease = lease;
        this.interval = interval;
    }

    @Override
    protected void pass() {
        int rescued = rescue();
        if (rescued > 0) {
            log.warn("rescued {} task(s) whose lease expired", rescued);
        }
    }

    @Override
    protected void failed(RuntimeException e) {
        connectedSince = null;
        lastPass = null;
        log.debug("rescuer pass failed; retrying on the next tick", e);
    }

    /**
     * One pass; returns how many tasks it rescued (0 while it waits out a lease after connecting).
     */
    int rescue() {
        jdbi.useHandle(h -> h.execute("SELECT 1"));
        Instant now = clock.instant();
        boolean stalled =
                lastPass != null
                        && Duration.between(lastPass, now).compareTo(interval.multipliedBy(2)) > 0;
        lastPass = now;
        if (connectedSince == null || stalled) {
            connectedSince = now;
        }
        if (now.isBefore(connectedSince.plus(lease))) {
            return 0;
        }
        int total = 0;
        int rescued;
        do {
            rescued = rescueBatch();
            total += rescued;
        } while (rescued == BATCH);
        return total;
    }

    /** Rescues up to one batch now, if no other node holds the rescuer lock. */
    public int rescueBatch() {
        List<Rescued> rescued =
                jdbi.inTransaction(
                        h -> {
                            if (!h.createQuery(LOCK)
                                    .bind("key", LOCK_KEY)
                                    .mapTo(Boolean.class)
                                    .one()) {
                                return List.<Rescued>of();
                            }
                            List<Rescued> rows =
                                    h.createQuery(RESCUE)
                                            .bind("limit", BATCH)
                                            .bind("lease_seconds", lease.toMillis() / 1000.0)
                                            .map(
                                                    (rs, ctx) ->
                                                            new Rescued(
                                                                    mapper.map(rs, ctx),
                                                                    rs.getObject(
                                                                            "lost_token",
                                                                            UUID.class),
                                                                    rs.getString("lost_owner"),
                                                                    Columns.instant(
                                                                            rs, "lost_started_at")))
                                            .list();
                            for (Rescued r : rows) {
                                h.createUpdate(RECORD_LOST_ATTEMPT)
                                        .bind("id", r.task().id())
                                        .bind("attempt", r.task().attempts())
                                        .bind("node", r.lostOwner())
                                        .bind("token", r.lostToken())
                                        .bind("started_at", Columns.iso(r.lostStartedAt()))
                                        .execute();
                                outbox.enqueue(h, r.task());
                            }
                            double forgetAfter = Math.max(3600, lease.toSeconds() * 10);
                            h.createUpdate(FORGET_DEAD_NODES)
                                    .bind("seconds", forgetAfter)
                                    .execute();
                            h.createUpdate(FORGET_GONE_REMOTE_WORKERS)
                                    .bind("seconds", forgetAfter)
                                    .execute();
                            return rows;
                        });
        return rescued.size();
    }
}
