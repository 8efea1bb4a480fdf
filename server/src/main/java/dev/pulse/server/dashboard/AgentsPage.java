package dev.pulse.server.dashboard;

import dev.pulse.executors.Availability;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.workers.budgets.DailyBudgets;
import dev.pulse.workers.budgets.UsageLedger;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.math.RoundingMode;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code /dashboard/agents}: each agent's executor, whether this node can run it, and its last hour
 * (success rate and average run time from the rollup), and today's tokens and cost (in the budgets'
 * zone). Never its command, env or secrets.
 */
final class AgentsPage {

    private final AgentRegistry agents;
    private final ExecutorFactory executors;
    private final OverviewQueries queries;
    private final DailyBudgets budgets;
    private final Templates templates;

    AgentsPage(
            AgentRegistry agents,
            ExecutorFactory executors,
            OverviewQueries queries,
            DailyBudgets budgets,
            Templates templates) {
        this.budgets = budgets;
        this.agents = agents;
        this.executors = executors;
        this.queries = queries;
        this.templates = templates;
    }

    void register(RoutesConfig routes) {
        routes.get(Dashboard.ROOT + "/agents", this::list, DashboardRole.SIGNED_IN);
    }

    private void list(Context ctx) {
        Map<String, OverviewQueries.AgentFigures> figures = queries.byAgent();
        Map<String, UsageLedger.Totals> today = budgets.usageToday();
        var rows =
                agents.all().stream()
                        .map(a -> row(a, figures.get(a.name()), today.get(a.name())))
                        .toList();
        templates.render(ctx, "agents", Map.of("nav", "agents", "agents", rows));
    }

    private Map<String, Object> row(
            AgentDefinition agent, OverviewQueries.AgentFigures f, UsageLedger.Totals usage) {
        Map<String, Object> row = new HashMap<>();
        row.put("name", agent.name());
        row.put("executor", agent.executor());
        row.put("source", agent.source());
        row.put("timeout", Formats.duration(agent.timeout()));
        row.put("maxAttempts", agent.maxAttempts());
        row.put(
                "maxConcurrency",
                agent.maxConcurrency() == null ? "–" : agent.maxConcurrency().toString());
        Availability availability =
                executors.executorFor(agent).map(e -> e.availability()).orElse(null);
        row.put("available", availability != null && availability.available());
        row.put(
                "reason",
                availability == null
                        ? "no executor of kind '" + agent.executor() + "' on this node"
                        : availability.available() ? "" : availability.reason());
        row.put("waiting", f == null ? "0" : f.waitingShown());
        row.put("running", f == null ? 0 : f.running());
        row.put("succeeded", f == null ? "0" : Formats.number(f.succeeded()));
        row.put("failed", f == null ? "0" : Formats.number(f.failed()));
        row.put("successRate", f == null ? "–" : f.successRate());
        row.put("averageRun", f == null ? "–" : f.averageRun());
        row.put("tokensToday", usage == null ? "–" : Formats.number(usage.tokens()));
        row.put(
                "costToday",
                usage == null
                        ? "–"
                        : "$" + usage.costUsd().setScale(4, RoundingMode.HALF_UP).toPlainString());
        return row;
    }
}
