package dev.pulse.workers.callbacks;

import dev.pulse.workers.db.Columns;
import dev.pulse.workers.timing.WakeUp;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The callback outbox as operators see it, in the API and the dashboard: a task's deliveries, the
 * failing and dead ones, and redelivery (the delivery goes back to pending, due now, with a fresh
 * round of attempts; its webhook-id and body stay the same, so receivers can still de-duplicate
 * it).
 */
public final class CallbackDeliveries {

    private static final String COLUMNS =
            """
            id, task_id, event_type, url, state, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
            """;

    private static final String FOR_TASK =
            "SELECT "
                    + COLUMNS
                    + " FROM callback_deliveries WHERE task_id = :task_id ORDER BY created_at";

    // Pending deliveries that failed at least once: the outbox's due index covers pending rows.
    private static final String FAILING =
            "SELECT "
                    + COLUMNS
                    + """
              FROM callback_deliveries
             WHERE state = 'pending' AND attempts > 0 AND (last_status IS NOT NULL OR last_error IS NOT NULL)
             ORDER BY next_attempt_at
             LIMIT :limit
            """;

    private static final String DEAD =
            "SELECT "
                    + COLUMNS
                    + """
              FROM callback_deliveries
             WHERE state = 'dead'
             ORDER BY created_at DESC
             LIMIT :limit
            """;

    private static final String REDELIVER =
            """
            UPDATE callback_deliveries
               SET state = 'pending', attempts = 0, next_attempt_at = now(), delivered_at = NULL
             WHERE id = :id
            """
                    + "RETURNING "
                    + COLUMNS;

    private static final String DELIVERED =
            "SELECT count(*) FROM callback_deliveries WHERE state = 'delivered'";

    private static final String ANY_PENDING =
            "SELECT EXISTS (SELECT 1 FROM callback_deliveries WHERE state = 'pending')";

    public record Delivery(
            UUID id,
            UUID taskId,
            String eventType,
            String url,
            String state,
            int attempts,
            Instant nextAttemptAt,
            Integer lastStatus,
            String lastError,
            Instant createdAt,
            Instant deliveredAt) {}

    private final Jdbi jdbi;
    private final WakeUp dispatcherWakeUp;

    /**
     * @param dispatcherWakeUp this node's callback dispatcher, woken when a delivery is due again
     */
    public CallbackDeliveries(Jdbi jdbi, WakeUp dispatcherWakeUp) {
        this.jdbi = jdbi;
        this.dispatcherWakeUp = dispatcherWakeUp;
    }

    public List<Delivery> forTask(UUID taskId) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(FOR_TASK)
                                .bind("task_id", taskId)
                                .map((rs, ctx) -> map(rs))
                                .list());
    }

    public List<Delivery> failing(int limit) {
        return jdbi.withHandle(
                h -> h.createQuery(FAILING).bind("limit", limit).map((rs, ctx) -> map(rs)).list());
    }

    public List<Delivery> dead(int limit) {
        return jdbi.withHandle(
                h -> h.createQuery(DEAD).bind("limit", limit).map((rs, ctx) -> map(rs)).list());
    }

    /** The delivery as it is now due again, if it exists; wakes the dispatcher to send it. */
    public Optional<Delivery> redeliver(UUID id) {
        Optional<Delivery> due =
                jdbi.withHandle(
                        h ->
                                h.createQuery(REDELIVER)
                                        .bind("id", id)
                                        .map((rs, ctx) -> map(rs))
                                        .findOne());
        due.ifPresent(d -> dispatcherWakeUp.signal());
        return due;
    }

    /**
     * Every delivered callback, counted (a benchmark's before and after; a full count, so never on
     * a page).
     */
    public static long delivered(Handle h) {
        return h.createQuery(DELIVERED).mapTo(Long.class).one();
    }

    /** Whether any delivery is still pending (through the outbox's index on pending rows). */
    public static boolean anyPending(Handle h) {
        return h.createQuery(ANY_PENDING).mapTo(Boolean.class).one();
    }

    private static Delivery map(ResultSet rs) throws SQLException {
        int status = rs.getInt("last_status");
        Integer lastStatus = rs.wasNull() ? null : status;
        return new Delivery(
                rs.getObject("id", UUID.class),
                rs.getObject("task_id", UUID.class),
                rs.getString("event_type"),
                rs.getString("url"),
                rs.getString("state"),
                rs.getInt("attempts"),
                Columns.instant(rs, "next_attempt_at"),
                lastStatus,
                rs.getString("last_error"),
                Columns.instant(rs, "created_at"),
                Columns.instant(rs, "delivered_at"));
    }
}
