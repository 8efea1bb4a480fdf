package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentLimits;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.db.ResumedScans;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.flow.LimitArrays;
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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Collectors;
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
 * <p>The claim order is priority, then place ({@code virtual_start}: a keyed task's place in the
 * rotation across concurrency keys, any other task's due time; docs/architecture.md, "Fairness
 * across concurrency keys"), then due time and id. Agents on hold ({@link AgentHolds}: a provider's
 * back-off, a spent budget) are skipped by every claim.
 *
 * <p>Agents with limits ({@code max_concurrency}, {@code per_key_concurrency}, {@code rate_limit},
 * {@code per_key_rate_limit}) are limited across all nodes, with the limits of the live agent
 * registry read at every claim. While some agent has a limit, the claim's first statement leaves
 * out the agents that look full or out of starts and leases the picked rows that no limit applies
 * to. It also leases the keyed rows of agents whose only limit is {@code per_key_concurrency}:
 * V20's {@code pulse_lock_keys} tries each key's advisory lock, without waiting, and counts the
 * locked keys' running tasks in a snapshot taken after the locks are held (a function's query, not
 * the statement's own snapshot, which predates the locks); the statement leases no more of a key's
 * rows than it has room for. The statement hands back, untouched, the picked rows of agents with
 * agent-wide or per-key rate limits; only when there are such rows, the second step runs in a
 * transaction: it tries a transaction-scoped advisory lock for each limit at hand (the agent's for
 * its agent-wide limits, an agent-and-key lock for its per-key limits), without waiting; then, in a
 * statement whose snapshot is taken after the locks are held, it counts running tasks and recent
 * starts and leases no more rows than each agent and key has room for, logging the starts that rate
 * limits count. Every lease under a limit is made under that limit's lock, with counts taken after
 * the lock, so two nodes never both fill its last slot. A lock another claimer holds makes its rows
 * skipped this time, like a row another claimer holds: that claimer is filling those slots now. So
 * no claimer ever waits for another; claimers of other agents, or of other keys of an agent with
 * only per-key limits, never meet.
 */
public final class TaskClaimer {

    private static final Logger log = LoggerFactory.getLogger(TaskClaimer.class);

    /**
     * Advisory lock class ("pulse" as an int): with the hash of an agent's name, the lock guarding
     * that agent's slots and starts.
     */
    static final int AGENT_LOCK_CLASS = 0x70756c73;

    /**
     * Advisory lock class ("pulk"): with {@code pulse_key_lock(agent, key)} (V20, the same hash in
     * every statement that takes it), the lock guarding that key's slots and starts of that agent.
     * Written out in V20's {@code pulse_lock_keys}.
     */
    static final int KEY_LOCK_CLASS = 0x70756c6b;

    /**
     * Takes those of the locks no other claimer holds, without waiting; returns those taken. A lock
     * is an agent's ({@code key} null; {@code agent_lock} its {@link #lockKey}) or one key's of an
     * agent.
     */
    static final String TRY_LOCKS =
            """
            SELECT a, k FROM unnest(CAST(:agents AS text[]), CAST(:keys AS text[]),
                                    CAST(:agent_locks AS integer[])) AS l (a, k, h)
             WHERE CASE WHEN k IS NULL THEN pg_try_advisory_xact_lock(%d, h)
                        ELSE pg_try_advisory_xact_lock(%d, pulse_key_lock(a, k)) END"""
                    .formatted(AGENT_LOCK_CLASS, KEY_LOCK_CLASS);

    /** The claim order; the claim index (tasks_claimable) holds the waiting rows in it. */
    static final String ORDER = "priority, virtual_start, run_at, id";

    /** The claim when no agent has a limit: lock the first due rows and lease them. */
    static final String CLAIM = claimWhere("");

    /**
     * The same, scanning the claim index only past the last row this claimer took (see {@link
     * #claim(int)}): the rows before it are mostly ones already claimed, whose index entries stay
     * until the table is vacuumed.
     */
    static final String CLAIM_RESUMING = claimWhere(TaskClaimer.RESUME);

    /** The rows past a position in the claim order (bound by {@link #after}). */
    private static final String RESUME =
            """
            AND (priority, virtual_start, run_at, id) > (:after_priority, CAST(:after_place AS timestamptz),
                                                        CAST(:after_run_at AS timestamptz), CAST(:after_id AS uuid))""";

    /**
     * Which agents' rows a claimer takes (see {@link Agents}): a node's claimer leaves out the
     * agents remote workers run; a remote worker's claim takes only the agents it asked for.
     */
    private static final String AGENTS_CLAIMED =
            """
            AND agent <> ALL(CAST(:excluded_agents AS text[]))
                       AND (:any_agent OR agent = ANY(CAST(:only_agents AS text[])))""";

    private static String claimWhere(String resume) {
        return """
                WITH picked AS MATERIALIZED (
                    SELECT id FROM tasks_queue
                     WHERE state IN ('scheduled', 'queued') AND run_at <= now() AND %s %s
                       %s
                     ORDER BY %s
                     LIMIT :limit
                       FOR UPDATE SKIP LOCKED
                ), %s"""
                .formatted(
                        AgentHolds.NOT_HELD,
                        resume,
                        AGENTS_CLAIMED,
                        ORDER,
                        take("picked", "now()"));
    }

    // Without agent limits, a claim commits without waiting for the disk (invariant 21 of
    // docs/architecture.md): a claim lost in a database crash only leaves its tasks claimable, as
    // if it had not happened. The fence turns its attempts' reports away, unrecorded, and the tasks
    // run again, the at-least-once a crashed node gives them too; the first report that is
    // recorded commits waiting for the disk, and so flushes the claim's WAL before it. Waiting for
    // the claim's flush was on the path of every task: a quarter of a burn-down's time
    // (docs/benchmarks.md). A claim under limits still waits: its lease is what keeps a limit's
    // count right across a crash.
    private static final String CLAIM_FIXED = FixedPlans.aheadUnflushed(CLAIM);
    private static final String CLAIM_RESUMING_FIXED = FixedPlans.aheadUnflushed(CLAIM_RESUMING);

    private static final String LIMITS = LimitArrays.CTE;

    /**
     * What each agent has room for as a whole, as of {@code clock}: the least of its free slots and
     * its starts left in the window (null when it has neither limit).
     */
    private static String room(String clock) {
        return """
                room AS (
                    SELECT l.agent,
                           LEAST(CASE WHEN l.max_running IS NOT NULL
                                      THEN l.max_running - (SELECT count(*) FROM tasks_queue r
                                                             WHERE r.state = 'running' AND r.agent = l.agent) END,
                                 CASE WHEN l.rate_limit IS NOT NULL
                                      THEN l.rate_limit - (SELECT count(*) FROM flow_starts s
                                                            WHERE s.agent = l.agent
                                                              AND s.started_at > %1$s - l.rate_ms * interval '1 millisecond') END)
                               AS free
                      FROM limits l
                )"""
                .formatted(clock);
    }

    /**
     * The claim while agents have limits, and for most limits all of it: agents that look full are
     * left out of the scan (a hint read without their locks), rows no limit applies to are leased,
     * and so are rows whose only limit is their key's {@code per_key_concurrency}, within the room
     * {@code pulse_lock_keys} (V20) finds for each key whose lock it gets: it counts the key's
     * running tasks in a snapshot taken after the lock is held, which this statement's own
     * snapshot, taken before, is not. The rows of agents with agent-wide limits or a per-key rate
     * limit come back as they are ({@code kind} 1), for the second step; picked rows it left (their
     * keys full or locked by another claimer) come back as {@code kind} 2. (Each from its own
     * branch of a UNION, not joined: a join of the two would be a nested loop. The function is not
     * called when no keyed row was picked: a one-time filter.)
     */
    static final String CLAIM_FIRST_STEP = firstStep("");

    /**
     * The same, past the last row of the last full claim ({@link ResumedScans}): every row it picks
     * comes back, leased or not, so that a claim that picked its limit counts as full.
     */
    static final String CLAIM_FIRST_STEP_RESUMING = firstStep(RESUME);

    private static String firstStep(String resume) {
        return """
            WITH %s, %s, picked AS MATERIALIZED (
                SELECT id, agent, concurrency_key, priority, virtual_start, run_at FROM tasks_queue
                 WHERE state IN ('scheduled', 'queued') AND run_at <= now()
                   AND agent NOT IN (SELECT agent FROM room WHERE free <= 0) AND %s %s
                   %s
                 ORDER BY %s
                 LIMIT :limit
                   FOR UPDATE SKIP LOCKED
            ), limited AS (
                SELECT id FROM picked
                 WHERE agent = ANY(CAST(:agent_wide AS text[]))
                    OR (concurrency_key IS NOT NULL AND agent = ANY(CAST(:per_key AS text[]))
                        AND agent <> ALL(CAST(:key_concurrency_only AS text[])))
            ), keyed AS (
                SELECT * FROM picked
                 WHERE concurrency_key IS NOT NULL AND agent = ANY(CAST(:key_concurrency_only AS text[]))
            ), key_room AS MATERIALIZED (
                SELECT k.locked_agent AS agent, k.locked_key AS concurrency_key,
                       l.key_max_running - k.running AS free
                  FROM pulse_lock_keys(ARRAY(SELECT agent FROM keyed ORDER BY id),
                                       ARRAY(SELECT concurrency_key FROM keyed ORDER BY id)) k
                  JOIN limits l ON l.agent = k.locked_agent
                 WHERE EXISTS (SELECT FROM keyed)
            ), within_keys AS (
                SELECT p.id
                  FROM (SELECT keyed.*, row_number() OVER (PARTITION BY agent, concurrency_key ORDER BY %s) AS nth
                          FROM keyed) p
                  JOIN key_room kr ON kr.agent = p.agent AND kr.concurrency_key = p.concurrency_key
                 WHERE p.nth <= kr.free
            ), chosen AS (
                SELECT id FROM picked
                EXCEPT SELECT id FROM limited
                EXCEPT SELECT id FROM keyed
                UNION ALL
                SELECT id FROM within_keys
            ), %s
            SELECT 0 AS kind, * FROM claimed
            UNION ALL
            SELECT 1, t.* FROM tasks_queue t
             WHERE t.id = ANY(ARRAY(SELECT id FROM limited))
            UNION ALL
            SELECT 2, t.* FROM tasks_queue t
             WHERE t.id = ANY(ARRAY(SELECT id FROM keyed EXCEPT SELECT id FROM within_keys))
            ORDER BY %s
            """
                .formatted(
                        LIMITS,
                        room("now()"),
                        AgentHolds.NOT_HELD,
                        resume,
                        AGENTS_CLAIMED,
                        ORDER,
                        ORDER,
                        leased("chosen", "now()"),
                        ORDER);
    }

    private static final String CLAIM_FIRST_STEP_FIXED = FixedPlans.ahead(CLAIM_FIRST_STEP);
    private static final String CLAIM_FIRST_STEP_RESUMING_FIXED =
            FixedPlans.ahead(CLAIM_FIRST_STEP_RESUMING);

    /**
     * The second step, under the locks of the limits at hand, with the statement's own clock (taken
     * after the locks were granted, so starts are logged in the order the locks passed): of the
     * held-back rows still due and free, each key gets as many as it has room for (its running
     * tasks counted in one pass over the agents' running rows, not once per key), then each agent
     * as many of those as it has room for, in the claim's order. The starts rate limits count are
     * logged, and those of the agents and keys at hand that no window counts any more are deleted
     * (only under their locks: two claimers never wait on each other's deletes).
     */
    static final String CLAIM_WITHIN_LIMITS =
            """
            WITH %s, picked AS MATERIALIZED (
                SELECT id, agent, concurrency_key, priority, virtual_start, run_at FROM tasks_queue
                 WHERE id = ANY(CAST(:held_back AS uuid[]))
                   AND state IN ('scheduled', 'queued') AND run_at <= now()
                   FOR UPDATE SKIP LOCKED
            ), %s, keys AS (
                SELECT DISTINCT agent, concurrency_key FROM picked WHERE concurrency_key IS NOT NULL
            ), key_running AS (
                SELECT r.agent, r.concurrency_key, count(*) AS n
                  FROM tasks_queue r
                 WHERE r.state = 'running' AND r.agent = ANY(ARRAY(SELECT agent FROM keys))
                   AND r.concurrency_key IS NOT NULL
                 GROUP BY r.agent, r.concurrency_key
            ), key_room AS (
                SELECT k.agent, k.concurrency_key,
                       LEAST(CASE WHEN l.key_max_running IS NOT NULL
                                  THEN l.key_max_running - COALESCE(kr.n, 0) END,
                             CASE WHEN l.key_rate_limit IS NOT NULL
                                  THEN l.key_rate_limit - (SELECT count(*) FROM flow_starts s
                                                            WHERE s.agent = k.agent AND s.concurrency_key = k.concurrency_key
                                                              AND s.started_at > statement_timestamp() - l.key_rate_ms * interval '1 millisecond') END)
                           AS free
                  FROM keys k JOIN limits l ON l.agent = k.agent
                  LEFT JOIN key_running kr ON kr.agent = k.agent AND kr.concurrency_key = k.concurrency_key
            ), within_keys AS (
                SELECT p.id, p.agent, p.priority, p.virtual_start, p.run_at
                  FROM (SELECT picked.*, row_number() OVER (PARTITION BY agent, concurrency_key ORDER BY %s) AS nth
                          FROM picked) p
                  LEFT JOIN key_room kr ON kr.agent = p.agent AND kr.concurrency_key = p.concurrency_key
                 WHERE kr.free IS NULL OR p.nth <= kr.free
            ), allowed AS (
                SELECT w.id
                  FROM (SELECT id, agent, row_number() OVER (PARTITION BY agent ORDER BY %s) AS nth
                          FROM within_keys) w
                  JOIN room ON room.agent = w.agent
                 WHERE room.free IS NULL OR w.nth <= room.free
            ), %s, logged AS (
                INSERT INTO flow_starts (agent, concurrency_key, started_at)
                SELECT c.agent, c.concurrency_key, c.attempt_started_at
                  FROM claimed c JOIN limits l ON l.agent = c.agent
                 WHERE l.rate_limit IS NOT NULL OR (l.key_rate_limit IS NOT NULL AND c.concurrency_key IS NOT NULL)
            ), pruned AS (
                DELETE FROM flow_starts s
                 WHERE s.agent = ANY(ARRAY(SELECT agent FROM limits WHERE rate_limit IS NOT NULL OR key_rate_limit IS NOT NULL))
                   AND s.started_at < statement_timestamp()
                                      - (SELECT max(GREATEST(rate_ms, key_rate_ms)) FROM limits) * interval '1 millisecond'
                   AND (s.agent = ANY(ARRAY(SELECT agent FROM limits WHERE rate_limit IS NOT NULL))
                        OR s.concurrency_key = ANY(ARRAY(SELECT k.concurrency_key FROM keys k WHERE k.agent = s.agent)))
            )
            SELECT * FROM claimed ORDER BY %s
            """
                    .formatted(
                            LIMITS,
                            room("statement_timestamp()"),
                            ORDER,
                            ORDER,
                            leased("allowed", "statement_timestamp()"),
                            ORDER);

    /**
     * What the claims do to the rows they chose (the CTE {@code chosen}): lease them and return
     * them.
     */
    private static String take(String chosen, String clock) {
        return leased(chosen, clock)
                + """
                SELECT * FROM claimed ORDER BY %s
                """
                        .formatted(ORDER);
    }

    private static String leased(String chosen, String clock) {
        return """
                claimed AS (
                    UPDATE tasks_queue t
                       SET state = 'running',
                           attempts = t.attempts + 1,
                           lease_token = gen_random_uuid(),
                           lease_owner = :node,
                           lease_expires_at = %2$s + make_interval(secs => COALESCE(
                               (CAST(:agent_lease_seconds AS float8[]))[array_position(CAST(:only_agents AS text[]), t.agent)],
                               :lease_seconds)),
                           started_at = COALESCE(t.started_at, %2$s),
                           attempt_started_at = %2$s,
                           updated_at = %2$s
                     WHERE t.id = ANY(ARRAY(SELECT id FROM %1$s))
                    RETURNING t.*
                )
                """
                .formatted(chosen, clock);
    }

    /**
     * The longest a claimer goes on resuming before it scans the claim index from its start again.
     */
    static final Duration RESCAN_EVERY = Duration.ofMillis(50);

    /** Where a claim stopped in the claim index's order. */
    private record Position(int priority, Instant place, Instant runAt, UUID id) {}

    /** A claimed task with its place in the claim order. */
    private record Placed(ClaimedTask claimed, Instant place) {
        Position position() {
            Task t = claimed.task();
            return new Position(t.priority(), place, t.runAt(), t.id());
        }
    }

    /**
     * Which agents' tasks a claimer takes, and the lease each gets: every agent but {@code
     * excluded}, with the claimer's own lease (a node's claimer), or only the agents of {@code
     * leases}, each with its own lease (a remote worker's claim).
     */
    public record Agents(List<String> excluded, Map<String, Duration> leases) {

        public static final Agents ALL = new Agents(List.of(), Map.of());

        public Agents {
            excluded = List.copyOf(excluded);
            leases = Map.copyOf(new TreeMap<>(leases));
        }

        /** Every agent but these (the agents remote workers run). */
        public static Agents excluding(List<String> agents) {
            return new Agents(agents, Map.of());
        }

        /** Only these agents, each leased for its own duration. */
        public static Agents only(Map<String, Duration> leases) {
            if (leases.isEmpty()) {
                throw new IllegalArgumentException(
                        "a claim of only some agents names at least one");
            }
            return new Agents(List.of(), leases);
        }

        Query bind(Query query) {
            Map<String, Duration> sorted = new TreeMap<>(leases);
            return query.bind("excluded_agents", excluded.toArray(String[]::new))
                    .bind("any_agent", leases.isEmpty())
                    .bind("only_agents", sorted.keySet().toArray(String[]::new))
                    .bind(
                            "agent_lease_seconds",
                            sorted.values().stream()
                                    .map(d -> d.toMillis() / 1000.0)
                                    .toArray(Double[]::new));
        }
    }

    /**
     * What a claimer is set up with. Start from {@link #of} (every agent, no limits, no tracing)
     * and name what differs: {@code Settings.of(node, lease).withLimits(registry::limits)}.
     *
     * @param node the lease owner written on claimed rows
     * @param lease how long a claimed task is leased (unless {@link Agents} gives its agent one)
     * @param agentLimits the limits of each agent that has any, read at every claim (e.g. {@code
     *     AgentRegistry::limits}), so limits follow the live registry
     * @param agents which agents' tasks to claim, read at every claim (e.g. every agent but those
     *     the live registry says remote workers run)
     * @param tracing makes a claim span for each task claimed, in the task's trace
     * @param rescanEvery the longest a claimer resumes before it scans the claim index from its
     *     start again
     */
    public record Settings(
            String node,
            Duration lease,
            Supplier<Map<String, AgentLimits>> agentLimits,
            Supplier<Agents> agents,
            TaskTracing tracing,
            Duration rescanEvery) {

        /** Every agent, no limits, no tracing, the default rescan interval. */
        public static Settings of(String node, Duration lease) {
            return new Settings(
                    node, lease, Map::of, () -> Agents.ALL, TaskTracing.off(), RESCAN_EVERY);
        }

        public Settings withLimits(Supplier<Map<String, AgentLimits>> limits) {
            return new Settings(node, lease, limits, agents, tracing, rescanEvery);
        }

        /** {@code max_concurrency} limits that never change (tests, and agents fixed at start). */
        public Settings withFixedConcurrency(Map<String, Integer> limits) {
            return withLimits(constant(limits));
        }

        public Settings withAgents(Supplier<Agents> which) {
            return new Settings(node, lease, agentLimits, which, tracing, rescanEvery);
        }

        public Settings withTracing(TaskTracing spans) {
            return new Settings(node, lease, agentLimits, agents, spans, rescanEvery);
        }

        public Settings withRescanEvery(Duration interval) {
            return new Settings(node, lease, agentLimits, agents, tracing, interval);
        }
    }

    private final Jdbi jdbi;
    private final TaskRowMapper mapper;
    private final String node;
    private final Duration lease;
    private final Supplier<Map<String, AgentLimits>> agentLimits;
    private final Supplier<Agents> agents;
    private final ResumedScans<Position> scans;
    private final ClaimedRows claimedRows = new ClaimedRows();
    private final TaskTracing tracing;

    public TaskClaimer(Jdbi jdbi, ObjectMapper json, Settings settings) {
        this.jdbi = jdbi;
        this.mapper = new TaskRowMapper(json);
        this.node = settings.node();
        this.lease = settings.lease();
        this.agentLimits = settings.agentLimits();
        this.agents = settings.agents();
        this.tracing = settings.tracing();
        this.scans = new ResumedScans<>(settings.rescanEvery());
    }

    private static Supplier<Map<String, AgentLimits>> constant(Map<String, Integer> limits) {
        Map<String, AgentLimits> copy =
                limits.entrySet().stream()
                        .collect(
                                Collectors.toUnmodifiableMap(
                                        Map.Entry::getKey,
                                        e -> AgentLimits.concurrency(e.getValue())));
        return () -> copy;
    }

    /**
     * Claims at most {@code limit} due tasks; never more than the caller has free slots for.
     *
     * <p>A claim that follows a full one resumes the index scan after the last row picked ({@link
     * ResumedScans}; with limits, a row picked counts whether it was leased or not): a task that
     * sorts before that point (a more urgent one, one handed back or rescued, one of a key that was
     * full) waits at most {@link #RESCAN_EVERY} longer.
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
        Map<String, AgentLimits> limits = agentLimits.get();
        if (limits.isEmpty()) {
            return jdbi.withHandle(h -> claimResuming(h, limit));
        }
        Limits everyLimit = Limits.of(limits);
        FirstStepRows rows = new FirstStepRows();
        FirstStep first =
                FirstStep.of(
                        jdbi.withHandle(
                                h ->
                                        scans.claim(
                                                limit,
                                                (after, n) ->
                                                        firstStep(
                                                                h.createQuery(
                                                                        CLAIM_FIRST_STEP_RESUMING_FIXED),
                                                                n,
                                                                after,
                                                                everyLimit,
                                                                rows),
                                                n ->
                                                        firstStep(
                                                                h.createQuery(
                                                                        CLAIM_FIRST_STEP_FIXED),
                                                                n,
                                                                null,
                                                                everyLimit,
                                                                rows),
                                                FirstStepRow::position)));
        if (first.heldBack().isEmpty()) {
            return first.claimed();
        }
        List<ClaimedTask> claimed = new ArrayList<>(first.claimed());
        try {
            claimed.addAll(claimWithinLimits(first.heldBack(), everyLimit, limit));
        } catch (RuntimeException e) {
            // The first step's leases are the caller's now: lost here, they would wait for their
            // lease to pass.
            log.warn(
                    "could not claim tasks of limited agents {}; claiming them again next time: {}",
                    first.heldBack().stream().map(HeldBack::agent).distinct().toList(),
                    e.getMessage());
        }
        return claimed;
    }

    /** The second step: under the locks it gets, the held-back rows the limits have room for. */
    private List<ClaimedTask> claimWithinLimits(List<HeldBack> heldBack, Limits limits, int limit) {
        return jdbi.inTransaction(
                h -> {
                    FixedPlans.forThisTransaction(h);
                    Set<Lock> wanted = new java.util.TreeSet<>();
                    heldBack.forEach(row -> wanted.addAll(limits.locksFor(row)));
                    Set<Lock> locked = tryLocks(h, wanted);
                    List<HeldBack> eligible =
                            heldBack.stream()
                                    .filter(row -> locked.containsAll(limits.locksFor(row)))
                                    .toList();
                    if (eligible.isEmpty()) {
                        return List.<ClaimedTask>of();
                    }
                    Limits atHand =
                            limits.only(
                                    eligible.stream()
                                            .map(HeldBack::agent)
                                            .collect(Collectors.toSet()));
                    return atHand.bind(bind(h.createQuery(CLAIM_WITHIN_LIMITS), limit))
                            .bind(
                                    "held_back",
                                    eligible.stream().map(HeldBack::id).toArray(UUID[]::new))
                            .map(claimedRows)
                            .list();
                });
    }

    private static Set<Lock> tryLocks(Handle h, Set<Lock> wanted) {
        return Set.copyOf(
                h.createQuery(TRY_LOCKS)
                        .bind("agents", wanted.stream().map(Lock::agent).toArray(String[]::new))
                        .bind(
                                "keys",
                                wanted.stream().map(Lock::concurrencyKey).toArray(String[]::new))
                        .bind(
                                "agent_locks",
                                wanted.stream()
                                        .map(l -> lockKey(l.agent()))
                                        .toArray(Integer[]::new))
                        .map((rs, ctx) -> new Lock(rs.getString(1), rs.getString(2)))
                        .list());
    }

    /**
     * The lock key of an agent's slots within {@link #AGENT_LOCK_CLASS}: the same on every node
     * (String.hashCode is specified).
     */
    static int lockKey(String agent) {
        return agent.hashCode();
    }

    /**
     * An advisory lock: an agent's ({@code concurrencyKey} null) or one key's of an agent. Two
     * limits may share one lock (hashes meet), which only makes them skip each other.
     */
    private record Lock(String agent, String concurrencyKey) implements Comparable<Lock> {

        private static final Comparator<Lock> ORDER =
                Comparator.comparing(Lock::agent)
                        .thenComparing(
                                Lock::concurrencyKey, Comparator.nullsFirst(String::compareTo));

        @Override
        public int compareTo(Lock o) {
            return ORDER.compare(this, o);
        }
    }

    /** Agents' limits as the statements take them, sorted by name. */
    private record Limits(Map<String, AgentLimits> byAgent) {

        static Limits of(Map<String, AgentLimits> limits) {
            return new Limits(new TreeMap<>(limits));
        }

        Limits only(Set<String> names) {
            Map<String, AgentLimits> some = new TreeMap<>(byAgent);
            some.keySet().retainAll(names);
            return new Limits(some);
        }

        /** The locks a claim must hold to lease {@code row}. */
        List<Lock> locksFor(HeldBack row) {
            AgentLimits l = byAgent.get(row.agent());
            if (l == null) {
                return List.of();
            }
            List<Lock> locks = new ArrayList<>(2);
            if (l.agentWide()) {
                locks.add(new Lock(row.agent(), null));
            }
            if (l.flow().perKey() && row.concurrencyKey() != null) {
                locks.add(new Lock(row.agent(), row.concurrencyKey()));
            }
            return locks;
        }

        Query bind(Query query) {
            return LimitArrays.bind(query, byAgent);
        }

        Query bindKinds(Query query) {
            return LimitArrays.bindKinds(query, byAgent);
        }
    }

    /** A picked row the first step left for the second. */
    private record HeldBack(UUID id, String agent, String concurrencyKey) {}

    /** What the first step leased, and the picked rows it left for the second. */
    private record FirstStep(List<ClaimedTask> claimed, List<HeldBack> heldBack) {

        static FirstStep of(List<FirstStepRow> rows) {
            List<ClaimedTask> claimed = new ArrayList<>();
            List<HeldBack> heldBack = new ArrayList<>();
            for (FirstStepRow row : rows) {
                if (row.claimed() != null) {
                    claimed.add(row.claimed());
                } else if (row.heldBack() != null) {
                    heldBack.add(row.heldBack());
                }
            }
            return new FirstStep(claimed, heldBack);
        }
    }

    /**
     * A row the first step picked, with its place in the claim order: a leased task, a held-back
     * row, or (both null) a row it left.
     */
    private record FirstStepRow(ClaimedTask claimed, HeldBack heldBack, Position position) {}

    private final class FirstStepRows implements RowMapper<FirstStepRow> {

        @Override
        public FirstStepRow map(ResultSet rs, StatementContext ctx) throws SQLException {
            return specialize(rs, ctx).map(rs, ctx);
        }

        @Override
        public RowMapper<FirstStepRow> specialize(ResultSet rs, StatementContext ctx)
                throws SQLException {
            RowMapper<ClaimedTask> task = claimedRows.specialize(rs, ctx);
            int kind = rs.findColumn("kind");
            int id = rs.findColumn("id");
            int agent = rs.findColumn("agent");
            int key = rs.findColumn("concurrency_key");
            int priority = rs.findColumn("priority");
            int place = rs.findColumn("virtual_start");
            int runAt = rs.findColumn("run_at");
            return (r, c) -> {
                UUID rowId = r.getObject(id, UUID.class);
                Position position =
                        new Position(
                                r.getInt(priority),
                                Columns.instant(r, place),
                                Columns.instant(r, runAt),
                                rowId);
                return switch (r.getInt(kind)) {
                    case 0 -> new FirstStepRow(task.map(r, c), null, position);
                    case 1 ->
                            new FirstStepRow(
                                    null,
                                    new HeldBack(rowId, r.getString(agent), r.getString(key)),
                                    position);
                    default -> new FirstStepRow(null, null, position);
                };
            };
        }
    }

    /** Each claim a statement of its own, with its fixed plan in the same round trip. */
    private List<ClaimedTask> claimResuming(Handle h, int limit) {
        PlacedRows placed = new PlacedRows();
        return scans
                .claim(
                        limit,
                        (after, n) ->
                                FixedPlans.rows(
                                        after(bind(h.createQuery(CLAIM_RESUMING_FIXED), n), after),
                                        placed),
                        n -> FixedPlans.rows(bind(h.createQuery(CLAIM_FIXED), n), placed),
                        Placed::position)
                .stream()
                .map(Placed::claimed)
                .toList();
    }

    /** The first step of a claim with limits, resumed after {@code after} unless null. */
    private List<FirstStepRow> firstStep(
            Query claim, int n, Position after, Limits everyLimit, FirstStepRows rows) {
        Query bound = everyLimit.bind(bind(claim, n));
        return FixedPlans.rows(
                everyLimit.bindKinds(after == null ? bound : after(bound, after)), rows);
    }

    /** Binds the position a resumed claim starts after ({@link #RESUME}). */
    private static Query after(Query claim, Position after) {
        return claim.bind("after_priority", after.priority())
                .bind("after_place", utc(after.place()))
                .bind("after_run_at", utc(after.runAt()))
                .bind("after_id", after.id());
    }

    private static OffsetDateTime utc(Instant instant) {
        return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    private Query bind(Query claim, int limit) {
        return agents.get()
                .bind(claim)
                .bind("limit", limit)
                .bind("node", node)
                .bind("lease_seconds", lease.toMillis() / 1000.0);
    }

    /** Claimed rows with their place in the claim order, which resumed scans start after. */
    private final class PlacedRows implements RowMapper<Placed> {

        @Override
        public Placed map(ResultSet rs, StatementContext ctx) throws SQLException {
            return specialize(rs, ctx).map(rs, ctx);
        }

        @Override
        public RowMapper<Placed> specialize(ResultSet rs, StatementContext ctx)
                throws SQLException {
            RowMapper<ClaimedTask> task = claimedRows.specialize(rs, ctx);
            int place = rs.findColumn("virtual_start");
            return (r, c) -> new Placed(task.map(r, c), Columns.instant(r, place));
        }
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
