package dev.pulse.workers.callbacks;

import dev.pulse.workers.db.PlanEachTime;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * The dispatcher's view of the outbox. A claim pushes {@code next_attempt_at} forward by a
 * lease, so a delivery whose sender died is picked up again once the lease passes.
 */
final class DeliveryStore {

    private static final String CLAIM = """
            WITH due AS MATERIALIZED (
                SELECT id FROM callback_deliveries
                 WHERE state = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at
                 LIMIT :limit
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE callback_deliveries d
               SET attempts = d.attempts + 1,
                   next_attempt_at = now() + make_interval(secs => :lease_seconds)
              FROM due
             WHERE d.id = due.id
            RETURNING d.id, d.task_id, d.url, d.body, d.attempts
            """;

    /**
     * Many delivery outcomes in one statement: delivered, or failed (pending again after its
     * backoff, or dead after its last attempt). Only rows still pending change.
     */
    private static final String RECORD_MANY = """
            UPDATE callback_deliveries c
               SET state = CASE WHEN d.delivered THEN 'delivered'
                                WHEN c.attempts >= :max_attempts THEN 'dead' ELSE 'pending' END,
                   delivered_at = CASE WHEN d.delivered THEN now() ELSE c.delivered_at END,
                   next_attempt_at = CASE WHEN d.delivered THEN c.next_attempt_at
                                          ELSE now() + make_interval(secs => d.retry_seconds) END,
                   last_status = d.status,
                   last_error = d.error
              FROM unnest(CAST(:ids AS uuid[]), CAST(:delivered AS boolean[]), CAST(:statuses AS integer[]),
                          CAST(:errors AS text[]), CAST(:retry_seconds AS float8[]))
                   AS d (id, delivered, status, error, retry_seconds)
             WHERE c.id = d.id AND c.state = 'pending'
            """;

    /** How one delivery attempt ended, to be recorded with others by {@link #recordAll}. */
    record Outcome(UUID id, boolean delivered, Integer status, String error, double retrySeconds) {
    }

    private final Jdbi jdbi;

    DeliveryStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    List<CallbackDelivery> claim(int limit, Duration lease) {
        return jdbi.withHandle(h -> h.createQuery(CLAIM)
                .bind("limit", limit)
                .bind("lease_seconds", (double) lease.toSeconds())
                .map((rs, ctx) -> new CallbackDelivery(
                        rs.getObject("id", UUID.class), rs.getObject("task_id", UUID.class),
                        rs.getString("url"), rs.getString("body"), rs.getInt("attempts")))
                .list());
    }

    /** Records many outcomes in one statement (and one commit). */
    void recordAll(java.util.List<Outcome> outcomes, int maxAttempts) {
        if (outcomes.isEmpty()) {
            return;
        }
        jdbi.useHandle(h -> h.createUpdate(RECORD_MANY).addCustomizer(new PlanEachTime())
                .bind("ids", outcomes.stream().map(Outcome::id).toArray(UUID[]::new))
                .bind("delivered", outcomes.stream().map(Outcome::delivered).toArray(Boolean[]::new))
                .bind("statuses", outcomes.stream().map(Outcome::status).toArray(Integer[]::new))
                .bind("errors", outcomes.stream().map(Outcome::error).toArray(String[]::new))
                .bind("retry_seconds", outcomes.stream().map(Outcome::retrySeconds).toArray(Double[]::new))
                .bind("max_attempts", maxAttempts)
                .execute());
    }
}
