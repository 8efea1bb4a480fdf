package dev.pulse.workers.budgets;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/** Tokens and cost used per agent per day ({@code agent_usage}), added to after every run. */
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

    /**
     * Adds a run's tokens to its agent's sliding minute, drops what left it, and answers the
     * minute's tokens and when the oldest of them leaves it.
     */
    static final String ADD_TO_MINUTE =
            """
            WITH added AS (
                INSERT INTO flow_tokens (agent, at, tokens) VALUES (:agent, now(), :tokens)
            ), pruned AS (
                DELETE FROM flow_tokens WHERE agent = :agent AND at < now() - interval '1 minute'
            )
            SELECT COALESCE(sum(tokens), 0) + :tokens AS used,
                   COALESCE(min(at), now()) + interval '1 minute' AS frees
              FROM flow_tokens WHERE agent = :agent AND at >= now() - interval '1 minute'""";

    /** A sliding minute's tokens, and when its oldest leave it. */
    public record Minute(long tokens, java.time.Instant frees) {}

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
        return jdbi.withHandle(
                h ->
                        h.createQuery(ADD)
                                .bind("agent", agent)
                                .bind("day", day.toString())
                                .bind("input", input)
                                .bind("output", output)
                                .bind(
                                        "cost",
                                        (cost == null ? BigDecimal.ZERO : cost).toPlainString())
                                .map(
                                        (rs, ctx) ->
                                                new Totals(
                                                        rs.getLong(1),
                                                        rs.getLong(2),
                                                        rs.getLong(3),
                                                        rs.getBigDecimal(4)))
                                .one());
    }

    public Minute addToMinute(String agent, long tokens) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(ADD_TO_MINUTE)
                                .bind("agent", agent)
                                .bind("tokens", tokens)
                                .map(
                                        (rs, ctx) ->
                                                new Minute(
                                                        rs.getLong("used"),
                                                        dev.pulse.workers.db.Columns.instant(
                                                                rs, "frees")))
                                .one());
    }

    /** Every agent's usage over {@code day}, by agent. */
    public Map<String, Totals> of(LocalDate day) {
        Map<String, Totals> byAgent = new HashMap<>();
        jdbi.useHandle(
                h ->
                        h.createQuery(ALL_OF_DAY)
                                .bind("day", day.toString())
                                .map(
                                        (rs, ctx) ->
                                                Map.entry(
                                                        rs.getString(1),
                                                        new Totals(
                                                                rs.getLong(2),
                                                                rs.getLong(3),
                                                                rs.getLong(4),
                                                                rs.getBigDecimal(5))))
                                .forEach(e -> byAgent.put(e.getKey(), e.getValue())));
        return byAgent;
    }

    public Optional<Totals> of(String agent, LocalDate day) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(DAY)
                                .bind("agent", agent)
                                .bind("day", day.toString())
                                .map(
                                        (rs, ctx) ->
                                                new Totals(
                                                        rs.getLong(1),
                                                        rs.getLong(2),
                                                        rs.getLong(3),
                                                        rs.getBigDecimal(4)))
                                .findOne());
    }
}
