package dev.pulse.server.mcp;

import dev.pulse.server.api.tasks.TaskOperations;
import dev.pulse.workers.tasks.Task;
import java.time.Duration;
import java.util.UUID;

/**
 * {@code wait_for_task}: returns as soon as the task has ended, or when the time is up. A task ends
 * on whichever node's worker ran it, so this node learns of it from the task's row: a primary-key
 * read polled every 50 ms at first, backing off to every 500 ms (at most ~120 reads in a minute).
 */
final class TaskWaiter {

    static final Duration FIRST_POLL = Duration.ofMillis(50);
    static final Duration LONGEST_POLL = Duration.ofMillis(500);

    private final TaskOperations tasks;

    TaskWaiter(TaskOperations tasks) {
        this.tasks = tasks;
    }

    /** The task once it has ended, or as it is when {@code timeout} is up. */
    Task await(UUID id, Duration timeout) {
        // Elapsed time on the monotonic clock: a wait is a duration, not a time of day.
        long deadline = System.nanoTime() + timeout.toNanos();
        long pollMillis = FIRST_POLL.toMillis();
        Task task = tasks.find(id);
        while (!task.state().isTerminal()) {
            long leftMillis = Duration.ofNanos(deadline - System.nanoTime()).toMillis();
            if (leftMillis <= 0) {
                break;
            }
            try {
                Thread.sleep(Math.min(pollMillis, leftMillis));
            } catch (InterruptedException e) {
                // The node is stopping: answer with what is known now.
                Thread.currentThread().interrupt();
                break;
            }
            pollMillis = Math.min(pollMillis * 2, LONGEST_POLL.toMillis());
            task = tasks.find(id);
        }
        return task;
    }
}
