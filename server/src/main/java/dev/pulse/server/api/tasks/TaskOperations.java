package dev.pulse.server.api.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.TraceContext;
import dev.pulse.server.api.PathIds;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.workers.flow.Waiting;
import dev.pulse.workers.flow.WaitingReasons;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.tasks.CancelOutcome;
import dev.pulse.workers.tasks.Enqueued;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskFilter;
import dev.pulse.workers.tasks.TaskInsertGroups;
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.tasks.TaskPage;
import dev.pulse.workers.tasks.TaskReadGroups;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.timing.DueWakeUps;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * What the task routes do once the HTTP request is read: queue, find, list and cancel, with their
 * checks and their problems. The REST routes and the MCP tools both call these, so a field or a
 * rule added to one is in the other too.
 */
public final class TaskOperations {

    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 500;

    private final TaskStore store;
    private final TaskInsertGroups insertGroups;
    private final TaskReadGroups reads;
    private final TaskRequestParser parser;
    private final ObjectMapper json;
    private final TaskJson taskJson;
    private final DueWakeUps dueWakeUps;
    private final WaitingReasons waiting;

    /**
     * @param insertGroups where single tasks are queued: together with the requests beside them, in
     *     one commit
     * @param reads where single tasks are read: together with the reads beside them, in one query
     */
    public TaskOperations(
            TaskStore store,
            TaskInsertGroups insertGroups,
            TaskReadGroups reads,
            TaskRequestParser parser,
            ObjectMapper json,
            TaskJson taskJson,
            DueWakeUps dueWakeUps,
            WaitingReasons waiting) {
        this.dueWakeUps = dueWakeUps;
        this.waiting = waiting;
        this.store = store;
        this.insertGroups = insertGroups;
        this.reads = reads;
        this.parser = parser;
        this.json = json;
        this.taskJson = taskJson;
    }

    /**
     * Queues the task a {@code POST /v1/tasks} body describes (parsed by the same parser), in the
     * idempotency namespace of {@code owner}.
     *
     * @param idempotencyHeader the {@code Idempotency-Key} header, or null
     */
    public Enqueued queue(JsonNode body, String idempotencyHeader, String owner) {
        return queue(body, idempotencyHeader, owner, TraceContext.NONE);
    }

    /**
     * {@link #queue(JsonNode, String, String)} for a request that came in {@code trace} (its W3C
     * {@code traceparent} and {@code tracestate}): the task's spans join that trace.
     *
     * @throws TaskInsertGroups.CommitFailed when the commit of the group it joined failed: nothing
     *     was stored (503)
     */
    public Enqueued queue(
            JsonNode body, String idempotencyHeader, String owner, TraceContext trace) {
        Enqueued enqueued =
                insertGroups.enqueue(parser.parse(body, idempotencyHeader, trace), owner);
        if (enqueued.created()) {
            dueWakeUps.queued(enqueued.task().runAt());
        }
        return enqueued;
    }

    /** The task, or a 404 problem. */
    public Task find(UUID id) {
        return reads.find(id).orElseThrow(() -> notFound(id.toString()));
    }

    /**
     * A page of tasks, filtered as {@code GET /v1/tasks} takes its query parameters (each may be
     * null); 400 naming the parameter that is wrong.
     */
    public TaskPage list(
            String stateParam,
            String agent,
            String schedule,
            String concurrencyKey,
            String cursorParam,
            String limitParam) {
        TaskState state = null;
        if (stateParam != null) {
            state =
                    TaskState.fromWire(stateParam)
                            .orElseThrow(
                                    () ->
                                            new ProblemException(
                                                    Problem.invalid(
                                                            400,
                                                            "state",
                                                            "unknown state '"
                                                                    + stateParam
                                                                    + "'; use one of "
                                                                    + Arrays.stream(
                                                                                    TaskState
                                                                                            .values())
                                                                            .map(TaskState::wire)
                                                                            .collect(
                                                                                    Collectors
                                                                                            .joining(
                                                                                                    ", ")))));
        }
        UUID cursor = null;
        if (cursorParam != null) {
            cursor =
                    PathIds.parse(cursorParam)
                            .orElseThrow(
                                    () ->
                                            new ProblemException(
                                                    Problem.invalid(
                                                            400,
                                                            "cursor",
                                                            "not a cursor from a previous page's next_cursor")));
        }
        int limit = DEFAULT_PAGE;
        if (limitParam != null) {
            try {
                limit = Integer.parseInt(limitParam);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_PAGE) {
                throw new ProblemException(
                        Problem.invalid(400, "limit", "must be an integer from 1 to " + MAX_PAGE));
            }
        }
        return store.list(
                TaskFilter.of(state, agent, schedule, cursor, limit)
                        .withConcurrencyKey(concurrencyKey));
    }

    /**
     * Cancels a waiting task at once ({@link CancelOutcome.Cancelled}) or asks a running one to
     * stop ({@link CancelOutcome.Requested}); a 409 problem when it already ended, 404 when there
     * is no such task.
     */
    public CancelOutcome cancel(UUID id) {
        CancelOutcome outcome = store.cancel(id);
        if (outcome instanceof CancelOutcome.AlreadyFinished f) {
            throw new ProblemException(
                    Problem.conflict(
                            "task is already "
                                    + f.task().state().wire()
                                    + "; only a scheduled, queued or running task can be cancelled"));
        }
        if (!(outcome instanceof CancelOutcome.Cancelled)
                && !(outcome instanceof CancelOutcome.Requested)) {
            throw notFound(id.toString());
        }
        return outcome;
    }

    /**
     * A page as {@code GET /v1/tasks} answers it: {@code {"items": [...], "next_cursor"}}, each
     * task with why it waits ({@link #toJson(Task)}).
     */
    public ObjectNode toJson(TaskPage page) {
        ObjectNode body = json.createObjectNode();
        ArrayNode items = body.putArray("items");
        Map<UUID, Waiting> waits = waiting.of(page.items());
        page.items()
                .forEach(t -> items.add(withWaiting(withLinks(taskJson, t), waits.get(t.id()))));
        body.put("next_cursor", page.nextCursor() == null ? null : page.nextCursor().toString());
        return body;
    }

    /**
     * A task as the API shows it: its JSON, why it waits in the queue ({@code waiting_reason} and
     * {@code waiting_until}, null unless a limit holds it back) and links to what can be done with
     * it.
     */
    public ObjectNode toJson(Task task) {
        return withWaiting(withLinks(taskJson, task), waiting.of(task).orElse(null));
    }

    private static ObjectNode withWaiting(ObjectNode node, Waiting wait) {
        node.put("waiting_reason", wait == null ? null : wait.reason().wire());
        node.put("waiting_until", wait == null ? null : Timestamps.rfc3339(wait.until()));
        return node;
    }

    static ObjectNode withLinks(TaskJson taskJson, Task task) {
        ObjectNode node = taskJson.toJson(task);
        String self = "/v1/tasks/" + task.id();
        ObjectNode links = node.putObject("links");
        links.put("self", self);
        links.put("attempts", self + "/attempts");
        links.put("cancel", self + "/cancel");
        links.put("retry", self + "/retry");
        return node;
    }

    static ProblemException notFound(String id) {
        return new ProblemException(Problem.notFound("no task with id " + id));
    }
}
