package dev.pulse.workers.flow;

import dev.pulse.workers.db.Columns;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Agents paused on every node until a time ({@code agent_holds}): a provider's back-off, a spent
 * daily budget, a full minute of tokens; and single concurrency keys of an agent ({@code
 * key_holds}): a key's spent daily budget. Claims skip held agents and keys ({@link #NOT_HELD},
 * evaluated once per claim); {@link WaitingReasons} shows the hold on the tasks it keeps waiting.
 * Holds that begin (but not those of a full minute, which fill and free all day) are handed to the
 * {@link HoldAnnouncer} in the transaction that began them.
 */
public final class AgentHolds {

    /**
     * The claims' condition on a task row's {@code agent} and {@code concurrency_key}: none of its
     * agent's holds, nor of its key's, is still on. Two InitPlans, read once per claim from tables
     * of a few rows. (An agent's name has no '/', so agent/key names one key of one agent.)
     */
    public static final String NOT_HELD =
            """
            agent <> ALL(ARRAY(SELECT h.agent FROM agent_holds h WHERE h.until > now()))
                       AND (concurrency_key IS NULL
                            OR agent || '/' || concurrency_key
                               <> ALL(ARRAY(SELECT k.agent || '/' || k.concurrency_key FROM key_holds k
                                             WHERE k.until > now())))""";

    /**
     * Holds each agent until {@code :until} (or later, if already held longer); answers the holds
     * that began now (the agent was not held for this reason a moment before): those to announce.
     */
    static final String HOLD =
            """
            INSERT INTO agent_holds AS h (agent, reason, until, since, detail)
            SELECT a, :reason, CAST(:until AS timestamptz), now(), :detail
              FROM unnest(CAST(:agents AS text[])) AS a
            ON CONFLICT (agent, reason) DO UPDATE
               SET until = CASE WHEN h.until > now() THEN GREATEST(h.until, EXCLUDED.until)
                                ELSE EXCLUDED.until END,
                   since = CASE WHEN h.until > now() THEN h.since ELSE now() END,
                   detail = EXCLUDED.detail
            RETURNING h.agent, h.until, h.since = now() AS begun""";

    /** {@link #HOLD} for one key of an agent. */
    static final String HOLD_KEY =
            """
            INSERT INTO key_holds AS h (agent, concurrency_key, reason, until, since, detail)
            VALUES (:agent, :key, :reason, CAST(:until AS timestamptz), now(), :detail)
            ON CONFLICT (agent, concurrency_key, reason) DO UPDATE
               SET until = CASE WHEN h.until > now() THEN GREATEST(h.until, EXCLUDED.until)
                                ELSE EXCLUDED.until END,
                   since = CASE WHEN h.until > now() THEN h.since ELSE now() END,
                   detail = EXCLUDED.detail
            RETURNING h.agent, h.until, h.since = now() AS begun""";

    /** The holds still on. */
    static final String ACTIVE =
            """
            SELECT agent, CAST(NULL AS text) AS concurrency_key, reason, until, since, detail
              FROM agent_holds WHERE until > now()
            UNION ALL
            SELECT agent, concurrency_key, reason, until, since, detail
              FROM key_holds WHERE until > now()
             ORDER BY agent, concurrency_key NULLS FIRST, reason""";

    /** One agent's holds still on, and its keys'. */
    static final String ACTIVE_OF =
            """
            SELECT agent, CAST(NULL AS text) AS concurrency_key, reason, until, since, detail
              FROM agent_holds WHERE until > now() AND agent = :agent
            UNION ALL
            SELECT agent, concurrency_key, reason, until, since, detail
              FROM key_holds WHERE until > now() AND agent = :agent
             ORDER BY concurrency_key NULLS FIRST, reason""";

    /** A hold on an agent, or on one of its keys ({@code concurrencyKey}; null for the agent). */
    public record Hold(
            String agent,
            String concurrencyKey,
            WaitingReason reason,
            Instant until,
            Instant since,
            String detail) {}

    /** A hold that began now, to be announced; {@code concurrencyKey} null for the whole agent. */
    public record Begun(
            String agent,
            String concurrencyKey,
            WaitingReason reason,
            Instant until,
            String detail) {}

    private final Jdbi jdbi;
    private final HoldAnnouncer announcer;

    /** Holds that announce nothing (for reading holds, or where no alerts are sent). */
    public AgentHolds(Jdbi jdbi) {
        this(jdbi, HoldAnnouncer.NONE);
    }

    public AgentHolds(Jdbi jdbi, HoldAnnouncer announcer) {
        this.jdbi = jdbi;
        this.announcer = announcer;
    }

    /**
     * Holds {@code agents} for {@code reason} until {@code until} (a longer hold already on stays);
     * answers the holds that began with this call, once across all nodes, announced in the same
     * transaction.
     */
    public List<Begun> hold(
            Collection<String> agents, WaitingReason reason, Instant until, String detail) {
        if (agents.isEmpty()) {
            return List.of();
        }
        return jdbi.inTransaction(
                h ->
                        announced(
                                h,
                                reason,
                                h
                                        .createQuery(HOLD)
                                        .bind("agents", agents.toArray(String[]::new))
                                        .bind("reason", reason.wire())
                                        .bind("until", Columns.iso(until))
                                        .bind("detail", detail)
                                        .map((rs, ctx) -> begun(rs, null, reason, detail))
                                        .stream()
                                        .filter(Objects::nonNull)
                                        .toList()));
    }

    /** {@link #hold} for one concurrency key of {@code agent}. */
    public List<Begun> holdKey(
            String agent, String key, WaitingReason reason, Instant until, String detail) {
        return jdbi.inTransaction(
                h ->
                        announced(
                                h,
                                reason,
                                h
                                        .createQuery(HOLD_KEY)
                                        .bind("agent", agent)
                                        .bind("key", key)
                                        .bind("reason", reason.wire())
                                        .bind("until", Columns.iso(until))
                                        .bind("detail", detail)
                                        .map((rs, ctx) -> begun(rs, key, reason, detail))
                                        .stream()
                                        .filter(Objects::nonNull)
                                        .toList()));
    }

    private List<Begun> announced(Handle h, WaitingReason reason, List<Begun> begun) {
        // A full minute of tokens fills and frees all day long: not worth an operator's attention.
        if (!begun.isEmpty() && reason != WaitingReason.RATE_LIMITED) {
            announcer.announce(h, begun);
        }
        return begun;
    }

    private static Begun begun(ResultSet rs, String key, WaitingReason reason, String detail)
            throws SQLException {
        return rs.getBoolean("begun")
                ? new Begun(
                        rs.getString("agent"), key, reason, Columns.instant(rs, "until"), detail)
                : null;
    }

    /** Every hold still on, of agents and of keys. */
    public List<Hold> active() {
        return jdbi.withHandle(h -> h.createQuery(ACTIVE).map((rs, ctx) -> hold(rs)).list());
    }

    /** {@code agent}'s holds still on, and its keys'. */
    public List<Hold> of(String agent) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(ACTIVE_OF)
                                .bind("agent", agent)
                                .map((rs, ctx) -> hold(rs))
                                .list());
    }

    private static Hold hold(ResultSet rs) throws SQLException {
        return new Hold(
                rs.getString("agent"),
                rs.getString("concurrency_key"),
                WaitingReason.ofWire(rs.getString("reason")),
                Columns.instant(rs, "until"),
                Columns.instant(rs, "since"),
                rs.getString("detail"));
    }
}
