package dev.pulse.workers.queue;

import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.maintenance.PeriodicDuty;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's pulse: on a timer it records the node as alive and renews the lease of every attempt
 * it runs, through the fenced update (docs/architecture.md invariant 4). An attempt whose lease is
 * gone (rescued elsewhere) is stopped; an attempt whose task was asked to cancel is stopped as
 * cancelled, so cancellation reaches a worker within one heartbeat.
 */
public final class Heartbeat extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

    public record Node(String id, String host, long pid, List<String> roles) {}

    private static final String BEAT =
            """
            INSERT INTO nodes (id, host, pid, roles, running)
            VALUES (:id, :host, :pid, CAST(:roles AS text[]), :running)
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), running = EXCLUDED.running
            """;

    static final String RENEW =
            """
            UPDATE tasks_queue t
               SET lease_expires_at = now() + make_interval(secs => :lease_seconds)
              FROM unnest(CAST(:ids AS uuid[]), CAST(:tokens AS uuid[])) AS held (id, token)
             WHERE t.id = ANY(CAST(:ids AS uuid[])) AND t.id = held.id AND t.state = 'running'
               AND t.lease_token = held.token
            RETURNING t.id, t.cancel_requested_at IS NOT NULL AS cancel_requested
            """;

    private static final String LEAVE = "DELETE FROM nodes WHERE id = :id";

    private final Jdbi jdbi;
    private final Node node;
    private final RunningAttempts running;
    private final Duration lease;
    private volatile boolean failing;

    public Heartbeat(Jdbi jdbi, Node node, RunningAttempts running, Duration lease) {
        // Three beats per lease: a lease survives two missed beats.
        super("heartbeat", lease.dividedBy(3), Duration.ZERO);
        this.jdbi = jdbi;
        this.node = node;
        this.running = running;
        this.lease = lease;
    }

    @Override
    protected void pass() {
        beat();
        if (failing) {
            log.info("heartbeat reaches the database again");
            failing = false;
        }
    }

    @Override
    protected void failed(RuntimeException e) {
        if (!failing) {
            log.warn(
                    "heartbeat failed; leases are not being renewed until the database answers: {}",
                    e.getMessage());
            failing = true;
        }
    }

    /**
     * One beat: mark this node alive, renew held leases, stop attempts that lost theirs or were
     * cancelled.
     */
    void beat() {
        List<RunningAttempt> held = running.snapshot();
        jdbi.useHandle(
                h ->
                        h.createUpdate(BEAT)
                                .bind("id", node.id())
                                .bind("host", node.host())
                                .bind("pid", node.pid())
                                .bind("roles", node.roles().toArray(String[]::new))
                                .bind("running", held.size())
                                .execute());
        if (held.isEmpty()) {
            return;
        }
        Set<UUID> renewed = new HashSet<>();
        jdbi.useTransaction(
                h ->
                        FixedPlans.forThisTransaction(h)
                                .createQuery(RENEW)
                                .bind("lease_seconds", lease.toMillis() / 1000.0)
                                .bind(
                                        "ids",
                                        held.stream()
                                                .map(a -> a.claimed().id())
                                                .toArray(UUID[]::new))
                                .bind(
                                        "tokens",
                                        held.stream()
                                                .map(a -> a.claimed().leaseToken())
                                                .toArray(UUID[]::new))
                                .map(
                                        (rs, ctx) -> {
                                            UUID id = rs.getObject("id", UUID.class);
                                            renewed.add(id);
                                            if (rs.getBoolean("cancel_requested")) {
                                                running.stop(id, StopReason.CANCELLED);
                                            }
                                            return id;
                                        })
                                .list());
        for (RunningAttempt attempt : held) {
            if (!renewed.contains(attempt.claimed().id())) {
                // Finished meanwhile (harmless: the attempt is no longer executing) or rescued
                // elsewhere.
                attempt.stop(StopReason.LEASE_LOST);
            }
        }
    }

    /**
     * Stops beating and removes this node from {@code nodes}; call after the worker has stopped.
     */
    @Override
    public void close() {
        super.close();
        try {
            jdbi.useHandle(h -> h.createUpdate(LEAVE).bind("id", node.id()).execute());
        } catch (RuntimeException e) {
            log.debug("could not remove node row on shutdown; it expires by itself", e);
        }
    }
}
