package dev.pulse.workers.flow;

import dev.pulse.workers.db.Columns;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/**
 * Agents paused on every node until a time ({@code agent_holds}): a provider's back-off, or a spent
 * daily budget. Claims skip held agents ({@link #NOT_HELD}, evaluated once per claim); {@link
 * WaitingReasons} shows the hold on the tasks it keeps waiting.
 */
public final class AgentHolds {

    /**
     * The claims' condition on a task row's {@code agent}: none of its holds is still on. An
     * InitPlan, read once per claim from a table of a few rows.
     */
    public static final String NOT_HELD =
            "agent <> ALL(ARRAY(SELECT h.agent FROM agent_holds h WHERE h.until > now()))";

    /**
     * Holds each agent until {@code :until} (or later, if already held longer); answers the holds
     * that began now (the agent was not held for this reason a moment before) and were not
     * announced yet: those the caller announces.
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

    /** The holds still on. */
    static final String ACTIVE =
            """
            SELECT agent, reason, until, since, detail FROM agent_holds
             WHERE until > now()
             ORDER BY agent, reason""";

    /** One agent's holds still on. */
    static final String ACTIVE_OF =
            """
            SELECT agent, reason, until, since, detail FROM agent_holds
             WHERE until > now() AND agent = :agent
             ORDER BY reason""";

    /** A hold on an agent. */
    public record Hold(
            String agent, WaitingReason reason, Instant until, Instant since, String detail) {}

    /** A hold that began now, to be announced. */
    public record Begun(String agent, WaitingReason reason, Instant until, String detail) {}

    private final Jdbi jdbi;

    public AgentHolds(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /**
     * Holds {@code agents} for {@code reason} until {@code until} (a longer hold already on stays);
     * answers the holds that began with this call, once across all nodes.
     */
    public List<Begun> hold(
            Collection<String> agents, WaitingReason reason, Instant until, String detail) {
        if (agents.isEmpty()) {
            return List.of();
        }
        return jdbi.withHandle(
                h ->
                        h
                                .createQuery(HOLD)
                                .bind("agents", agents.toArray(String[]::new))
                                .bind("reason", reason.wire())
                                .bind("until", Columns.iso(until))
                                .bind("detail", detail)
                                .map(
                                        (rs, ctx) ->
                                                rs.getBoolean("begun")
                                                        ? new Begun(
                                                                rs.getString("agent"),
                                                                reason,
                                                                Columns.instant(rs, "until"),
                                                                detail)
                                                        : null)
                                .stream()
                                .filter(java.util.Objects::nonNull)
                                .toList());
    }

    /** Every hold still on. */
    public List<Hold> active() {
        return jdbi.withHandle(h -> h.createQuery(ACTIVE).map((rs, ctx) -> hold(rs)).list());
    }

    /** {@code agent}'s holds still on. */
    public List<Hold> of(String agent) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(ACTIVE_OF)
                                .bind("agent", agent)
                                .map((rs, ctx) -> hold(rs))
                                .list());
    }

    private static Hold hold(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new Hold(
                rs.getString("agent"),
                WaitingReason.ofWire(rs.getString("reason")),
                Columns.instant(rs, "until"),
                Columns.instant(rs, "since"),
                rs.getString("detail"));
    }
}
