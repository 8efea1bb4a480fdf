package dev.pulse.server.api.schedules;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.server.api.JsonBodies;
import dev.pulse.server.api.JsonContentType;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.schedules.Schedule;
import dev.pulse.workers.schedules.ScheduleDefinition;
import dev.pulse.workers.schedules.ScheduleFirer;
import dev.pulse.workers.schedules.ScheduleStore;
import dev.pulse.workers.tasks.TaskJson;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Locale;

/** {@code /v1/schedules}: cron schedules that queue agent runs. */
public final class ScheduleRoutes {

    private final ScheduleStore store;
    private final ScheduleFirer firer;
    private final ScheduleOperations operations;
    private final TaskJson taskJson;
    private final JsonResponses responses;
    private final Runnable changed;

    /**
     * @param changed told after every change, so schedulers pick it up at once
     */
    public ScheduleRoutes(
            ScheduleStore store,
            ScheduleFirer firer,
            ScheduleOperations operations,
            TaskJson taskJson,
            JsonResponses responses,
            Runnable changed) {
        this.store = store;
        this.firer = firer;
        this.operations = operations;
        this.taskJson = taskJson;
        this.responses = responses;
        this.changed = changed;
    }

    public void register(RoutesConfig routes) {
        routes.post("/v1/schedules", this::create, ScopeRole.of(Scope.SCHEDULES_WRITE));
        routes.get("/v1/schedules", this::list, ScopeRole.of(Scope.SCHEDULES_READ));
        routes.get("/v1/schedules/{name}", this::get, ScopeRole.of(Scope.SCHEDULES_READ));
        routes.put("/v1/schedules/{name}", this::put, ScopeRole.of(Scope.SCHEDULES_WRITE));
        routes.delete("/v1/schedules/{name}", this::delete, ScopeRole.of(Scope.SCHEDULES_WRITE));
        routes.post(
                "/v1/schedules/{name}/pause",
                ctx -> setEnabled(ctx, false),
                ScopeRole.of(Scope.SCHEDULES_WRITE));
        routes.post(
                "/v1/schedules/{name}/resume",
                ctx -> setEnabled(ctx, true),
                ScopeRole.of(Scope.SCHEDULES_WRITE));
        routes.post(
                "/v1/schedules/{name}/trigger", this::trigger, ScopeRole.of(Scope.SCHEDULES_WRITE));
    }

    private void create(Context ctx) {
        ObjectNode created = operations.create(body(ctx));
        ctx.header("Location", "/v1/schedules/" + created.path("name").asText());
        responses.send(ctx, 201, created);
    }

    /** Creates or replaces; 201 when created, 200 otherwise (also when nothing changed). */
    private void put(Context ctx) {
        ScheduleStore.Saved saved = store.save(parse(ctx, ctx.pathParam("name")));
        changed.run();
        responses.send(
                ctx,
                saved.change() == ScheduleStore.Change.CREATED ? 201 : 200,
                detail(saved.schedule()));
    }

    private void list(Context ctx) {
        responses.send(ctx, 200, operations.list());
    }

    private void get(Context ctx) {
        responses.send(ctx, 200, detail(find(ctx)));
    }

    private void delete(Context ctx) {
        if (!store.delete(ctx.pathParam("name"))) {
            throw notFound(ctx);
        }
        changed.run();
        ctx.status(204);
    }

    private void setEnabled(Context ctx, boolean enabled) {
        Schedule schedule =
                store.setEnabled(ctx.pathParam("name"), enabled).orElseThrow(() -> notFound(ctx));
        changed.run();
        responses.send(ctx, 200, detail(schedule));
    }

    /** Runs the schedule now, outside its cron; the overlap policy still applies. */
    private void trigger(Context ctx) {
        ScheduleFirer.Fired fired =
                firer.triggerNow(ctx.pathParam("name")).orElseThrow(() -> notFound(ctx));
        ObjectNode body = responses.mapper().createObjectNode();
        body.put("outcome", fired.outcome().name().toLowerCase(Locale.ROOT));
        body.set("task", fired.task() == null ? null : taskJson.toJson(fired.task()));
        responses.send(ctx, fired.task() == null ? 200 : 201, body);
    }

    private ObjectNode detail(Schedule schedule) {
        return operations.detail(schedule);
    }

    private Schedule find(Context ctx) {
        return store.find(ctx.pathParam("name")).orElseThrow(() -> notFound(ctx));
    }

    private ScheduleDefinition parse(Context ctx, String nameFromPath) {
        return operations.parse(body(ctx), nameFromPath);
    }

    private JsonNode body(Context ctx) {
        return JsonBodies.object(
                responses.mapper(),
                JsonContentType.body(ctx),
                "{\"name\": \"nightly\", \"cron\": \"0 2 * * *\", \"agent\": \"echo\"}");
    }

    private static ProblemException notFound(Context ctx) {
        return new ProblemException(
                Problem.notFound(
                        "no schedule named '"
                                + ctx.pathParam("name")
                                + "'; GET /v1/schedules lists them"));
    }
}
