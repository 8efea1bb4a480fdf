package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.db.ResumedScans;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskRowMapper;
import dev.pulse.workers.tracing.TaskTracing;
import io.opentelemetry.api.trace.SpanKind;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.StatementContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims due tasks in one statement (docs/architecture.md invariant 2). The MATERIALIZED CTE makes
 * PostgreSQL lock exactly the rows LIMIT picked, skipping rows other nodes hold; the UPDATE hands
 * each a fresh lease token and stamps the attempt's start. It reaches those rows through the
 * primary key with the picked ids as its index condition, so that its plan, made once per
 * connection ({@link FixedPlans}), does not depend on the table's statistics. The attempt's history
 * row is written when the attempt ends ({@link TaskCompleter}, {@link Rescuer}). Without agent
 * limits (the common case) the claim is only that: the limits' bookkeeping cost about a tenth of
 * the claim's time in the database even when no agent had a limit (docs/benchmarks.md).
 *
 * <p>Agents with a {@code max_concurrency} are limited across all nodes, with the limits of the
 * live agent registry read at every claim. While some agent has a limit, a claim is two steps. The
 * first is one statement like the plain claim: it leaves out the agents that look full, leases the
 * picked rows of agents without a limit, and hands back the ids of the picked rows of limited
 * agents untouched. Only when there are such rows, the second step runs in a transaction: it tries
 * a transaction-scoped advisory lock per limited agent at hand, without waiting, then, in a
 * statement whose snapshot is taken after the locks are held, counts the running tasks of each
 * agent it locked and leases no more of its rows than it has room for. Every lease of a limited
 * agent's task is made under that agent's lock, so two nodes never both fill its last slot. An
 * agent whose lock another claimer holds is skipped this time, like a row another claimer holds:
 * that claimer is filling its slots now. So no claimer ever waits for another, and those of other
 * agents, or of none, never touch the lock.
 */
public final class TaskClaimer {

    private static final Logger log = LoggerFactory.getLogger(TaskClaimer.class);

    /**
     * Advisory lock class ("pulse" as an int): with the hash of an agent's name, the lock guarding
     * that agent's slots.
     */
    static final int AGENT_LOCK_CLASS = 0x70756c73;

    /**
     * Takes those of the agents' locks no other claimer holds, without waiting; returns the keys
     * taken.
     */
    static final String LOCK_AGENTS =
            """
            SELECT k FROM unnest(CAST(:keys AS integer[])) AS k WHERE pg_try_advisory_xact_lock(:lock_class, k)""";

    /** The claim when no agent has a limit: lock the first due rows and lease them. */
    static final String CLAIM = claimWhere("");

    /**
     * The same, scanning the claim index only past the last row this claimer took (see {@link
     * #claim(int)}): the rows before it are mostly ones already claimed, whose index entries stay
     * until the table is vacuumed.
     */
    static final String CLAIM_RESUMING =
            claimWhere(
                    """
            AND (priority, run_at, id) > (:after_priority, CAST(:after_run_at AS timestamptz), CAST(:after_id AS uuid))""");

    private static String claimWhere(String resume) {
        return """
                WITH picked AS MATERIALIZED (
                    SELECT id FROM tasks
                     WHERE state IN ('scheduled', 'queued') AND run_at <= now() %s
                     ORDER BY priority, run_at, id
                     LIMIT :limit
                       FOR UPDATE SKIP LOCKED
                ), %s"""
                .formatted(resume, take("picked"));
    }

    private static final String CLAIM_FIXED = FixedPlans.ahead(CLAIM);
    private static final String CLAIM_RESUMING_FIXED = FixedPlans.ahead(CLAIM_RESUMING);

    /** How many of each limited agent's tasks run now, against its limit: what it has room for. */
    private static final String ROOM =
            """
            room AS (
                SELECT l.agent,
                       l.max_running - (SELECT count(*) FROM tasks r WHERE r.state = 'running' AND r.agent = l.agent) AS free
                  FROM unnest(CAST(:limited_agents AS text[]), CAST(:max_running AS integer[])) AS l (agent, max_running)
            )""";

    /**
     * The first step while agents have limits: agents that look full are left out of the scan (a
     * hint read without their locks; the second step decides), rows of agents without a limit are
     * leased, and the picked rows of limited agents come back as they are, marked {@code
     * held_back}. (Each from its own branch of a UNION, not joined: a join of the two would be a
     * nested loop.)
     */
    static final String CLAIM_UNLIMITED =
            """
            WITH %s, picked AS MATERIALIZED (
                SELECT id, agent FROM tasks
                 WHERE state IN ('scheduled', 'queued') AND run_at <= now()
                   AND agent NOT IN (SELECT agent FROM room WHERE free <= 0)
                 ORDER BY priority, run_at, id
                 LIMIT :limit
                   FOR UPDATE SKIP LOCKED
            ), unlimited AS (
                SELECT id FROM picked WHERE agent <> ALL(CAST(:limited_agents AS text[]))
            ), %s
            SELECT false AS held_back, * FROM claimed
            UNION ALL
            SELECT true, t.* FROM tasks t
             WHERE t.id = ANY(ARRAY(SELECT id FROM picked WHERE agent = ANY(CAST(:limited_agents AS text[]))))
            ORDER BY priority, run_at, id
            """
                    .formatted(ROOM, leased("unlimited"));

    private static final String CLAIM_UNLIMITED_FIXED = FixedPlans.ahead(CLAIM_UNLIMITED);

    /**
     * The second step, under the locks of the agents at hand: of the held-back rows still due and
     * free, each agent gets as many as it has room for, in the claim's order.
     */
    static final String CLAIM_WITHIN_LIMITS =
            """
            WITH %s, picked AS MATERIALIZED (
                SELECT id, agent, priority, run_at FROM tasks
                 WHERE id = ANY(CAST(:held_back AS uuid[]))
                   AND state IN ('scheduled', 'queued') AND run_at <= now()
                   FOR UPDATE SKIP LOCKED
            ), allowed AS (
                SELECT p.id
                  FROM (SELECT id, agent, row_number() OVER (PARTITION BY agent ORDER BY priority, run_at, id) AS nth
                          FROM picked) p
                  JOIN room ON room.agent = p.agent
                 WHERE p.nth <= room.free
            ), %s"""
                    .formatted(ROOM, take("allowed"));

    /**
     * What the claims do to the rows they chose (the CTE {@code chosen}): lease them and return
     * them.
     */
    private static String take(String chosen) {
        return leased(chosen)
                + """
                SELECT * FROM claimed ORDER BY priority, run_at, id
                """;
    }

    private static String leased(String chosen) {
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
                """
                .formatted(chosen);
    }

    /**
     * Without agent limits, the longest a claimer goes on resuming before it scans the claim index
     * from its start again.
     */
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
    private final Supplier<Map<String, Integer>> agentLimits;
    private final ResumedScans<Position> scans;
    private final ClaimedRows claimedRows = new ClaimedRows();
    private final TaskTracing tracing;

    /** A claimer whose agents' limits never change (tests, and agents fixed at start). */
    public TaskClaimer(
            Jdbi jdbi,
            ObjectMapper json,
            String node,
            Duration lease,
            Map<String, Integer> agentLimits) {
        this(jdbi, json, node, lease, constant(agentLimits), RESCAN_EVERY, TaskTracing.off());
    }

    /**
     * @param agentLimits the {@code max_concurrency} of each agent that has one, read at every
     *     claim (e.g. {@code AgentRegistry::limits}), so limits follow the live registry
     */
    public TaskClaimer(
            Jdbi jdbi,
            ObjectMapper json,
            String node,
            Duration lease,
            Supplier<Map<String, Integer>> agentLimits) {
        this(jdbi, json, node, lease, agentLimits, RESCAN_EVERY, TaskTracing.off());
    }

    /**
     * @param tracing makes a claim span for each task claimed, in the task's trace
     */
    public TaskClaimer(
            Jdbi jdbi,
            ObjectMapper json,
            String node,
            Duration lease,
            Supplier<Map<String, Integer>> agentLimits,
            TaskTracing tracing) {
        this(jdbi, json, node, lease, agentLimits, RESCAN_EVERY, tracing);
    }

    TaskClaimer(
            Jdbi jdbi,
            ObjectMapper json,
            String node,
            Duration lease,
            Map<String, Integer> agentLimits,
            Duration rescanEvery) {
        this(jdbi, json, node, lease, constant(agentLimits), rescanEvery, TaskTracing.off());
    }

    private TaskClaimer(
            Jdbi jdbi,
            ObjectMapper json,
            String node,
            Duration lease,
            Supplier<Map<String, Integer>> agentLimits,
            Duration rescanEvery,
            TaskTracing tracing) {
        this.tracing = tracing;
        this.jdbi = jdbi;
        this.mapper = new TaskRowMapper(json);
        this.node = node;
        this.lease = lease;
        this.agentLimits = agentLimits;
        this.scans = new ResumedScans<>(rescanEvery);
    }

    private static Supplier<Map<String, Integer>> constant(Map<String, Integer> limits) {
        Map<String, Integer> copy = Map.copyOf(limits);
        return () -> copy;
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
        if (!tracing.on()) {
            return claimUntraced(limit);
        }
        Instant since = tracing.now();
        List<ClaimedTask> claimed = claimUntraced(limit);
        for (ClaimedTask task : claimed) {
            // Made once the claim is over (only then are its tasks known), timed from its start.
            tracing.span(TaskTracing.CLAIM, SpanKind.INTERNAL, task.task().trace())
                    .setStartTimestamp(since)
                    .setAttribute("pulse.task.id", task.id().toString())
                    .setAttribute("pulse.agent", task.task().agent())
                    .setAttribute("pulse.attempt", task.attempt())
                    .setAttribute("pulse.node", node)
                    .setAttribute("pulse.claim.size", claimed.size())
                    .startSpan()
                    .end();
        }
        return claimed;
    }

    private List<ClaimedTask> claimUntraced(int limit) {
        Map<String, Integer> limits = agentLimits.get();
        if (limits.isEmpty()) {
            return jdbi.withHandle(h -> claimResuming(h, limit));
        }
        Limits everyLimit = Limits.of(limits);
        FirstStep first =
                FirstStep.of(
                        jdbi.withHandle(
                                h ->
                                        FixedPlans.rows(
                                                everyLimit.bind(
                                                        bind(
                                                                h.createQuery(
                                                                        CLAIM_UNLIMITED_FIXED),
                                                                limit)),
                                                new FirstStepRows())));
        if (first.heldBack().isEmpty()) {
            return first.claimed();
        }
        List<ClaimedTask> claimed = new ArrayList<>(first.claimed());
        try {
            claimed.addAll(
                    claimWithinLimits(first, everyLimit.only(first.heldBackAgents()), limit));
        } catch (RuntimeException e) {
            // The first step's leases are the caller's now: lost here, they would wait for their
            // lease to pass.
            log.warn(
                    "could not claim tasks of limited agents {}; claiming them again next time: {}",
                    first.heldBackAgents(),
                    e.getMessage());
        }
        return claimed;
    }

    /** The second step: under the locks it gets, each held-back agent's rows up to its room. */
    private List<ClaimedTask> claimWithinLimits(FirstStep first, Limits atHand, int limit) {
        return jdbi.inTransaction(
                h -> {
                    FixedPlans.forThisTransaction(h);
                    Set<Integer> locked =
                            Set.copyOf(
                                    h.createQuery(LOCK_AGENTS)
                                            .bind("lock_class", AGENT_LOCK_CLASS)
                                            .bind("keys", atHand.lockKeys())
                                            .mapTo(Integer.class)
                                            .list());
                    Limits lockedAgents = atHand.lockedBy(locked);
                    if (lockedAgents.agents().length == 0) {
                        return List.<ClaimedTask>of();
                    }
                    return lockedAgents
                            .bind(bind(h.createQuery(CLAIM_WITHIN_LIMITS), limit))
                            .bind("held_back", first.heldBack().toArray(UUID[]::new))
                            .map(claimedRows)
                            .list();
                });
    }

    /**
     * The lock key of an agent's slots within {@link #AGENT_LOCK_CLASS}: the same on every node
     * (String.hashCode is specified).
     */
    static int lockKey(String agent) {
        return agent.hashCode();
    }

    /** Agents' limits as the statements take them, sorted by name. */
    private record Limits(String[] agents, Integer[] maxRunning) {

        static Limits of(Map<String, Integer> limits) {
            Map<String, Integer> sorted = new TreeMap<>(limits);
            return new Limits(
                    sorted.keySet().toArray(String[]::new),
                    sorted.values().toArray(Integer[]::new));
        }

        /** The agents whose lock key is among {@code keys}. */
        Limits lockedBy(Set<Integer> keys) {
            Map<String, Integer> some = new TreeMap<>();
            for (int i = 0; i < agents.length; i++) {
                if (keys.contains(lockKey(agents[i]))) {
                    some.put(agents[i], maxRunning[i]);
                }
            }
            return of(some);
        }

        Limits only(Set<String> names) {
            Map<String, Integer> some = new TreeMap<>();
            for (String name : names) {
                int i = Arrays.binarySearch(agents, name);
                if (i >= 0) {
                    some.put(name, maxRunning[i]);
                }
            }
            return of(some);
        }

        /**
         * Distinct: two names may share a key, which only makes their claimers skip each other's
         * rows.
         */
        Integer[] lockKeys() {
            return Arrays.stream(agents)
                    .map(TaskClaimer::lockKey)
                    .sorted()
                    .distinct()
                    .toArray(Integer[]::new);
        }

        Query bind(Query query) {
            return query.bind("limited_agents", agents).bind("max_running", maxRunning);
        }
    }

    /** What the first step leased, and the picked rows of limited agents it left for the second. */
    private record FirstStep(
            List<ClaimedTask> claimed, List<UUID> heldBack, Set<String> heldBackAgents) {

        static FirstStep of(List<FirstStepRow> rows) {
            List<ClaimedTask> claimed = new ArrayList<>();
            List<UUID> heldBack = new ArrayList<>();
            Set<String> agents = new TreeSet<>();
            for (FirstStepRow row : rows) {
                if (row.claimed() != null) {
                    claimed.add(row.claimed());
                } else {
                    heldBack.add(row.heldBackId());
                    agents.add(row.heldBackAgent());
                }
            }
            return new FirstStep(claimed, heldBack, agents);
        }
    }

    /** A row of the first step: a leased task, or the id and agent of a held-back row. */
    private record FirstStepRow(ClaimedTask claimed, UUID heldBackId, String heldBackAgent) {}

    private final class FirstStepRows implements RowMapper<FirstStepRow> {

        @Override
        public FirstStepRow map(ResultSet rs, StatementContext ctx) throws SQLException {
            return specialize(rs, ctx).map(rs, ctx);
        }

        @Override
        public RowMapper<FirstStepRow> specialize(ResultSet rs, StatementContext ctx)
                throws SQLException {
            RowMapper<ClaimedTask> task = claimedRows.specialize(rs, ctx);
            int heldBack = rs.findColumn("held_back");
            int id = rs.findColumn("id");
            int agent = rs.findColumn("agent");
            return (r, c) ->
                    r.getBoolean(heldBack)
                            ? new FirstStepRow(
                                    null, r.getObject(id, UUID.class), r.getString(agent))
                            : new FirstStepRow(task.map(r, c), null, null);
        }
    }

    /** Each claim a statement of its own, with its fixed plan in the same round trip. */
    private List<ClaimedTask> claimResuming(Handle h, int limit) {
        return scans.claim(
                limit,
                (after, n) ->
                        FixedPlans.rows(
                                bind(
                                        h.createQuery(CLAIM_RESUMING_FIXED)
                                                .bind("after_priority", after.priority())
                                                .bind(
                                                        "after_run_at",
                                                        OffsetDateTime.ofInstant(
                                                                after.runAt(), ZoneOffset.UTC))
                                                .bind("after_id", after.id()),
                                        n),
                                claimedRows),
                n -> FixedPlans.rows(bind(h.createQuery(CLAIM_FIXED), n), claimedRows),
                c -> Position.of(c.task()));
    }

    private Query bind(Query claim, int limit) {
        return claim.bind("limit", limit)
                .bind("node", node)
                .bind("lease_seconds", lease.toMillis() / 1000.0);
    }

    /**
     * Claimed rows as tasks with their lease; the columns are looked up once per claim, not per
     * row.
     */
    private final class ClaimedRows implements RowMapper<ClaimedTask> {

        @Override
        public ClaimedTask map(ResultSet rs, StatementContext ctx) throws SQLException {
            return specialize(rs, ctx).map(rs, ctx);
        }

        @Override
        public RowMapper<ClaimedTask> specialize(ResultSet rs, StatementContext ctx)
                throws SQLException {
            RowMapper<Task> task = mapper.specialize(rs, ctx);
            int token = rs.findColumn("lease_token");
            int started = rs.findColumn("attempt_started_at");
            return (r, c) ->
                    new ClaimedTask(
                            task.map(r, c),
                            r.getObject(token, UUID.class),
                            node,
                            Columns.instant(r, started));
        }
    }
}
