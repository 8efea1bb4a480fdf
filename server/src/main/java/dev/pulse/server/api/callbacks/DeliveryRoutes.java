package dev.pulse.server.api.callbacks;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.PathIds;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.callbacks.CallbackDeliveries;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.tasks.TaskStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.List;
import java.util.UUID;

/**
 * A task's callback deliveries ({@code GET /v1/tasks/{id}/deliveries}) and redelivery of one
 * ({@code POST /v1/deliveries/{id}/redeliver}): back to pending, due now, with a fresh round of
 * attempts and the same webhook-id and body, so receivers can still de-duplicate it.
 */
public final class DeliveryRoutes {

    private final CallbackDeliveries deliveries;
    private final TaskStore tasks;
    private final JsonResponses responses;

    public DeliveryRoutes(CallbackDeliveries deliveries, TaskStore tasks, JsonResponses responses) {
        this.deliveries = deliveries;
        this.tasks = tasks;
        this.responses = responses;
    }

    public void register(RoutesConfig routes) {
        routes.get("/v1/tasks/{id}/deliveries", this::list, ScopeRole.of(Scope.TASKS_READ));
        routes.post(
                "/v1/deliveries/{id}/redeliver", this::redeliver, ScopeRole.of(Scope.TASKS_WRITE));
    }

    private void list(Context ctx) {
        UUID taskId =
                PathIds.of(
                        ctx,
                        "no task with id '%s': task ids are UUIDs as returned by POST /v1/tasks");
        List<CallbackDeliveries.Delivery> found = deliveries.forTask(taskId);
        // Deliveries are deleted with their task (retention), so they imply it exists: the task
        // is looked up only to tell "none" from "no such task".
        if (found.isEmpty() && tasks.find(taskId).isEmpty()) {
            throw new ProblemException(Problem.notFound("no task with id " + taskId));
        }
        ObjectNode body = responses.mapper().createObjectNode();
        ArrayNode items = body.putArray("items");
        found.forEach(d -> items.add(json(d)));
        responses.send(ctx, 200, body);
    }

    private void redeliver(Context ctx) {
        UUID id =
                PathIds.of(
                        ctx,
                        "no delivery with id '%s': delivery ids are listed by GET /v1/tasks/{id}/deliveries");
        CallbackDeliveries.Delivery delivery =
                deliveries
                        .redeliver(id)
                        .orElseThrow(
                                () ->
                                        new ProblemException(
                                                Problem.notFound(
                                                        "no delivery with id "
                                                                + id
                                                                + "; GET /v1/tasks/{id}/deliveries lists a task's deliveries")));
        responses.send(ctx, 200, json(delivery));
    }

    private ObjectNode json(CallbackDeliveries.Delivery d) {
        ObjectNode node = responses.mapper().createObjectNode();
        node.put("id", d.id().toString());
        node.put("task_id", d.taskId() == null ? null : d.taskId().toString());
        node.put("event_type", d.eventType());
        node.put("url", d.url());
        node.put("state", d.state());
        node.put("attempts", d.attempts());
        node.put("next_attempt_at", Timestamps.rfc3339(d.nextAttemptAt()));
        node.put("last_status", d.lastStatus());
        node.put("last_error", d.lastError());
        node.put("created_at", Timestamps.rfc3339(d.createdAt()));
        node.put("delivered_at", Timestamps.rfc3339(d.deliveredAt()));
        node.put("redeliver", "/v1/deliveries/" + d.id() + "/redeliver");
        return node;
    }
}
