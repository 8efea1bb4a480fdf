package dev.pulse.server.api.workers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.agents.RemoteSpec;
import dev.pulse.server.api.JsonBodies;
import dev.pulse.server.api.JsonContentType;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.PathIds;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.keys.ApiKey;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.nodes.RemoteWorkers;
import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.queue.RemoteWork;
import dev.pulse.workers.tasks.TaskStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Remote workers (agents of executor {@code remote}): {@code POST /v1/workers/claim}, a long poll
 * that leases due tasks, and {@code POST /v1/tasks/{id}/heartbeat}, which keeps a lease. Reports go
 * to {@code POST /v1/tasks/{id}/complete} ({@code ReportRoutes}). All need {@code tasks:work}.
 */
public final class WorkerRoutes {

    private static final Set<String> HEARTBEAT_FIELDS = Set.of("lease_token");

    private final RemoteWork work;
    private final RemoteWorkers workers;
    private final TaskStore store;
    private final AgentRegistry agents;
    private final ClaimParser parser;
    private final ObjectMapper json;
    private final JsonResponses responses;

    public WorkerRoutes(
            RemoteWork work,
            RemoteWorkers workers,
            TaskStore store,
            AgentRegistry agents,
            JsonResponses responses) {
        this.work = work;
        this.workers = workers;
        this.store = store;
        this.agents = agents;
        this.json = responses.mapper();
        this.parser = new ClaimParser(json, agents);
        this.responses = responses;
    }

    public void register(RoutesConfig routes) {
        routes.post("/v1/workers/claim", this::claim, ScopeRole.of(Scope.TASKS_WORK));
        routes.post("/v1/tasks/{id}/heartbeat", this::heartbeat, ScopeRole.of(Scope.TASKS_WORK));
    }

    private void claim(Context ctx) {
        ClaimParser.Claim claim = parser.parse(JsonContentType.body(ctx));
        workers.seen(claim.worker(), keyName(ctx));
        List<ClaimedTask> claimed =
                work.claim(claim.worker(), claim.agents(), claim.limit(), claim.waitFor());
        ObjectNode body = json.createObjectNode();
        ArrayNode tasks = body.putArray("tasks");
        for (ClaimedTask c : claimed) {
            ObjectNode t = tasks.addObject();
            t.put("id", c.id().toString());
            t.put("agent", c.task().agent());
            t.set("input", c.task().input());
            t.set("metadata", c.task().metadata());
            t.put("attempt", c.attempt());
            t.put("lease_token", c.leaseToken().toString());
            // The claim set both from one now(): the lease ends a lease after the attempt began.
            t.put(
                    "lease_expires_at",
                    Timestamps.rfc3339(c.startedAt().plus(leaseOf(c.task().agent()))));
            t.put("timeout_seconds", c.task().timeoutSeconds());
        }
        responses.send(ctx, 200, body);
    }

    private Duration leaseOf(String agent) {
        return agents.find(agent)
                .map(AgentDefinition::remote)
                .map(RemoteSpec::lease)
                .orElse(RemoteSpec.DEFAULT_LEASE);
    }

    private void heartbeat(Context ctx) {
        UUID id = PathIds.of(ctx, "no task with id '%s': use the id of a task you claimed");
        UUID token = leaseToken(JsonContentType.body(ctx));
        RemoteWork.Beat beat = work.heartbeat(id, token);
        ObjectNode body = json.createObjectNode();
        if (beat instanceof RemoteWork.Beat.Renewed r) {
            workers.seen(r.worker(), keyName(ctx));
            body.put("lease_expires_at", Timestamps.rfc3339(r.expiresAt()));
            body.put("cancel_requested", false);
        } else if (beat instanceof RemoteWork.Beat.Cancelled c) {
            workers.seen(c.worker(), keyName(ctx));
            body.put("lease_expires_at", Timestamps.rfc3339(c.endedAt()));
            body.put("cancel_requested", true);
        } else if (beat instanceof RemoteWork.Beat.TimedOut t) {
            throw new ProblemException(
                    Problem.conflict(
                            "the attempt ran past the task's timeout of "
                                    + t.timeoutSeconds()
                                    + " s and was recorded as a timeout failure;"
                                    + " stop working on it (its result would not be recorded)"));
        } else {
            throw notHeld(id);
        }
        responses.send(ctx, 200, body);
    }

    /** 404 for a task that doesn't exist, else 409: the lease is no longer this caller's. */
    private ProblemException notHeld(UUID id) {
        if (store.find(id).isEmpty()) {
            return new ProblemException(Problem.notFound("no task with id " + id));
        }
        return new ProblemException(
                Problem.conflict(
                        "this lease token no longer holds the task: the lease expired and the task"
                                + " was taken back, or it ended (finished, cancelled or timed out);"
                                + " stop working on it"));
    }

    private UUID leaseToken(String body) {
        JsonNode root =
                JsonBodies.object(
                        json, body, "{\"lease_token\": \"<the lease_token of your claim>\"}");
        List<FieldError> errors = new ArrayList<>();
        FieldChecks.noUnknownFields(root, HEARTBEAT_FIELDS, "", errors);
        UUID token = null;
        JsonNode node = root.get("lease_token");
        try {
            token = node == null || !node.isTextual() ? null : UUID.fromString(node.asText());
        } catch (IllegalArgumentException e) {
            token = null;
        }
        if (token == null) {
            errors.add(new FieldError("lease_token", "is required: the lease_token of your claim"));
        }
        if (!errors.isEmpty()) {
            throw new ProblemException(Problem.invalid(422, errors));
        }
        return token;
    }

    static String keyName(Context ctx) {
        return ApiKeyAuth.keyOf(ctx).map(ApiKey::name).orElse(null);
    }
}
