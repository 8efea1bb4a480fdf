package dev.pulse.server.api.agents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentBudget;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.server.api.JsonBodies;
import dev.pulse.server.api.JsonContentType;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.agents.AgentStore;
import dev.pulse.workers.agents.SharedAgents;
import dev.pulse.workers.budgets.DailyBudgets;
import dev.pulse.workers.budgets.UsageLedger;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.json.FieldError;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.keys.Scope;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.math.BigDecimal;

/**
 * {@code /v1/agents}: the agents this node can run, and (with the admin scope, since an agent may
 * run commands on the nodes) adding, replacing and removing shared agents. Commands and environment
 * are never shown.
 */
public final class AgentRoutes {

    private final SharedAgents shared;
    private final AgentRegistry agents;
    private final AgentStore store;
    private final AgentViews views;
    private final JsonResponses responses;
    private final AgentHolds holds;
    private final DailyBudgets budgets;

    /**
     * @param holds and {@code budgets}: what {@code GET /v1/agents/{name}} shows of the agent's
     *     holds, budget and usage today
     */
    public AgentRoutes(
            SharedAgents shared,
            AgentStore store,
            ExecutorFactory executors,
            JsonResponses responses,
            AgentHolds holds,
            DailyBudgets budgets) {
        this.holds = holds;
        this.budgets = budgets;
        this.shared = shared;
        this.agents = shared.registry();
        this.store = store;
        this.views = new AgentViews(agents, executors, responses.mapper());
        this.responses = responses;
    }

    public void register(RoutesConfig routes) {
        routes.get("/v1/agents", this::list, ScopeRole.of(Scope.AGENTS_READ));
        routes.get("/v1/agents/{name}", this::get, ScopeRole.of(Scope.AGENTS_READ));
        routes.put("/v1/agents/{name}", this::put, ScopeRole.of(Scope.ADMIN));
        routes.delete("/v1/agents/{name}", this::delete, ScopeRole.of(Scope.ADMIN));
    }

    /** The same document as an agent file, as JSON; 201 created, 200 replaced or unchanged. */
    private void put(Context ctx) {
        String name = ctx.pathParam("name");
        JsonNode document =
                JsonBodies.object(
                        responses.mapper(),
                        JsonContentType.body(ctx),
                        "an agent document: {\"apiVersion\": \"pulse/v1\", \"kind\": \"Agent\", \"metadata\": {\"name\": ...}, \"spec\": {...}}");
        JsonNode metadataName = document.path("metadata").path("name");
        if (!metadataName.isMissingNode() && !name.equals(metadataName.asText())) {
            throw new ProblemException(
                    Problem.invalid(
                            422,
                            "metadata.name",
                            "differs from the name in the path ('" + name + "')"));
        }
        if (document.path("metadata").isMissingNode() || document.path("metadata").isObject()) {
            ((ObjectNode) document).withObject("/metadata").put("name", name);
        }
        SharedAgents.Validated validated = shared.validate(document, null, "api");
        if (!validated.problems().isEmpty()) {
            throw new ProblemException(
                    Problem.invalid(
                            422,
                            validated.problems().stream().map(AgentRoutes::fieldError).toList()));
        }
        AgentStore.Change change = store.save(name, document, null, "api");
        shared.reload();
        responses.send(
                ctx,
                change == AgentStore.Change.CREATED ? 201 : 200,
                toJson(agents.find(name).orElseThrow()));
    }

    private void delete(Context ctx) {
        String name = ctx.pathParam("name");
        if (agents.find(name).filter(a -> a.source().equals("built-in")).isPresent()) {
            throw new ProblemException(
                    Problem.conflict("'" + name + "' is a built-in agent and can't be removed"));
        }
        if (!store.delete(name)) {
            throw new ProblemException(
                    Problem.notFound(
                            "no shared agent named '" + name + "'; GET /v1/agents lists them"));
        }
        shared.reload();
        ctx.status(204);
    }

    private static FieldError fieldError(String problem) {
        int colon = problem.indexOf(": ");
        return colon < 0
                ? new FieldError("spec", problem)
                : new FieldError(problem.substring(0, colon), problem.substring(colon + 2));
    }

    private void list(Context ctx) {
        responses.send(ctx, 200, views.list());
    }

    private void get(Context ctx) {
        String name = ctx.pathParam("name");
        AgentDefinition agent =
                agents.find(name)
                        .orElseThrow(
                                () ->
                                        new ProblemException(
                                                Problem.notFound(
                                                        "no agent named '"
                                                                + name
                                                                + "'; GET /v1/agents lists the agents")));
        responses.send(ctx, 200, withSpending(toJson(agent), agent));
    }

    /** The agent's daily budget, what it used today, and the holds on it now. */
    private ObjectNode withSpending(ObjectNode node, AgentDefinition agent) {
        AgentBudget budget = agent.flow().budget();
        if (budget == null) {
            node.putNull("budget");
        } else {
            ObjectNode b = node.putObject("budget");
            if (budget.tokensPerDay() != null) {
                b.put("tokens_per_day", budget.tokensPerDay());
            }
            if (budget.costUsdPerDay() != null) {
                b.put("cost_usd_per_day", budget.costUsdPerDay());
            }
            if (budget.tokensPerMinute() != null) {
                b.put("tokens_per_minute", budget.tokensPerMinute());
            }
            if (budget.perKey() != null) {
                ObjectNode k = b.putObject("per_key");
                if (budget.perKey().tokensPerDay() != null) {
                    k.put("tokens_per_day", budget.perKey().tokensPerDay());
                }
                if (budget.perKey().costUsdPerDay() != null) {
                    k.put("cost_usd_per_day", budget.perKey().costUsdPerDay());
                }
            }
        }
        ObjectNode usage = node.putObject("usage_today");
        usage.put("day", budgets.today().toString());
        UsageLedger.Totals totals =
                budgets.usageToday(agent.name())
                        .orElse(new UsageLedger.Totals(0, 0, 0, BigDecimal.ZERO));
        usage.put("runs", totals.runs());
        usage.put("input_tokens", totals.inputTokens());
        usage.put("output_tokens", totals.outputTokens());
        usage.put("total_tokens", totals.tokens());
        usage.put("cost_usd", totals.costUsd());
        ArrayNode held = node.putArray("holds");
        for (AgentHolds.Hold h : holds.of(agent.name())) {
            held.addObject()
                    .put("reason", h.reason().wire())
                    .put("concurrency_key", h.concurrencyKey())
                    .put("until", Timestamps.rfc3339(h.until()))
                    .put("since", Timestamps.rfc3339(h.since()))
                    .put("detail", h.detail());
        }
        return node;
    }

    private ObjectNode toJson(AgentDefinition agent) {
        return views.toJson(agent);
    }
}
