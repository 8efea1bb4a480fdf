package dev.pulse.workers.budgets;

import dev.pulse.workers.db.Columns;
import java.time.Instant;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * The tokens of each agent's runs within the last minute ({@code flow_tokens}), for {@code
 * tokens_per_minute}: a run's estimate is admitted when its attempt starts, only while the minute
 * has room for it, and replaced by its reported usage when it ends. Admissions of one agent take
 * the agent's advisory lock, so nodes admitting at once never both fill its last room.
 */
public final class TokenWindow {

    /**
     * Advisory lock class ("pult"): with the hash of an agent's name, the lock admissions to its
     * minute take.
     */
    static final int LOCK_CLASS = 0x70756c74;

    /** Waits for the agent's admission lock, held until the transaction ends. */
    static final String LOCK =
            "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(:lock_class, :lock_key)) AS l";

    /**
     * Under the lock (the statement's clock taken after it was granted): drops what left the minute
     * and logs the estimate if it fits, or if the minute is empty (a run larger than the whole
     * minute runs alone). Answers the tokens the minute held before, whether the run was admitted,
     * and when the oldest of them leaves.
     */
    static final String ADMIT =
            """
            WITH pruned AS (
                DELETE FROM flow_tokens WHERE agent = :agent AND at < statement_timestamp() - interval '1 minute'
            ), recent AS (
                SELECT COALESCE(sum(tokens), 0) AS used, min(at) AS oldest
                  FROM flow_tokens WHERE agent = :agent AND at >= statement_timestamp() - interval '1 minute'
            ), admitted AS (
                INSERT INTO flow_tokens (agent, at, tokens, lease_token)
                SELECT :agent, statement_timestamp(), :estimate, :lease_token FROM recent
                 WHERE used = 0 OR used + :estimate <= :limit
                RETURNING 1
            )
            SELECT r.used, EXISTS (SELECT 1 FROM admitted) AS admitted,
                   COALESCE(r.oldest, statement_timestamp()) + interval '1 minute' AS frees
              FROM recent r""";

    /**
     * Replaces a run's estimate by the tokens it used; a run whose estimate already left the minute
     * (it ran longer) is logged now instead.
     */
    static final String SETTLE =
            """
            WITH settled AS (
                UPDATE flow_tokens SET tokens = :tokens
                 WHERE agent = :agent AND lease_token = :lease_token
                RETURNING 1
            )
            INSERT INTO flow_tokens (agent, at, tokens, lease_token)
            SELECT :agent, now(), :tokens, :lease_token
             WHERE :tokens > 0 AND NOT EXISTS (SELECT 1 FROM settled)""";

    /** The tokens of the minute, and when the oldest of them leaves it. */
    static final String MINUTE =
            """
            SELECT COALESCE(sum(tokens), 0) AS used, COALESCE(min(at), now()) + interval '1 minute' AS frees
              FROM flow_tokens WHERE agent = :agent AND at >= now() - interval '1 minute'""";

    /** Whether a run was admitted; the minute's tokens before it, and when the oldest leave. */
    public record Admission(boolean admitted, long used, Instant frees) {}

    /** A sliding minute's tokens, and when its oldest leave it. */
    public record Minute(long tokens, Instant frees) {}

    private final Jdbi jdbi;

    public TokenWindow(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Logs {@code estimate} tokens for the attempt {@code leaseToken} if the minute has room. */
    public Admission admit(String agent, UUID leaseToken, long estimate, long limit) {
        return jdbi.inTransaction(
                h -> {
                    h.createQuery(LOCK)
                            .bind("lock_class", LOCK_CLASS)
                            .bind("lock_key", agent.hashCode())
                            .mapTo(Long.class)
                            .one();
                    return h.createQuery(ADMIT)
                            .bind("agent", agent)
                            .bind("lease_token", leaseToken)
                            .bind("estimate", estimate)
                            .bind("limit", limit)
                            .map(
                                    (rs, ctx) ->
                                            new Admission(
                                                    rs.getBoolean("admitted"),
                                                    rs.getLong("used"),
                                                    Columns.instant(rs, "frees")))
                            .one();
                });
    }

    /** Replaces the attempt's estimate by {@code tokens}; answers the minute as it is now. */
    public Minute settle(String agent, UUID leaseToken, long tokens) {
        return jdbi.withHandle(
                h -> {
                    h.createUpdate(SETTLE)
                            .bind("agent", agent)
                            .bind("lease_token", leaseToken)
                            .bind("tokens", tokens)
                            .execute();
                    return h.createQuery(MINUTE)
                            .bind("agent", agent)
                            .map(
                                    (rs, ctx) ->
                                            new Minute(
                                                    rs.getLong("used"),
                                                    Columns.instant(rs, "frees")))
                            .one();
                });
    }
}
