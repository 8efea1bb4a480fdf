package dev.pulse.server.dashboard;

import dev.pulse.workers.db.Columns;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code /dashboard/nodes}: every node in {@code nodes} with its roles and heartbeat (alive while
 * the heartbeat is younger than a lease, by the database clock), and the attempts it runs now
 * (running tasks by lease owner, from the running-rows index).
 */
final class NodesPage {

    private static final String NODES = """
            SELECT id, host, pid, roles, started_at, heartbeat_at, running,
                   heartbeat_at > now() - make_interval(secs => :lease_seconds) AS alive
              FROM nodes ORDER BY id
            """;

    /** Running tasks with their current attempt's start (the task's own started_at is its first attempt's). */
    private static final String RUNNING = """
            SELECT id, agent, attempts, lease_owner, COALESCE(attempt_started_at, started_at) AS started_at,
                   lease_expires_at
              FROM tasks
             WHERE state = 'running'
             ORDER BY lease_expires_at
             LIMIT 500
            """;

    private final Jdbi jdbi;
    private final Templates templates;
    private final Duration lease;
    private final Clock clock;

    NodesPage(Jdbi jdbi, Templates templates, Duration lease, Clock clock) {
        this.jdbi = jdbi;
        this.templates = templates;
        this.lease = lease;
        this.clock = clock;
    }

    void register(RoutesConfig routes) {
        routes.get(Dashboard.ROOT + "/nodes", this::list, DashboardRole.SIGNED_IN);
    }

    private void list(Context ctx) {
        Instant now = clock.instant();
        Map<String, List<Map<String, Object>>> runningByNode = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery(RUNNING).map((rs, c) -> {
            Map<String, Object> a = new HashMap<>();
            a.put("taskId", rs.getObject("id", UUID.class).toString());
            a.put("agent", rs.getString("agent"));
            a.put("attempt", rs.getInt("attempts"));
            a.put("runningFor", Formats.between(Columns.instant(rs, "started_at"), now));
            runningByNode.computeIfAbsent(rs.getString("lease_owner"), n -> new ArrayList<>()).add(a);
            return a;
        }).list());
        List<Map<String, Object>> nodes = jdbi.withHandle(h -> h.createQuery(NODES)
                .bind("lease_seconds", (double) lease.toSeconds())
                .map((rs, c) -> {
                    Map<String, Object> n = new HashMap<>();
                    String id = rs.getString("id");
                    n.put("id", id);
                    n.put("host", rs.getString("host"));
                    n.put("pid", rs.getLong("pid"));
                    n.put("roles", String.join(", ", (String[]) rs.getArray("roles").getArray()));
                    n.put("started", Formats.relative(Columns.instant(rs, "started_at"), now));
                    n.put("heartbeat", Formats.relative(Columns.instant(rs, "heartbeat_at"), now));
                    n.put("alive", rs.getBoolean("alive"));
                    n.put("running", rs.getInt("running"));
                    n.put("attempts", runningByNode.getOrDefault(id, List.of()));
                    return n;
                }).list());
        templates.render(ctx, "nodes", Map.of("nav", "nodes", "nodes", nodes));
    }
}
