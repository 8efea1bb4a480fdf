package dev.pulse.workers.budgets;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Tokens and cost used per agent per day ({@code agent_usage}) and per agent, concurrency key and
 * day ({@code key_usage}), added to after every run.
 */
public final class UsageLedger {

    /** Adds one run's usage to its agent's day; answers the day's totals. */
    static final String ADD =
            """
            INSERT INTO agent_usage AS u (agent, day, runs, input_tokens, output_tokens, cost_usd)
            VALUES (:agent, CAST(:day AS date), 1, :input, :output, CAST(:cost AS numeric))
            ON CONFLICT (agent, day) DO UPDATE
               SET runs = u.runs + 1,
                   input_tokens = u.input_tokens + EXCLUDED.input_tokens,
                   output_tokens = u.output_tokens + EXCLUDED.output_tokens,
                   cost_usd = u.cost_usd + EXCLUDED.cost_usd
            RETURNING runs, input_tokens, output_tokens, cost_usd""";

    /** Adds one run's usage to its agent's and key's day; answers the day's totals of the key. */
    static final String ADD_FOR_KEY =
            """
            INSERT INTO key_usage AS u (agent, concurrency_key, day, runs, input_tokens, output_tokens, cost_usd)
            VALUES (:agent, :key, CAST(:day AS date), 1, :input, :output, CAST(:cost AS numeric))
            ON CONFLICT (agent, concurrency_key, day) DO UPDATE
               SET runs = u.runs + 1,
                   input_tokens = u.input_tokens + EXCLUDED.input_tokens,
                   output_tokens = u.output_tokens + EXCLUDED.output_tokens,
                   cost_usd = u.cost_usd + EXCLUDED.cost_usd
            RETURNING runs, input_tokens, output_tokens, cost_usd""";

    static final String DAY =
            """
            SELECT runs, input_tokens, output_tokens, cost_usd FROM agent_usage
             WHERE agent = :agent AND day = CAST(:day AS date)""";

    static final String ALL_OF_DAY =
            """
            SELECT agent, runs, input_tokens, output_tokens, cost_usd FROM agent_usage
             WHERE day = CAST(:day AS date)""";

    /** One agent's usage over one day. */
    public record Totals(long runs, long inputTokens, long outputTokens, BigDecimal costUsd) {
        public long tokens() {
            return inputTokens + outputTokens;
        }
    }

    private final Jdbi jdbi;

    public UsageLedger(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public Totals add(String agent, LocalDate day, long input, long output, BigDecimal cost) {
        return add(ADD, agent, null, day, input, output, cost);
    }

    /** Adds one run's usage to {@code agent}'s {@code key}'s day; answers the key's day. */
    public Totals addForKey(
            String agent, String key, LocalDate day, long input, long output, BigDecimal cost) {
        return add(ADD_FOR_KEY, agent, key, day, input, output, cost);
    }

    private Totals add(
            String sql,
            String agent,
            String key,
            LocalDate day,
            long input,
            long output,
            BigDecimal cost) {
        return jdbi.withHandle(
                h -> {
                    Query add =
                            h.createQuery(sql)
                                    .bind("agent", agent)
                                    .bind("day", day.toString())
                                    .bind("input", input)
                                    .bind("output", output)
                                    .bind(
                                            "cost",
                                            (cost == null ? BigDecimal.ZERO : cost)
                                                    .toPlainString());
                    if (key != null) {
                        add.bind("key", key);
                    }
                    return add.map(UsageLedger::totals).one();
                });
    }

    /** Every agent's usage over {@code day}, by agent. */
    public Map<String, Totals> of(LocalDate day) {
        Map<String, Totals> byAgent = new HashMap<>();
        jdbi.useHandle(
                h ->
                        h.createQuery(ALL_OF_DAY)
                                .bind("day", day.toString())
                                .map((rs, ctx) -> Map.entry(rs.getString(1), totals(rs, 2)))
                                .forEach(e -> byAgent.put(e.getKey(), e.getValue())));
        return byAgent;
    }

    public Optional<Totals> of(String agent, LocalDate day) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(DAY)
                                .bind("agent", agent)
                                .bind("day", day.toString())
                                .map(UsageLedger::totals)
                                .findOne());
    }

    /** The four columns every statement here answers, from the first. */
    private static Totals totals(ResultSet rs, StatementContext ctx) throws SQLException {
        return totals(rs, 1);
    }

    private static Totals totals(ResultSet rs, int from) throws SQLException {
        return new Totals(
                rs.getLong(from),
                rs.getLong(from + 1),
                rs.getLong(from + 2),
                rs.getBigDecimal(from + 3));
    }
}
