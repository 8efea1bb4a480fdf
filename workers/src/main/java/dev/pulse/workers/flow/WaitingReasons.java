package dev.pulse.workers.flow;

import dev.pulse.executors.agents.AgentLimits;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskState;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The one place that decides why a due, queued task is held back ({@code waiting_reason}) and until
 * when ({@code waiting_until}), for the API, the dashboard and the {@code pulse_tasks_waiting}
 * gauge. It reads what the claim reads (running tasks, the starts rate limits count) for each agent
 * and key at hand, in one statement, and applies the checks of {@link #explain} in order.
 *
 * <p>A new reason is a column of {@link #SITUATIONS} (what the database knows about the agent and
 * key), a component of {@link Situation}, a constant of {@link WaitingReason} and a check in {@link
 * #explain}.
 */
public final class WaitingReasons {

    /** What holds back tasks of each (agent, key) of {@code pairs}, one row each. */
    static final String SITUATIONS =
            """
            WITH %1$s, %2$s
            SELECT p.agent, p.concurrency_key, p.n,
                   l.max_running IS NOT NULL
                       AND (SELECT count(*) FROM tasks_queue r WHERE r.state = 'running' AND r.agent = p.agent) >= l.max_running
                       AS agent_full,
                   CASE WHEN l.rate_limit IS NOT NULL THEN
                       (SELECT s.started_at FROM flow_starts s
                         WHERE s.agent = p.agent AND s.started_at > now() - l.rate_ms * interval '1 millisecond'
                         ORDER BY s.started_at DESC OFFSET l.rate_limit - 1 LIMIT 1)
                       + l.rate_ms * interval '1 millisecond' END AS agent_rate_until,
                   p.concurrency_key IS NOT NULL AND l.key_max_running IS NOT NULL
                       AND (SELECT count(*) FROM tasks_queue r
                             WHERE r.state = 'running' AND r.agent = p.agent
                               AND r.concurrency_key = p.concurrency_key) >= l.key_max_running
                       AS key_full,
                   CASE WHEN p.concurrency_key IS NOT NULL AND l.key_rate_limit IS NOT NULL THEN
                       (SELECT s.started_at FROM flow_starts s
                         WHERE s.agent = p.agent AND s.concurrency_key = p.concurrency_key
                           AND s.started_at > now() - l.key_rate_ms * interval '1 millisecond'
                         ORDER BY s.started_at DESC OFFSET l.key_rate_limit - 1 LIMIT 1)
                       + l.key_rate_ms * interval '1 millisecond' END AS key_rate_until
              FROM pairs p JOIN limits l ON l.agent = p.agent
            """;

    /** The pairs of the tasks asked about. */
    private static final String GIVEN_PAIRS =
            """
            pairs AS (
                SELECT agent, concurrency_key, count(*) AS n
                  FROM unnest(CAST(:agents AS text[]), CAST(:keys AS text[])) AS p (agent, concurrency_key)
                 GROUP BY agent, concurrency_key
            )""";

    /**
     * The pairs of every due waiting task of a limited agent, counted; at most {@code :cap} rows
     * read in all.
     */
    private static final String DUE_PAIRS =
            """
            pairs AS (
                SELECT agent, concurrency_key, count(*) AS n
                  FROM (SELECT agent, concurrency_key FROM tasks_queue
                         WHERE state IN ('scheduled', 'queued') AND run_at <= now()
                           AND agent = ANY(CAST(:limited_agents AS text[]))
                         LIMIT :cap) due
                 GROUP BY agent, concurrency_key
            )""";

    private static final String FOR_TASKS = SITUATIONS.formatted(LimitArrays.CTE, GIVEN_PAIRS);
    private static final String FOR_ALL_DUE = SITUATIONS.formatted(LimitArrays.CTE, DUE_PAIRS);

    /** What the database knows about one agent and key: each part, whether it holds tasks back. */
    record Situation(
            String agent,
            String concurrencyKey,
            long tasks,
            boolean agentFull,
            Instant agentRateUntil,
            boolean keyFull,
            Instant keyRateUntil) {}

    /** Due waiting tasks of held agents, per agent; at most {@code :cap} rows read in all. */
    private static final String DUE_OF_HELD =
            """
            SELECT agent, count(*) AS n
              FROM (SELECT agent FROM tasks_queue
                     WHERE state IN ('scheduled', 'queued') AND run_at <= now()
                       AND agent = ANY(CAST(:agents AS text[]))
                     LIMIT :cap) due
             GROUP BY agent""";

    /** Due waiting tasks of held keys, per agent and key; at most {@code :cap} rows read in all. */
    private static final String DUE_OF_HELD_KEYS =
            """
            SELECT agent, concurrency_key, count(*) AS n
              FROM (SELECT t.agent, t.concurrency_key FROM tasks_queue t
                      JOIN unnest(CAST(:agents AS text[]), CAST(:keys AS text[])) AS k (agent, concurrency_key)
                        ON t.agent = k.agent AND t.concurrency_key = k.concurrency_key
                     WHERE t.state IN ('scheduled', 'queued') AND t.run_at <= now()
                     LIMIT :cap) due
             GROUP BY agent, concurrency_key""";

    private final Jdbi jdbi;
    private final Supplier<Map<String, AgentLimits>> limits;
    private final Clock clock;
    private final AgentHolds holds;

    /**
     * @param limits the live agents' limits (e.g. {@code AgentRegistry::limits}), as the claim
     *     reads them
     */
    public WaitingReasons(Jdbi jdbi, Supplier<Map<String, AgentLimits>> limits, Clock clock) {
        this.jdbi = jdbi;
        this.limits = limits;
        this.clock = clock;
        this.holds = new AgentHolds(jdbi);
    }

    /**
     * The hold keeping an agent's tasks waiting, per held agent: a provider's back-off before a
     * spent budget (the back-off ends sooner, and then the budget shows).
     */
    private Held held() {
        Map<String, Waiting> byAgent = new HashMap<>();
        Map<PairKey, Waiting> byKey = new HashMap<>();
        for (AgentHolds.Hold h : holds.active()) {
            if (h.concurrencyKey() == null) {
                byAgent.merge(
                        h.agent(),
                        new Waiting(h.reason(), h.until()),
                        (a, b) -> a.reason() == WaitingReason.PROVIDER_BACKOFF ? a : b);
            } else {
                byKey.put(
                        new PairKey(h.agent(), h.concurrencyKey()),
                        new Waiting(h.reason(), h.until()));
            }
        }
        return new Held(byAgent, byKey);
    }

    /** The holds on now: of whole agents, and of single keys. */
    private record Held(Map<String, Waiting> byAgent, Map<PairKey, Waiting> byKey) {

        /** The hold keeping {@code task} waiting: its agent's first, then its key's; or null. */
        Waiting of(Task task) {
            Waiting w = byAgent.get(task.agent());
            if (w == null && task.concurrencyKey() != null) {
                w = byKey.get(new PairKey(task.agent(), task.concurrencyKey()));
            }
            return w;
        }
    }

    /** The checks, in order: the first that applies is the reason shown. */
    static Optional<Waiting> explain(Situation s) {
        if (s.agentFull()) {
            return Optional.of(new Waiting(WaitingReason.CONCURRENCY_LIMITED, null));
        }
        if (s.agentRateUntil() != null) {
            return Optional.of(new Waiting(WaitingReason.RATE_LIMITED, s.agentRateUntil()));
        }
        if (s.keyFull()) {
            return Optional.of(new Waiting(WaitingReason.KEY_CONCURRENCY_LIMITED, null));
        }
        if (s.keyRateUntil() != null) {
            return Optional.of(new Waiting(WaitingReason.KEY_RATE_LIMITED, s.keyRateUntil()));
        }
        return Optional.empty();
    }

    /**
     * Why each of {@code tasks} that is due and waiting is held back; tasks not held back (or not
     * waiting) are not in the answer. One statement for all of them, none if no agent has limits.
     */
    public Map<UUID, Waiting> of(Collection<Task> tasks) {
        Map<String, AgentLimits> now = limits.get();
        Instant at = clock.instant();
        List<Task> due =
                tasks.stream()
                        .filter(
                                t ->
                                        (t.state() == TaskState.QUEUED
                                                        || t.state() == TaskState.SCHEDULED)
                                                && !t.runAt().isAfter(at))
                        .toList();
        if (due.isEmpty()) {
            return Map.of();
        }
        Held held = held();
        Map<UUID, Waiting> answer = new HashMap<>();
        for (Task t : due) {
            Waiting w = held.of(t);
            if (w != null) {
                answer.put(t.id(), w);
            }
        }
        List<Task> waiting =
                due.stream()
                        .filter(t -> !answer.containsKey(t.id()))
                        .filter(t -> now.containsKey(t.agent()))
                        .toList();
        if (waiting.isEmpty()) {
            return answer;
        }
        Map<PairKey, Waiting> byPair = new HashMap<>();
        jdbi.useHandle(
                h ->
                        situations(
                                        h,
                                        LimitArrays.bind(h.createQuery(FOR_TASKS), now)
                                                .bind(
                                                        "agents",
                                                        waiting.stream()
                                                                .map(Task::agent)
                                                                .toArray(String[]::new))
                                                .bind(
                                                        "keys",
                                                        waiting.stream()
                                                                .map(Task::concurrencyKey)
                                                                .toArray(String[]::new)))
                                .forEach(
                                        s ->
                                                explain(s)
                                                        .ifPresent(
                                                                w ->
                                                                        byPair.put(
                                                                                new PairKey(
                                                                                        s.agent(),
                                                                                        s
                                                                                                .concurrencyKey()),
                                                                                w))));
        for (Task t : waiting) {
            Waiting w = byPair.get(new PairKey(t.agent(), t.concurrencyKey()));
            if (w != null) {
                answer.put(t.id(), w);
            }
        }
        return answer;
    }

    /** {@link #of} for one task. */
    public Optional<Waiting> of(Task task) {
        return Optional.ofNullable(of(List.of(task)).get(task.id()));
    }

    /**
     * How many due waiting tasks are held back, by reason as written on the wire (every reason
     * present, 0 if none); {@code cap} bounds the rows read.
     */
    public Map<String, Long> countsByReason(long cap) {
        Map<String, Long> counts = new TreeMap<>();
        for (WaitingReason r : WaitingReason.values()) {
            counts.put(r.wire(), 0L);
        }
        Held allHeld = held();
        Map<String, Waiting> held = allHeld.byAgent();
        if (!held.isEmpty()) {
            jdbi.useHandle(
                    h ->
                            h.createQuery(DUE_OF_HELD)
                                    .bind("agents", held.keySet().toArray(String[]::new))
                                    .bind("cap", cap)
                                    .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                                    .forEach(
                                            e ->
                                                    counts.merge(
                                                            held.get(e.getKey()).reason().wire(),
                                                            e.getValue(),
                                                            Long::sum)));
        }
        Map<PairKey, Waiting> heldKeys = new HashMap<>(allHeld.byKey());
        heldKeys.keySet().removeIf(k -> held.containsKey(k.agent()));
        if (!heldKeys.isEmpty()) {
            List<PairKey> pairs = List.copyOf(heldKeys.keySet());
            jdbi.useHandle(
                    h ->
                            h.createQuery(DUE_OF_HELD_KEYS)
                                    .bind(
                                            "agents",
                                            pairs.stream()
                                                    .map(PairKey::agent)
                                                    .toArray(String[]::new))
                                    .bind(
                                            "keys",
                                            pairs.stream()
                                                    .map(PairKey::concurrencyKey)
                                                    .toArray(String[]::new))
                                    .bind("cap", cap)
                                    .map(
                                            (rs, ctx) ->
                                                    Map.entry(
                                                            new PairKey(
                                                                    rs.getString(1),
                                                                    rs.getString(2)),
                                                            rs.getLong(3)))
                                    .forEach(
                                            e ->
                                                    counts.merge(
                                                            heldKeys.get(e.getKey())
                                                                    .reason()
                                                                    .wire(),
                                                            e.getValue(),
                                                            Long::sum)));
        }
        Map<String, AgentLimits> now = new HashMap<>(limits.get());
        now.keySet().removeAll(held.keySet());
        if (now.isEmpty()) {
            return counts;
        }
        jdbi.useHandle(
                h ->
                        situations(
                                        h,
                                        LimitArrays.bind(h.createQuery(FOR_ALL_DUE), now)
                                                .bind("cap", cap))
                                .forEach(
                                        s ->
                                                explain(s)
                                                        .ifPresent(
                                                                w ->
                                                                        counts.merge(
                                                                                w.reason().wire(),
                                                                                s.tasks(),
                                                                                Long::sum))));
        return counts;
    }

    private static List<Situation> situations(Handle h, org.jdbi.v3.core.statement.Query query) {
        return query.map((rs, ctx) -> situation(rs)).list();
    }

    private static Situation situation(ResultSet rs) throws SQLException {
        return new Situation(
                rs.getString("agent"),
                rs.getString("concurrency_key"),
                rs.getLong("n"),
                rs.getBoolean("agent_full"),
                Columns.instant(rs, "agent_rate_until"),
                rs.getBoolean("key_full"),
                Columns.instant(rs, "key_rate_until"));
    }

    private record PairKey(String agent, String concurrencyKey) {}
}
