package dev.pulse.workers.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Instant;

/**
 * A validated request to queue a task. At most one of {@code runAt} and {@code delaySeconds} is
 * set; the due time is computed by the database clock when the row is inserted. A task with an
 * {@code idempotencyKey} is created at most once per key.
 */
public record NewTask(
        String agent,
        JsonNode input,
        JsonNode metadata,
        String callbackUrl,
        Instant runAt,
        BigDecimal delaySeconds,
        int priority,
        int maxAttempts,
        int timeoutSeconds,
        long retryBaseMs,
        long retryMaxMs,
        String idempotencyKey,
        String scheduleName,
        java.time.Instant fireTime) {

    /** The same request for a schedule's tick. */
    public NewTask forTick(String schedule, java.time.Instant tick) {
        return new NewTask(agent, input, metadata, callbackUrl, runAt, delaySeconds, priority, maxAttempts,
                timeoutSeconds, retryBaseMs, retryMaxMs, idempotencyKey, schedule, tick);
    }
}
