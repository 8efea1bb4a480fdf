package dev.pulse.workers.nodes;

import dev.pulse.workers.db.Columns;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/**
 * The workers outside Pulse that run remote agents, as {@code remote_workers} knows them: each is
 * marked seen when it claims, heartbeats or reports (at most one write a second per worker), and
 * forgotten by the rescuer once it has not been seen for a while.
 */
public final class RemoteWorkers {

    /** The lease owner of a remote worker's tasks: no node id has this prefix. */
    public static final String OWNER_PREFIX = "remote:";

    private static final String SEEN =
            """
            INSERT INTO remote_workers (id, key_name) VALUES (:id, :key_name)
            ON CONFLICT (id) DO UPDATE SET last_seen_at = now(), key_name = EXCLUDED.key_name
             WHERE remote_workers.last_seen_at < now() - interval '1 second'
            """;

    private static final String ALL =
            """
            SELECT id, key_name, first_seen_at, last_seen_at FROM remote_workers
             ORDER BY last_seen_at DESC, id LIMIT 200
            """;

    /** A remote worker: its id, the API key it came with, when it was first and last seen. */
    public record Worker(String id, String keyName, Instant firstSeenAt, Instant lastSeenAt) {

        /** The lease owner its tasks carry. */
        public String leaseOwner() {
            return OWNER_PREFIX + id;
        }
    }

    private final Jdbi jdbi;

    public RemoteWorkers(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** The worker of a lease owner, or null when the owner is a node. */
    public static String workerOf(String leaseOwner) {
        return leaseOwner != null && leaseOwner.startsWith(OWNER_PREFIX)
                ? leaseOwner.substring(OWNER_PREFIX.length())
                : null;
    }

    public void seen(String worker, String keyName) {
        jdbi.useHandle(
                h -> h.createUpdate(SEEN).bind("id", worker).bind("key_name", keyName).execute());
    }

    /** The workers seen lately, most recent first (at most 200). */
    public List<Worker> all() {
        return jdbi.withHandle(
                h ->
                        h.createQuery(ALL)
                                .map(
                                        (rs, ctx) ->
                                                new Worker(
                                                        rs.getString("id"),
                                                        rs.getString("key_name"),
                                                        Columns.instant(rs, "first_seen_at"),
                                                        Columns.instant(rs, "last_seen_at")))
                                .list());
    }
}
