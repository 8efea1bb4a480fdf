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
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.tasks.TaskPage;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.timing.WakeUp;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.UUID;

/** {@code /v1/tasks}: queue, read, list and cancel tasks. */
public final class TaskRoutes {

    private final TaskStore store;
    private final TaskOperations operations;
    private final TaskJson taskJson;
    private final JsonResponses responses;
    private final WakeUp workerWakeUp;

    public TaskRoutes(
            TaskStore store,
            TaskOperations operations,
            TaskJson taskJson,
            JsonResponses responses,
            WakeUp workerWakeUp) {
        this.store = store;
        this.operations = operations;
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
                operations.queue(
                        JsonBodies.object(
                                responses.mapper(),
                                JsonContentType.body(ctx),
                                "{\"agent\": \"echo\", \"input\": {}}"),
                        ctx.header("Idempotency-Key"),
                        ApiKeyAuth.ownerOf(ctx),
                        TraceHeaders.of(ctx));
        Task task = enqueued.task();
        ctx.header("Location", "/v1/tasks/" + task.id());
        responses.send(ctx, enqueued.created() ? 201 : 200, withLinks(taskJson, task));
    }

    private void get(Context ctx) {
        responses.send(ctx, 200, withLinks(taskJson, operations.find(taskId(ctx))));
    }

    private void list(Context ctx) {
        TaskPage page =
                operations.list(
                        ctx.queryParam("state"),
                        ctx.queryParam("agent"),
                        ctx.queryParam("schedule"),
                        ctx.queryParam("cursor"),
                        ctx.queryParam("limit"));
        responses.send(ctx, 200, operations.toJson(page));
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
        CancelOutcome outcome = operations.cancel(taskId(ctx));
        if (outcome instanceof CancelOutcome.Requested r) {
            responses.send(ctx, 202, withLinks(taskJson, r.task()));
        } else {
            responses.send(
                    ctx, 200, withLinks(taskJson, ((CancelOutcome.Cancelled) outcome).task()));
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

    private static ObjectNode withLinks(TaskJson taskJson, Task task) {
        return TaskOperations.withLinks(taskJson, task);
    }

    private static UUID taskId(Context ctx) {
        return PathIds.of(
                ctx, "no task with id '%s': task ids are UUIDs as returned by POST /v1/tasks");
    }

    private static ProblemException notFound(Context ctx) {
        return new ProblemException(Problem.notFound("no task with id " + ctx.pathParam("id")));
    }
}
