package dev.pulse.workers.tasks;

import java.util.UUID;

/** What {@code GET /v1/tasks} asks for: optional filters, a keyset cursor and a page size. */
public record TaskFilter(TaskState state, String agent, String schedule, UUID before, int limit) {
}
