package dev.pulse.workers.tasks;

import dev.pulse.workers.db.Columns;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Read queries over {@code tasks} for the dashboard and the metrics, none of them a full count:
 * counts stop at a cap (scans of the partial index holding each state), the running attempts come
 * from the running-rows index, the queue's lag is one probe of the claim order.
 */
public final class TaskFigures {

    /** Every state, in lifecycle order. */
    public static final List<String> STATES =
            List.of("scheduled", "queued", "running", "succeeded", "failed", "cancelled");

    // Each state's count reads at most cap + 1 entries of the partial index holding the state
    // (written with literal states, so that each matches its index).
    private static final Map<String, String> COUNT_STATE =
            STATES.stream()
                    .collect(
                            LinkedHashMap::new,
                            (m, state) ->
                                    m.put(
                                            state,
                                            "SELECT count(*) FROM (SELECT 1 FROM "
                                                    + (TaskState.ofColumn(state).isTerminal()
                                                            ? "tasks"
                                                            : HistoryPartitions.QUEUE)
                                                    + " WHERE state = '"
                                                    + state
                                                    + "' LIMIT :cap1) x"),
                            Map::putAll);

    // Unfinished tasks per agent, from at most cap+1 unfinished rows in all: one branch per partial
    // index of unfinished rows (tasks_claimable, tasks_running_by_agent). A single "state IN (the
    // three)" matches neither index's predicate and read the whole table (3.5 s with 10,000,000
    // finished tasks).
    private static final String LIVE_BY_AGENT =
            """
            SELECT agent, count(*) FILTER (WHERE state <> 'running') AS waiting,
                   count(*) FILTER (WHERE state = 'running') AS running
              FROM (SELECT agent, state FROM tasks_queue WHERE state IN ('scheduled', 'queued')
                    UNION ALL
                    SELECT agent, state FROM tasks_queue WHERE state = 'running'
                    LIMIT :cap1) t
             GROUP BY agent
            """;

    /**
     * Running tasks with their current attempt's start (the task's own started_at is its first
     * attempt's).
     */
    private static final String RUNNING =
            """
            SELECT id, agent, attempts, lease_owner, COALESCE(attempt_started_at, started_at) AS started_at,
                   lease_expires_at
              FROM tasks_queue
             WHERE state = 'running'
             ORDER BY lease_expires_at
             LIMIT 500
            """;

    private static final String HEAD_OF_QUEUE_AGE =
            """
            SELECT extract(epoch FROM now() - run_at) AS lag
              FROM tasks_queue
             WHERE state IN ('scheduled', 'queued') AND run_at <= now()
             ORDER BY priority, virtual_start, run_at, id
             LIMIT 1
            """;

    /**
     * Due and unclaimed tasks per agent ({@code pulse_tasks_ready}), from at most cap+1 rows in
     * all, found through the claim order's partial index (tasks_claimable: its predicate is the
     * state, run_at is an index condition).
     */
    static final String READY_BY_AGENT =
            """
            SELECT agent, count(*) AS ready
              FROM (SELECT agent FROM tasks_queue
                     WHERE state IN ('scheduled', 'queued') AND run_at <= now()
                     LIMIT :cap1) t
             GROUP BY agent
            """;

    /**
     * The query documented for KEDA's PostgreSQL scaler (deploy/kubernetes/worker-keda.yaml holds
     * the same text, which DeploymentFilesTest checks): due and unclaimed tasks of all agents, an
     * index-only scan of tasks_claimable that stops at 10,000 (more than any scaling target needs).
     */
    public static final String READY_FOR_AUTOSCALER =
            "SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state IN ('scheduled', 'queued')"
                    + " AND run_at <= now() LIMIT 10000) AS ready";

    private static final String SUCCEEDED = "SELECT count(*) FROM tasks WHERE state = 'succeeded'";

    // Through the partial indexes on unfinished tasks: never a count of rows.
    private static final String ANY_UNFINISHED =
            """
            SELECT EXISTS (SELECT 1 FROM tasks_queue WHERE state IN ('scheduled', 'queued'))
                OR EXISTS (SELECT 1 FROM tasks_queue WHERE state = 'running')
            """;

    private static final String START_DELAY_MS =
            """
            SELECT extract(epoch FROM started_at - created_at) * 1000 FROM tasks WHERE id = :id AND started_at IS NOT NULL
            """;

    /** Unfinished tasks of one agent: waiting (scheduled or queued) and running. */
    public record AgentLoad(String agent, long waiting, long running) {}

    /**
     * A running attempt: its task, agent, attempt number, the node holding the lease, when the
     * attempt started.
     */
    public record RunningNow(
            UUID taskId, String agent, int attempt, String leaseOwner, Instant startedAt) {}

    private final Jdbi jdbi;

    public TaskFigures(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /**
     * Tasks in each of {@code states} (in lifecycle order), each counted up to {@code cap + 1}
     * (more than {@code cap} means "cap+").
     */
    public Map<String, Long> stateCounts(long cap, List<String> states) {
        return jdbi.withHandle(
                h -> {
                    Map<String, Long> counts = new LinkedHashMap<>();
                    for (String state : STATES) {
                        if (states.contains(state)) {
                            counts.put(
                                    state,
                                    h.createQuery(COUNT_STATE.get(state))
                                            .bind("cap1", cap + 1)
                                            .mapTo(Long.class)
                                            .one());
                        }
                    }
                    return counts;
                });
    }

    /** Unfinished tasks per agent, read from at most {@code cap + 1} unfinished rows in all. */
    public List<AgentLoad> liveByAgent(long cap) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(LIVE_BY_AGENT)
                                .bind("cap1", cap + 1)
                                .map(
                                        (rs, ctx) ->
                                                new AgentLoad(
                                                        rs.getString("agent"),
                                                        rs.getLong("waiting"),
                                                        rs.getLong("running")))
                                .list());
    }

    /**
     * Due and unclaimed tasks per agent, read from at most {@code cap + 1} such rows in all (more
     * than {@code cap} in all means the figures are a lower bound).
     */
    public Map<String, Long> readyByAgent(long cap) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(READY_BY_AGENT)
                                .bind("cap1", cap + 1)
                                .reduceRows(
                                        new LinkedHashMap<String, Long>(),
                                        (counts, row) -> {
                                            counts.put(
                                                    row.getColumn("agent", String.class),
                                                    row.getColumn("ready", Long.class));
                                            return counts;
                                        }));
    }

    /** Up to 500 running attempts, the soonest lease expiry first. */
    public List<RunningNow> running() {
        return jdbi.withHandle(
                h ->
                        h.createQuery(RUNNING)
                                .map(
                                        (rs, ctx) ->
                                                new RunningNow(
                                                        rs.getObject("id", UUID.class),
                                                        rs.getString("agent"),
                                                        rs.getInt("attempts"),
                                                        rs.getString("lease_owner"),
                                                        Columns.instant(rs, "started_at")))
                                .list());
    }

    /**
     * Every succeeded task, counted (a benchmark's before and after; a full count, so never on a
     * page).
     */
    public static long succeeded(Handle h) {
        return h.createQuery(SUCCEEDED).mapTo(Long.class).one();
    }

    /** Whether any task is still scheduled, queued or running. */
    public static boolean anyUnfinished(Handle h) {
        return h.createQuery(ANY_UNFINISHED).mapTo(Boolean.class).one();
    }

    /**
     * How long, by the database clock, the task waited from enqueue to its start; empty until it
     * started.
     */
    public static Optional<Double> startDelayMillis(Handle h, UUID id) {
        return h.createQuery(START_DELAY_MS).bind("id", id).mapTo(Double.class).findOne();
    }

    /**
     * How long, in seconds by the database clock, the next task to claim has been due; empty when
     * none is due.
     */
    public Optional<Double> headOfQueueAge() {
        return jdbi.withHandle(h -> h.createQuery(HEAD_OF_QUEUE_AGE).mapTo(Double.class).findOne());
    }
}
