package dev.pulse.workers.tasks;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/**
 * Read queries over the {@code dashboard_minutes} rollup that {@link ThroughputRollup} keeps:
 * finished attempts of the last hour, per minute of the database clock and per agent.
 */
public final class ThroughputFigures {

    private static final String MINUTES =
            """
            SELECT extract(epoch FROM date_trunc('minute', now()))::bigint AS now_minute, m.minute_epoch, m.succeeded, m.failed
              FROM (SELECT 1) one
              LEFT JOIN (SELECT extract(epoch FROM minute)::bigint AS minute_epoch,
                                sum(succeeded) AS succeeded, sum(failed) AS failed
                           FROM dashboard_minutes
                          WHERE minute > date_trunc('minute', now()) - interval '60 minutes'
                          GROUP BY minute) m ON true
             ORDER BY m.minute_epoch
            """;

    private static final String LAST_HOUR_BY_AGENT =
            """
            SELECT agent, sum(succeeded) AS succeeded, sum(failed) AS failed, sum(runs) AS runs, sum(run_ms) AS run_ms
              FROM dashboard_minutes
             WHERE minute > date_trunc('minute', now()) - interval '60 minutes'
             GROUP BY agent
            """;

    /** Finished attempts of one minute, across nodes and agents. */
    public record Minute(Instant start, long succeeded, long failed) {}

    /** Finished attempts of one agent in the last hour, and their total run time. */
    public record AgentHour(String agent, long succeeded, long failed, long runs, long runMs) {}

    private final Jdbi jdbi;

    public ThroughputFigures(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** The last 60 minutes, oldest first, one entry per minute (zero where nothing finished). */
    public List<Minute> lastHour() {
        return jdbi.withHandle(
                h -> {
                    Map<Long, long[]> byMinute = new LinkedHashMap<>();
                    long[] nowMinute = {0};
                    h.createQuery(MINUTES)
                            .map(
                                    (rs, ctx) -> {
                                        nowMinute[0] = rs.getLong("now_minute");
                                        long minute = rs.getLong("minute_epoch");
                                        if (!rs.wasNull()) {
                                            byMinute.put(
                                                    minute,
                                                    new long[] {
                                                        rs.getLong("succeeded"),
                                                        rs.getLong("failed")
                                                    });
                                        }
                                        return minute;
                                    })
                            .list();
                    List<Minute> minutes = new ArrayList<>(60);
                    for (long m = nowMinute[0] - 59 * 60; m <= nowMinute[0]; m += 60) {
                        long[] v = byMinute.getOrDefault(m, new long[2]);
                        minutes.add(new Minute(Instant.ofEpochSecond(m), v[0], v[1]));
                    }
                    return minutes;
                });
    }

    /** Every agent with finished attempts in the last hour. */
    public List<AgentHour> lastHourByAgent() {
        return jdbi.withHandle(
                h ->
                        h.createQuery(LAST_HOUR_BY_AGENT)
                                .map(
                                        (rs, ctx) ->
                                                new AgentHour(
                                                        rs.getString("agent"),
                                                        rs.getLong("succeeded"),
                                                        rs.getLong("failed"),
                                                        rs.getLong("runs"),
                                                        rs.getLong("run_ms")))
                                .list());
    }
}
