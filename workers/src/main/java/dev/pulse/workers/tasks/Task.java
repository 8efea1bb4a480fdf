package dev.pulse.workers.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.TraceContext;
import java.time.Instant;
import java.util.UUID;

/**
 * A task row as the API and callbacks show it. Lease fields stay inside the queue; {@code trace} is
 * the context the task was queued in (never shown, the parent of its spans).
 */
public record Task(
        UUID id,
        String agent,
        TaskState state,
        int priority,
        JsonNode input,
        JsonNode metadata,
        String callbackUrl,
        JsonNode result,
        JsonNode error,
        int attempts,
        int maxAttempts,
        int timeoutSeconds,
        Instant runAt,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        Instant updatedAt,
        Instant cancelRequestedAt,
        String idempotencyKey,
        long retryBaseMs,
        long retryMaxMs,
        String scheduleName,
        Instant fireTime,
        TraceContext trace,
        String concurrencyKey,
        JsonNode budget) {}
