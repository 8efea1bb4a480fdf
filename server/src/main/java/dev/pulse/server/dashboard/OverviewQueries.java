package dev.pulse.server.dashboard;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/**
 * The overview's figures, none of them a full count: task counts stop at {@link #CAP} rows each
 * (scans of the partial index holding each state; shown as "10,000+"), finished work comes from the
 * {@code dashboard_minutes} rollup, live nodes from {@code nodes}.
 */
final class OverviewQueries {

    static final long CAP = 10_000;

    private static final String STATE_COUNTS = """
            SELECT (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'scheduled' LIMIT :cap1) x) AS scheduled,
                   (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'queued' LIMIT :cap1) x) AS queued,
                   (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'running' LIMIT :cap1) x) AS running,
                   (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'succeeded' LIMIT :cap1) x) AS succeeded,
                   (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'failed' LIMIT :cap1) x) AS failed,
                   (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'cancelled' LIMIT :cap1) x) AS cancelled
            """;

    // Unfinished tasks per agent, from at most CAP+1 unfinished rows in all.
    private static final String LIVE_BY_AGENT = """
            SELECT agent, count(*) FILTER (WHERE state <> 'running') AS waiting,
                   count(*) FILTER (WHERE state = 'running') AS running
              FROM (SELECT agent, state FROM tasks WHERE state IN ('scheduled', 'queued', 'running') LIMIT :cap1) t
             GROUP BY agent
            """;

    private static final String MINUTES = """
            SELECT extract(epoch FROM date_trunc('minute', now()))::bigint AS now_minute, m.minute_epoch, m.succeeded, m.failed
              FROM (SELECT 1) one
              LEFT JOIN (SELECT extract(epoch FROM minute)::bigint AS minute_epoch,
                                sum(succeeded) AS succeeded, sum(failed) AS failed
                           FROM dashboard_minutes
                          WHERE minute > date_trunc('minute', now()) - interval '60 minutes'
                          GROUP BY minute) m ON true
             ORDER BY m.minute_epoch
            """;

    private static final String LAST_HOUR_BY_AGENT = """
            SELECT agent, sum(succeeded) AS succeeded, sum(failed) AS failed, sum(runs) AS runs, sum(run_ms) AS run_ms
              FROM dashboard_minutes
             WHERE minute > date_trunc('minute', now()) - interval '60 minutes'
             GROUP BY agent
            """;

    private static final String LIVE_NODES = """
            SELECT id, host, roles, running, heartbeat_at FROM nodes
             WHERE heartbeat_at > now() - make_interval(secs => :lease_seconds)
             ORDER BY id
            """;

    record StateCount(String state, long count, String shown) {
    }

    /** Finished attempts of one minute, across nodes and agents. */
    record Minute(Instant start, long succeeded, long failed) {
    }

    /** Per agent: unfinished tasks now, and finished attempts in the last hour. */
    record AgentFigures(String agent, long waiting, long running, long succeeded, long failed, long runs, long runMs) {
        public String waitingShown() {
            return Formats.capped(waiting, CAP);
        }

        public String successRate() {
            return Formats.percent(succeeded, succeeded + failed);
        }

        public String averageRun() {
            return runs == 0 ? "–" : Formats.duration(Duration.ofMillis(runMs / runs));
        }
    }

    record LiveNode(String id, String host, List<String> roles, int running, Instant heartbeatAt) {
    }

    private final Jdbi jdbi;

    OverviewQueries(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    List<StateCount> stateCounts() {
        return jdbi.withHandle(h -> h.createQuery(STATE_COUNTS).bind("cap1", CAP + 1).map((rs, ctx) -> {
            List<StateCount> counts = new ArrayList<>();
            for (String state : List.of("scheduled", "queued", "running", "succeeded", "failed", "cancelled")) {
                long n = rs.getLong(state);
                counts.add(new StateCount(state, n, Formats.capped(n, CAP)));
            }
            return counts;
        }).one());
    }

    /** The last 60 minutes, oldest first, one entry per minute (zero where nothing finished). */
    List<Minute> lastHour() {
        return jdbi.withHandle(h -> {
            Map<Long, long[]> byMinute = new LinkedHashMap<>();
            long[] nowMinute = {0};
            h.createQuery(MINUTES).map((rs, ctx) -> {
                nowMinute[0] = rs.getLong("now_minute");
                long minute = rs.getLong("minute_epoch");
                if (!rs.wasNull()) {
                    byMinute.put(minute, new long[] {rs.getLong("succeeded"), rs.getLong("failed")});
                }
                return minute;
            }).list();
            List<Minute> minutes = new ArrayList<>(60);
            for (long m = nowMinute[0] - 59 * 60; m <= nowMinute[0]; m += 60) {
                long[] v = byMinute.getOrDefault(m, new long[2]);
                minutes.add(new Minute(Instant.ofEpochSecond(m), v[0], v[1]));
            }
            return minutes;
        });
    }

    /** Every agent with unfinished tasks now or finished attempts in the last hour, by name. */
    Map<String, AgentFigures> byAgent() {
        return jdbi.withHandle(h -> {
            Map<String, long[]> figures = new java.util.TreeMap<>();
            h.createQuery(LIVE_BY_AGENT).bind("cap1", CAP + 1).map((rs, ctx) -> {
                long[] f = figures.computeIfAbsent(rs.getString("agent"), a -> new long[6]);
                f[0] = rs.getLong("waiting");
                f[1] = rs.getLong("running");
                return f;
            }).list();
            h.createQuery(LAST_HOUR_BY_AGENT).map((rs, ctx) -> {
                long[] f = figures.computeIfAbsent(rs.getString("agent"), a -> new long[6]);
                f[2] = rs.getLong("succeeded");
                f[3] = rs.getLong("failed");
                f[4] = rs.getLong("runs");
                f[5] = rs.getLong("run_ms");
                return f;
            }).list();
            Map<String, AgentFigures> result = new LinkedHashMap<>();
            figures.forEach((agent, f) -> result.put(agent, new AgentFigures(agent, f[0], f[1], f[2], f[3], f[4], f[5])));
            return result;
        });
    }

    List<LiveNode> liveNodes(Duration lease) {
        return jdbi.withHandle(h -> h.createQuery(LIVE_NODES).bind("lease_seconds", (double) lease.toSeconds())
                .map((rs, ctx) -> new LiveNode(rs.getString("id"), rs.getString("host"),
                        List.of((String[]) rs.getArray("roles").getArray()), rs.getInt("running"),
                        dev.pulse.workers.db.Columns.instant(rs, "heartbeat_at")))
                .list());
    }
}
