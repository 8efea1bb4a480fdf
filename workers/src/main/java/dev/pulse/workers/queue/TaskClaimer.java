package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.db.ResumedScans;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskRowMapper;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Claims due tasks in one statement (docs/architecture.md invariant 2). The MATERIALIZED CTE makes
 * PostgreSQL lock exactly the rows LIMIT picked, skipping rows other nodes hold; the UPDATE
 * hands each a fresh lease token and stamps the attempt's start. It reaches those rows through
 * the primary key with the picked ids as its index condition, so that its plan, made once per
 * connection ({@link FixedPlans}), does not depend on the table's statistics. The attempt's
 * history row is written when the attempt ends ({@link TaskCompleter}, {@link Rescuer}). Without agent
 * limits (the common case) the claim is only that: the limits' bookkeeping cost about a tenth of
 * the claim's time in the database even when no agent had a limit (docs/benchmarks.md).
 *
 * <p>Agents with a {@code max_concurrency} are limited across all nodes: agents with no room
 * are left out of the scan, and of the rows picked for an agent only as many as it has room
 * for are claimed (the rest are unlocked at commit). While limits exist, claims take a
 * transaction-scoped advisory lock first, so two nodes never both fill the same last slot.
 */
public final class TaskClaimer {

    /** Advisory lock key: "pulse" + 2, serialising claims while agent limits exist. */
    static final long LIMITS_LOCK_KEY = 0x70756c736502L;

    private static final String LOCK = "SELECT 1 FROM pg_advisory_xact_lock(:key)";

    /** The claim when no agent has a limit: lock the first due rows and lease them. */
    static final String CLAIM = claimWhere("");

    /**
     * The same, scanning the claim index only past the last row this claimer took (see
     * {@link #claim(int)}): the rows before it are mostly ones already claimed, whose index entries
     * stay until the table is vacuumed.
     */
    static final String CLAIM_RESUMING = claimWhere("""
            AND (priority, run_at, id) > (:after_priority, CAST(:after_run_at AS timestamptz), CAST(:after_id AS uuid))""");

    private static String claimWhere(String resume) {
        return """
                WITH picked AS MATERIALIZED (
                    SELECT id FROM tasks
                     WHERE state IN ('scheduled', 'queued') AND run_at <= now() %s
                     ORDER BY priority, run_at, id
                     LIMIT :limit
                       FOR UPDATE SKIP LOCKED
                ), %s""".formatted(resume, take("picked"));
    }

    private static final String CLAIM_FIXED = FixedPlans.ahead(CLAIM);
    private static final String CLAIM_RESUMING_FIXED = FixedPlans.ahead(CLAIM_RESUMING);

    /** The claim while agents have limits: full agents are left out, and no agent gets more rows than it has room for. */
    static final String CLAIM_WITHIN_LIMITS = """
            WITH room AS (
                SELECT l.agent,
                       l.max_running - (SELECT count(*) FROM tasks r WHERE r.state = 'running' AND r.agent = l.agent) AS free
                  FROM unnest(CAST(:limited_agents AS text[]), CAST(:max_running AS integer[])) AS l (agent, max_running)
            ), picked AS MATERIALIZED (
                SELECT id, agent, priority, run_at FROM tasks
                 WHERE state IN ('scheduled', 'queued') AND run_at <= now()
                   AND agent NOT IN (SELECT agent FROM room WHERE free <= 0)
                 ORDER BY priority, run_at, id
                 LIMIT :limit
                   FOR UPDATE SKIP LOCKED
            ), allowed AS (
                SELECT p.id
                  FROM (SELECT id, agent, row_number() OVER (PARTITION BY agent ORDER BY priority, run_at, id) AS nth
                          FROM picked) p
                  LEFT JOIN room ON room.agent = p.agent
                 WHERE room.agent IS NULL OR p.nth <= room.free
            ), %s""".formatted(take("allowed"));

    /** What both claims do to the rows they chose (the CTE {@code chosen}): lease them and return them. */
    private static String take(String chosen) {
        return """
                claimed AS (
                    UPDATE tasks t
                       SET state = 'running',
                           attempts = t.attempts + 1,
                           lease_token = gen_random_uuid(),
                           lease_owner = :node,
                           lease_expires_at = now() + make_interval(secs => :lease_seconds),
                           started_at = COALESCE(t.started_at, now()),
                           attempt_started_at = now(),
                           updated_at = now()
                     WHERE t.id = ANY(ARRAY(SELECT id FROM %1$s))
                    RETURNING t.*
                )
                SELECT * FROM claimed ORDER BY priority, run_at, id
                """.formatted(chosen);
    }

    /** Without agent limits, the longest a claimer goes on resuming before it scans the claim index from its start again. */
    static final Duration RESCAN_EVERY = Duration.ofMillis(50);

    /** Where a claim stopped in the claim index's order. */
    private record Position(int priority, Instant runAt, UUID id) {
        static Position of(Task task) {
            return new Position(task.priority(), task.runAt(), task.id());
        }
    }

    private final Jdbi jdbi;
    private final TaskRowMapper mapper;
    private final String node;
    private final Duration lease;
    private final String[] limitedAgents;
    private final Integer[] maxRunning;
    private final ResumedScans<Position> scans;
    private final ClaimedRows claimedRows = new ClaimedRows();

    public TaskClaimer(Jdbi jdbi, ObjectMapper json, String node, Duration lease, Map<String, Integer> agentLimits) {
        this(jdbi, json, node, lease, agentLimits, RESCAN_EVERY);
    }

    TaskClaimer(Jdbi jdbi, ObjectMapper json, String node, Duration lease, Map<String, Integer> agentLimits,
                Duration rescanEvery) {
        this.jdbi = jdbi;
        this.mapper = new TaskRowMapper(json);
        this.node = node;
        this.lease = lease;
        Map<String, Integer> sorted = new TreeMap<>(agentLimits);
        this.limitedAgents = sorted.keySet().toArray(String[]::new);
        this.maxRunning = sorted.values().toArray(Integer[]::new);
        this.scans = new ResumedScans<>(rescanEvery);
    }

    /**
     * Claims at most {@code limit} due tasks; never more than the caller has free slots for.
     *
     * <p>Without agent limits, a claim that follows a full one resumes the index scan after the
     * last row claimed ({@link ResumedScans}): a task that sorts before that point (a more urgent
     * one, one handed back or rescued) waits at most {@link #RESCAN_EVERY} longer.
     */
    public List<ClaimedTask> claim(int limit) {
        if (limit <= 0) {
            return List.of();
        }
        if (limitedAgents.length == 0) {
            return jdbi.withHandle(h -> claimResuming(h, limit));
        }
        return jdbi.inTransaction(h -> {
            FixedPlans.forThisTransaction(h);
            h.createQuery(LOCK).bind("key", LIMITS_LOCK_KEY).mapTo(Integer.class).one();
            return bind(h.createQuery(CLAIM_WITHIN_LIMITS)
                    .bind("limited_agents", limitedAgents)
                    .bind("max_running", maxRunning), limit)
                    .map(claimedRows)
                    .list();
        });
    }

    /** Each claim a statement of its own, with its fixed plan in the same round trip. */
    private List<ClaimedTask> claimResuming(Handle h, int limit) {
        return scans.claim(limit,
                (after, n) -> FixedPlans.rows(bind(h.createQuery(CLAIM_RESUMING_FIXED)
                        .bind("after_priority", after.priority())
                        .bind("after_run_at", OffsetDateTime.ofInstant(after.runAt(), ZoneOffset.UTC))
                        .bind("after_id", after.id()), n), claimedRows),
                n -> FixedPlans.rows(bind(h.createQuery(CLAIM_FIXED), n), claimedRows),
                c -> Position.of(c.task()));
    }

    private Query bind(Query claim, int limit) {
        return claim
                .bind("limit", limit)
                .bind("node", node)
                .bind("lease_seconds", lease.toMillis() / 1000.0);
    }

    /** Claimed rows as tasks with their lease; the columns are looked up once per claim, not per row. */
    private final class ClaimedRows implements RowMapper<ClaimedTask> {

        @Override
        public ClaimedTask map(ResultSet rs, StatementContext ctx) throws SQLException {
            return specialize(rs, ctx).map(rs, ctx);
        }

        @Override
        public RowMapper<ClaimedTask> specialize(ResultSet rs, StatementContext ctx) throws SQLException {
            RowMapper<Task> task = mapper.specialize(rs, ctx);
            int token = rs.findColumn("lease_token");
            int started = rs.findColumn("attempt_started_at");
            return (r, c) -> new ClaimedTask(task.map(r, c), r.getObject(token, UUID.class), node,
                    Columns.instant(r, started));
        }
    }
}
