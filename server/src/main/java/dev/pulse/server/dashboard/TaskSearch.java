package dev.pulse.server.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskRowMapper;
import dev.pulse.workers.tasks.TaskState;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/**
 * The task list's query: the API's filters plus a time range and text search, newest first, by
 * keyset on the id. Ids are UUIDv7, so "created between" is an id range on the primary key; the
 * text match (input or metadata, case-insensitive) reads rows in id order until a page is full.
 */
final class TaskSearch {

    static final int BULK_LIMIT = 1000;

    private static final String WHERE = """
             WHERE (CAST(:state AS text) IS NULL OR state = :state)
               AND (CAST(:states AS text[]) IS NULL OR state = ANY(CAST(:states AS text[])))
               AND (CAST(:agent AS text) IS NULL OR agent = :agent)
               AND (CAST(:schedule AS text) IS NULL OR schedule_name = :schedule)
               AND (CAST(:from_id AS uuid) IS NULL OR id >= CAST(:from_id AS uuid))
               AND (CAST(:to_id AS uuid) IS NULL OR id < CAST(:to_id AS uuid))
               AND (CAST(:before AS uuid) IS NULL OR id < CAST(:before AS uuid))
               AND (CAST(:text AS text) IS NULL OR strpos(lower(input::text), :text) > 0
                                              OR strpos(lower(metadata::text), :text) > 0)
            """;

    private static final String PAGE = "SELECT * FROM tasks" + WHERE + " ORDER BY id DESC LIMIT :limit";

    private static final String IDS = "SELECT id FROM tasks" + WHERE + " ORDER BY id DESC LIMIT :limit";

    record Page(List<Task> tasks, UUID nextCursor) {
    }

    private final Jdbi jdbi;
    private final TaskRowMapper mapper;

    TaskSearch(Jdbi jdbi, ObjectMapper json) {
        this.jdbi = jdbi;
        this.mapper = new TaskRowMapper(json);
    }

    Page page(TaskQuery query) {
        List<Task> rows = jdbi.withHandle(h -> bind(h.createQuery(PAGE), query, null, TaskQuery.PAGE + 1).map(mapper).list());
        if (rows.size() <= TaskQuery.PAGE) {
            return new Page(rows, null);
        }
        List<Task> page = List.copyOf(rows.subList(0, TaskQuery.PAGE));
        return new Page(page, page.get(page.size() - 1).id());
    }

    /** Ids of tasks matching the filter and in one of {@code states}: at most {@code limit}, newest first. */
    List<UUID> ids(TaskQuery query, List<TaskState> states, int limit) {
        return jdbi.withHandle(h -> bind(h.createQuery(IDS), query.withBefore(null), states, limit).mapTo(UUID.class).list());
    }

    private static Query bind(Query q, TaskQuery query, List<TaskState> states, int limit) {
        return q.bind("state", query.state() == null ? null : query.state().wire())
                .bind("states", states == null ? null : states.stream().map(TaskState::wire).toArray(String[]::new))
                .bind("agent", query.agent())
                .bind("schedule", query.schedule())
                .bind("from_id", floor(query.from()))
                .bind("to_id", floor(query.to()))
                .bind("before", query.before())
                .bind("text", query.textLower())
                .bind("limit", limit);
    }

    /** The smallest UUIDv7 of a millisecond: ids at or after it were created at or after that instant. */
    static UUID floor(Instant instant) {
        if (instant == null) {
            return null;
        }
        long millis = Math.max(0, instant.toEpochMilli());
        return new UUID((millis << 16) | 0x7000L, 0x8000000000000000L);
    }

    static List<TaskState> retryable() {
        return Arrays.asList(TaskState.FAILED, TaskState.CANCELLED);
    }

    static List<TaskState> cancellable() {
        return Arrays.asList(TaskState.SCHEDULED, TaskState.QUEUED, TaskState.RUNNING);
    }
}
