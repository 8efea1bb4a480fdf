package dev.pulse.workers.queue;

import dev.pulse.workers.tasks.Task;
import java.time.Instant;
import java.util.UUID;

/**
 * A task held under a lease: the lease token fences every update made to the row; the node and
 * start time are what the attempt's row records when the attempt ends.
 */
public record ClaimedTask(Task task, UUID leaseToken, String node, Instant startedAt) {

    public UUID id() {
        return task.id();
    }

    public int attempt() {
        return task.attempts();
    }
}
