package dev.pulse.workers.flow;

import dev.pulse.executors.agents.AgentLimits;
import dev.pulse.executors.agents.RateLimit;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.jdbi.v3.core.statement.Query;

/**
 * Agents' limits as the claim and the waiting reasons read them: the CTE {@link #CTE} ({@code
 * limits}, one row per agent, null where a limit is not set) and its parameters.
 */
public final class LimitArrays {

    /** The CTE named {@code limits}; bind its parameters with {@link #bind}. */
    public static final String CTE =
            """
            limits AS (
                SELECT * FROM unnest(CAST(:limited_agents AS text[]), CAST(:max_running AS integer[]),
                                     CAST(:rate_limit AS integer[]), CAST(:rate_ms AS bigint[]),
                                     CAST(:key_max_running AS integer[]), CAST(:key_rate_limit AS integer[]),
                                     CAST(:key_rate_ms AS bigint[]))
                       AS l (agent, max_running, rate_limit, rate_ms, key_max_running, key_rate_limit, key_rate_ms)
            )""";

    private LimitArrays() {}

    /** Binds the parameters of {@link #CTE} to the limits of {@code byAgent}. */
    public static Query bind(Query query, Map<String, AgentLimits> byAgent) {
        Map<String, AgentLimits> sorted = new TreeMap<>(byAgent);
        List<AgentLimits> l = List.copyOf(sorted.values());
        return query.bind("limited_agents", sorted.keySet().toArray(String[]::new))
                .bind(
                        "max_running",
                        l.stream().map(AgentLimits::maxConcurrency).toArray(Integer[]::new))
                .bind(
                        "rate_limit",
                        l.stream().map(a -> limit(a.rateLimit())).toArray(Integer[]::new))
                .bind("rate_ms", l.stream().map(a -> millis(a.rateLimit())).toArray(Long[]::new))
                .bind(
                        "key_max_running",
                        l.stream().map(AgentLimits::perKeyConcurrency).toArray(Integer[]::new))
                .bind(
                        "key_rate_limit",
                        l.stream().map(a -> limit(a.perKeyRateLimit())).toArray(Integer[]::new))
                .bind(
                        "key_rate_ms",
                        l.stream().map(a -> millis(a.perKeyRateLimit())).toArray(Long[]::new));
    }

    /**
     * Binds {@code agent_wide}, {@code per_key} and {@code key_concurrency_only}: the agents of
     * {@code byAgent} with limits of the whole agent, those with per-key limits, and those whose
     * only limit is {@code per_key_concurrency} (the claim leases their keyed rows in its first
     * statement).
     */
    public static Query bindKinds(Query query, Map<String, AgentLimits> byAgent) {
        Map<String, AgentLimits> sorted = new TreeMap<>(byAgent);
        return query.bind("agent_wide", agents(sorted, AgentLimits::agentWide))
                .bind("per_key", agents(sorted, a -> a.flow().perKey()))
                .bind("key_concurrency_only", agents(sorted, LimitArrays::keyConcurrencyOnly));
    }

    /** True if {@code limits} has a {@code per_key_concurrency} and no other limit. */
    private static boolean keyConcurrencyOnly(AgentLimits limits) {
        return !limits.agentWide()
                && limits.perKeyConcurrency() != null
                && limits.perKeyRateLimit() == null;
    }

    private static String[] agents(Map<String, AgentLimits> byAgent, Predicate<AgentLimits> which) {
        return byAgent.entrySet().stream()
                .filter(e -> which.test(e.getValue()))
                .map(Map.Entry::getKey)
                .toArray(String[]::new);
    }

    private static Integer limit(RateLimit rate) {
        return rate == null ? null : rate.limit();
    }

    private static Long millis(RateLimit rate) {
        return rate == null ? null : rate.period().toMillis();
    }
}
