package dev.pulse.workers.tasks;

import java.util.List;
import java.util.UUID;

/** One page of tasks, newest first; {@code nextCursor} is null on the last page. */
public record TaskPage(List<Task> items, UUID nextCursor) {}
