package dev.pulse.workers.tasks;

import java.time.Instant;
import java.util.UUID;

/**
 * Which tasks to list, newest first: optional filters (state, agent, schedule, concurrency key,
 * created in {@code [createdFrom, createdTo)}, text in input or metadata, matched
 * case-insensitively among the next {@link TaskStore#TEXT_WINDOW} tasks the other filters match), a
 * keyset cursor ({@code before}, an id from a previous page) and a page size.
 */
public record TaskFilter(
        TaskState state,
        String agent,
        String schedule,
        Instant createdFrom,
        Instant createdTo,
        String text,
        UUID before,
        int limit,
        String concurrencyKey) {

    /** The API's filter: state, agent and schedule only. */
    public static TaskFilter of(
            TaskState state, String agent, String schedule, UUID before, int limit) {
        return new TaskFilter(state, agent, schedule, null, null, null, before, limit, null);
    }

    /** The same filter, also matching the concurrency key (null: any). */
    public TaskFilter withConcurrencyKey(String key) {
        return new TaskFilter(
                state, agent, schedule, createdFrom, createdTo, text, before, limit, key);
    }
}
