package dev.pulse.server.api.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.server.api.JsonBodies;
import dev.pulse.server.api.JsonContentType;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.PathIds;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.tasks.CancelOutcome;
import dev.pulse.workers.tasks.Enqueued;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskFilter;
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.tasks.TaskPage;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.timing.WakeUp;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Arrays;
import java.util.UUID;
import java.util.stream.Collectors;

/** {@code /v1/tasks}: queue, read, list and cancel tasks. */
public final class TaskRoutes {

    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 500;

    private final TaskStore store;
    private final TaskRequestParser parser;
    private final TaskJson taskJson;
    private final JsonResponses responses;
    private final WakeUp workerWakeUp;

    public TaskRoutes(
            TaskStore store,
            TaskRequestParser parser,
            TaskJson taskJson,
            JsonResponses responses,
            WakeUp workerWakeUp) {
        this.store = store;
        this.parser = parser;
        this.taskJson = taskJson;
        this.responses = responses;
        this.workerWakeUp = workerWakeUp;
    }

    public void register(RoutesConfig routes) {
        routes.post("/v1/tasks", this::create, ScopeRole.of(Scope.TASKS_WRITE));
        routes.get("/v1/tasks", this::list, ScopeRole.of(Scope.TASKS_READ));
        routes.get("/v1/tasks/{id}", this::get, ScopeRole.of(Scope.TASKS_READ));
        routes.get("/v1/tasks/{id}/attempts", this::attempts, ScopeRole.of(Scope.TASKS_READ));
        routes.post("/v1/tasks/{id}/cancel", this::cancel, ScopeRole.of(Scope.TASKS_WRITE));
        routes.post("/v1/tasks/{id}/retry", this::retry, ScopeRole.of(Scope.TASKS_WRITE));
    }

    /** 201 with a new task; 200 with the original when the idempotency key was seen before. */
    private void create(Context ctx) {
        Enqueued enqueued =
                store.enqueue(
                        parser.parse(JsonContentType.body(ctx), ctx.header("Idempotency-Key")),
                        ApiKeyAuth.ownerOf(ctx));
        Task task = enqueued.task();
        if (enqueued.created()) {
            workerWakeUp.signal();
        }
        ctx.header("Location", "/v1/tasks/" + task.id());
        responses.send(ctx, enqueued.created() ? 201 : 200, withLinks(taskJson, task));
    }

    private void get(Context ctx) {
        responses.send(
                ctx,
                200,
                withLinks(taskJson, store.find(taskId(ctx)).orElseThrow(() -> notFound(ctx))));
    }

    private void list(Context ctx) {
        TaskState state = null;
        String stateParam = ctx.queryParam("state");
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
        String cursorParam = ctx.queryParam("cursor");
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
        String limitParam = ctx.queryParam("limit");
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
        TaskPage page =
                store.list(
                        TaskFilter.of(
                                state,
                                ctx.queryParam("agent"),
                                ctx.queryParam("schedule"),
                                cursor,
                                limit));
        ObjectNode body = responses.mapper().createObjectNode();
        ArrayNode items = body.putArray("items");
        page.items().forEach(t -> items.add(withLinks(taskJson, t)));
        body.put("next_cursor", page.nextCursor() == null ? null : page.nextCursor().toString());
        responses.send(ctx, 200, body);
    }

    private void attempts(Context ctx) {
        UUID id = taskId(ctx);
        store.find(id).orElseThrow(() -> notFound(ctx));
        ObjectNode body = responses.mapper().createObjectNode();
        ArrayNode items = body.putArray("items");
        store.attempts(id)
                .forEach(
                        a -> {
                            ObjectNode item = items.addObject();
                            item.put("attempt", a.attempt());
                            item.put("node", a.node());
                            item.put("started_at", Timestamps.rfc3339(a.startedAt()));
                            item.put("finished_at", Timestamps.rfc3339(a.finishedAt()));
                            item.put("outcome", a.outcome());
                            item.set("error", a.error());
                            item.put("logs", a.logs());
                        });
        responses.send(ctx, 200, body);
    }

    /** 200 when cancelled at once; 202 when running (its worker stops it within one heartbeat). */
    private void cancel(Context ctx) {
        CancelOutcome outcome = store.cancel(taskId(ctx));
        if (outcome instanceof CancelOutcome.Cancelled c) {
            responses.send(ctx, 200, withLinks(taskJson, c.task()));
        } else if (outcome instanceof CancelOutcome.Requested r) {
            responses.send(ctx, 202, withLinks(taskJson, r.task()));
        } else if (outcome instanceof CancelOutcome.AlreadyFinished f) {
            throw new ProblemException(
                    Problem.conflict(
                            "task is already "
                                    + f.task().state().wire()
                                    + "; only a scheduled, queued or running task can be cancelled"));
        } else {
            throw notFound(ctx);
        }
    }

    /**
     * Queues a failed or cancelled task again; body {@code {"attempts": N}} grants N more attempts
     * (default 1).
     */
    private void retry(Context ctx) {
        UUID id = taskId(ctx);
        int more = retryAttempts(JsonContentType.body(ctx));
        Task task =
                store.retry(id, more)
                        .orElseThrow(
                                () ->
                                        store.find(id)
                                                .map(
                                                        t ->
                                                                new ProblemException(
                                                                        Problem.conflict(
                                                                                "task is "
                                                                                        + t.state()
                                                                                                .wire()
                                                                                        + "; only a failed or cancelled task can be retried")))
                                                .orElseGet(() -> notFound(ctx)));
        workerWakeUp.signal();
        responses.send(ctx, 200, withLinks(taskJson, task));
    }

    private int retryAttempts(String body) {
        JsonNode root = JsonBodies.optionalObject(responses.mapper(), body, "{\"attempts\": 1}");
        root.fieldNames()
                .forEachRemaining(
                        name -> {
                            if (!name.equals("attempts")) {
                                throw new ProblemException(
                                        Problem.invalid(
                                                422,
                                                name,
                                                "unknown field; the only field is attempts"));
                            }
                        });
        JsonNode attempts = root.path("attempts");
        if (attempts.isMissingNode()) {
            return 1;
        }
        if (!attempts.isIntegralNumber()
                || !attempts.canConvertToInt()
                || attempts.asInt() < 1
                || attempts.asInt() > 100) {
            throw new ProblemException(
                    Problem.invalid(422, "attempts", "must be an integer from 1 to 100"));
        }
        return attempts.asInt();
    }

    /** A task as the API shows it: its JSON plus links to what can be done with it. */
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

    private static UUID taskId(Context ctx) {
        return PathIds.of(
                ctx, "no task with id '%s': task ids are UUIDs as returned by POST /v1/tasks");
    }

    private static ProblemException notFound(Context ctx) {
        return new ProblemException(Problem.notFound("no task with id " + ctx.pathParam("id")));
    }
}
