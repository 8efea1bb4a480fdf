package dev.pulse.workers.tasks;

import java.time.Instant;
import java.util.UUID;

/**
 * One task of a batch enqueue: its id, state and due time, and whether it is new or the original of
 * a repeated idempotency key.
 */
public record Queued(UUID id, TaskState state, Instant runAt, boolean created) {}
