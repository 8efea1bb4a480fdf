package dev.pulse.workers.tasks;

import dev.pulse.workers.db.CallGroups;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

/**
 * Reads of one task by id ({@code GET /v1/tasks/{id}}, an asynchronous report's lease check),
 * gathered with the reads beside them into one primary-key query ({@link CallGroups}). They stay on
 * the primary, so a task just created is always found.
 */
public final class TaskReadGroups implements AutoCloseable {

    private final CallGroups<UUID, Optional<TaskStore.Leased>> groups;

    /**
     * @param window how long a group waits for more reads after its first (zero: a lone read waits
     *     for nothing; reads that come while a group is read form the next)
     * @param maxGroup the most ids one query reads
     * @param readers threads reading groups (each holds a connection while it reads)
     */
    public TaskReadGroups(TaskStore store, Duration window, int maxGroup, int readers) {
        this.groups = new CallGroups<>("read", store::findLeased, window, maxGroup, readers);
    }

    /** What {@link TaskStore#find} answers. */
    public Optional<Task> find(UUID id) {
        return findLeased(id).map(TaskStore.Leased::task);
    }

    /** The task with who holds its lease, as {@link TaskStore#findLeased} reads it. */
    public Optional<TaskStore.Leased> findLeased(UUID id) {
        return groups.call(id);
    }

    @Override
    public void close() {
        groups.close();
    }
}
