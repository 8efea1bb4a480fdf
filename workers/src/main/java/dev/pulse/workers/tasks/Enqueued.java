package dev.pulse.workers.tasks;

/**
 * The task an enqueue produced, and whether it is new or the original of a repeated idempotency
 * key.
 */
public record Enqueued(Task task, boolean created) {}
