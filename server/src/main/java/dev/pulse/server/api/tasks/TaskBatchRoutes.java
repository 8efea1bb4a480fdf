package dev.pulse.server.api.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.TraceContext;
import dev.pulse.server.api.JsonBodies;
import dev.pulse.server.api.JsonContentType;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.tasks.Queued;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.timing.DueWakeUps;
import dev.pulse.workers.timing.WakeUp;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.List;

/** {@code POST /v1/tasks/batch}: many tasks in one request and one INSERT. */
public final class TaskBatchRoutes {

    static final int MAX_BATCH = 1000;

    private final TaskStore store;
    private final TaskRequestParser parser;
    private final JsonResponses responses;
    private final WakeUp workerWakeUp;
    private final DueWakeUps dueWakeUps;

    public TaskBatchRoutes(
            TaskStore store,
            TaskRequestParser parser,
            JsonResponses responses,
            WakeUp workerWakeUp,
            DueWakeUps dueWakeUps) {
        this.store = store;
        this.parser = parser;
        this.responses = responses;
        this.workerWakeUp = workerWakeUp;
        this.dueWakeUps = dueWakeUps;
    }

    public void register(RoutesConfig routes) {
        routes.post("/v1/tasks/batch", this::createBatch, ScopeRole.of(Scope.TASKS_WRITE));
    }

    /**
     * Up to {@link #MAX_BATCH} tasks in one multi-row insert. Each item gets its own result, in
     * order: created, duplicate (its idempotency key was used before), or invalid with its errors;
     * one bad item never keeps the good ones out.
     */
    private void createBatch(Context ctx) {
        JsonNode tasks = batchItems(JsonContentType.body(ctx));
        List<NewTask> valid = new ArrayList<>();
        TraceContext trace = TraceHeaders.of(ctx);
        List<Integer> validIndex = new ArrayList<>();
        ObjectNode[] results = new ObjectNode[tasks.size()];
        for (int i = 0; i < tasks.size(); i++) {
            try {
                valid.add(parser.parse(tasks.get(i), null, trace));
                validIndex.add(i);
            } catch (ProblemException e) {
                ObjectNode item =
                        responses
                                .mapper()
                                .createObjectNode()
                                .put("index", i)
                                .put("status", "invalid");
                ArrayNode errors = item.putArray("errors");
                e.problem()
                        .errors()
                        .forEach(
                                err ->
                                        errors.addObject()
                                                .put("field", err.field())
                                                .put("message", err.message()));
                results[i] = item;
            }
        }
        List<Queued> enqueued =
                valid.isEmpty() ? List.of() : store.enqueueAll(valid, ApiKeyAuth.ownerOf(ctx));
        int created = 0;
        for (int k = 0; k < enqueued.size(); k++) {
            Queued e = enqueued.get(k);
            created += e.created() ? 1 : 0;
            if (e.created()) {
                dueWakeUps.at(e.runAt());
            }
            // The task's id, state and due time, not the whole task: a batch's answer stays small
            // (the input echoed back a thousand times was most of the cost of a batch).
            String self = "/v1/tasks/" + e.id();
            ObjectNode item =
                    responses
                            .mapper()
                            .createObjectNode()
                            .put("index", validIndex.get(k))
                            .put("status", e.created() ? "created" : "duplicate")
                            .put("id", e.id().toString())
                            .put("state", e.state().wire())
                            .put("run_at", Timestamps.rfc3339(e.runAt()));
            item.putObject("links").put("self", self);
            results[validIndex.get(k)] = item;
        }
        if (created > 0) {
            workerWakeUp.signal();
        }
        ObjectNode body = responses.mapper().createObjectNode();
        body.put("created", created)
                .put("duplicates", enqueued.size() - created)
                .put("invalid", tasks.size() - valid.size());
        ArrayNode items = body.putArray("items");
        for (ObjectNode item : results) {
            items.add(item);
        }
        responses.send(ctx, 200, body);
    }

    private JsonNode batchItems(String body) {
        JsonNode root =
                JsonBodies.object(responses.mapper(), body, "{\"tasks\": [{\"agent\": \"echo\"}]}");
        if (!root.path("tasks").isArray()) {
            throw new ProblemException(
                    Problem.invalid(
                            400,
                            "tasks",
                            "send {\"tasks\": [ ... ]} with 1 to " + MAX_BATCH + " task objects"));
        }
        root.fieldNames()
                .forEachRemaining(
                        name -> {
                            if (!name.equals("tasks")) {
                                throw new ProblemException(
                                        Problem.invalid(
                                                422,
                                                name,
                                                "unknown field; the only field is tasks"));
                            }
                        });
        JsonNode tasks = root.get("tasks");
        if (tasks.isEmpty() || tasks.size() > MAX_BATCH) {
            throw new ProblemException(
                    Problem.invalid(
                            422,
                            "tasks",
                            "must hold 1 to " + MAX_BATCH + " tasks, got " + tasks.size()));
        }
        return tasks;
    }
}
