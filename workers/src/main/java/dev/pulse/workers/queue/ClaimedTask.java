package dev.pulse.workers.queue;

import dev.pulse.workers.tasks.Task;
import java.util.UUID;

/** A task this node holds a lease on. The lease token fences every update it makes to the row. */
public record ClaimedTask(Task task, UUID leaseToken) {

    public UUID id() {
        return task.id();
    }

    public int attempt() {
        return task.attempts();
    }
}
