package dev.pulse.workers.tasks;

import dev.pulse.workers.db.CallGroups;
import java.time.Duration;

/**
 * Group commit for single enqueues: concurrent requests to queue one task each are gathered ({@link
 * CallGroups}) for at most a short window, or until a group is full, into one multi-row insert and
 * one commit, and each caller returns only after the commit that holds its row. Durability is that
 * of a single insert ({@code synchronous_commit} stays on).
 *
 * <p>A group that fails to commit fails every request in it ({@link CommitFailed}) and wrote
 * nothing. Validation happens before a request joins a group, so bad input stays the business of
 * the request that sent it.
 */
public final class TaskInsertGroups implements AutoCloseable {

    /** The group's transaction failed: this request's task was not stored, nor any of its group. */
    public static final class CommitFailed extends RuntimeException {
        CommitFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final CallGroups<TaskStore.OwnedTask, Enqueued> groups;

    /**
     * @param window how long a group waits for more requests after its first
     * @param maxGroup a group this size commits at once
     * @param committers threads committing groups (a second lets the next group gather while one
     *     waits for its WAL flush)
     */
    public TaskInsertGroups(TaskStore store, Duration window, int maxGroup, int committers) {
        this.groups =
                new CallGroups<>("enqueue", store::enqueueGroup, window, maxGroup, committers);
    }

    /**
     * Queues {@code task} in the idempotency namespace of {@code owner} with the requests beside
     * it, and returns once its group has committed: what {@link TaskStore#enqueue(NewTask, String)}
     * returns.
     *
     * @throws CommitFailed when its group did not commit (nothing of it was written), or the node
     *     is stopping
     */
    public Enqueued enqueue(NewTask task, String owner) {
        try {
            return groups.call(new TaskStore.OwnedTask(task, owner));
        } catch (CallGroups.Failed e) {
            throw new CommitFailed(
                    e.getCause() == null
                            ? e.getMessage()
                            : "the commit of this task's group failed; nothing was stored",
                    e.getCause());
        }
    }

    /**
     * Lets the groups being committed finish; requests still waiting for a group are answered as
     * not stored.
     */
    @Override
    public void close() {
        groups.close();
    }
}
