package dev.pulse.workers.nodes;

import dev.pulse.workers.db.Columns;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/**
 * The nodes as {@code nodes} knows them (each node's heartbeat writes its row): a node is alive
 * while its heartbeat is younger than a lease, by the database clock.
 */
public final class NodeDirectory {

    private static final String ALL =
            """
            SELECT id, host, pid, roles, started_at, heartbeat_at, running,
                   heartbeat_at > now() - make_interval(secs => :lease_seconds) AS alive
              FROM nodes ORDER BY id
            """;

    private static final String LIVE =
            """
            SELECT id, host, pid, roles, started_at, heartbeat_at, running, true AS alive FROM nodes
             WHERE heartbeat_at > now() - make_interval(secs => :lease_seconds)
             ORDER BY id
            """;

    /**
     * One node: its roles, heartbeat and how many attempts it said it runs at its last heartbeat.
     */
    public record Node(
            String id,
            String host,
            long pid,
            List<String> roles,
            Instant startedAt,
            Instant heartbeatAt,
            int running,
            boolean alive) {}

    private final Jdbi jdbi;

    public NodeDirectory(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Every node that ever registered, by id. */
    public List<Node> all(Duration lease) {
        return query(ALL, lease);
    }

    /** The nodes alive now, by id. */
    public List<Node> alive(Duration lease) {
        return query(LIVE, lease);
    }

    private List<Node> query(String sql, Duration lease) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(sql)
                                .bind("lease_seconds", (double) lease.toSeconds())
                                .map(
                                        (rs, ctx) ->
                                                new Node(
                                                        rs.getString("id"),
                                                        rs.getString("host"),
                                                        rs.getLong("pid"),
                                                        List.of(
                                                                (String[])
                                                                        rs.getArray("roles")
                                                                                .getArray()),
                                                        Columns.instant(rs, "started_at"),
                                                        Columns.instant(rs, "heartbeat_at"),
                                                        rs.getInt("running"),
                                                        rs.getBoolean("alive")))
                                .list());
    }
}
