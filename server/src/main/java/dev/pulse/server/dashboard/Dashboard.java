package dev.pulse.server.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.workers.budgets.DailyBudgets;
import dev.pulse.workers.callbacks.CallbackDeliveries;
import dev.pulse.workers.flow.WaitingReasons;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.schedules.ScheduleFirer;
import dev.pulse.workers.schedules.ScheduleStore;
import dev.pulse.workers.tasks.TaskStore;
import io.javalin.config.RoutesConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.jdbi.v3.core.Jdbi;

/**
 * The operator dashboard: server-rendered pages under {@code /dashboard}, signed in with an API
 * key. Registered on nodes with the {@code api} role; built from the same stores the API uses.
 */
public final class Dashboard {

    public static final String ROOT = "/dashboard";
    static final String LOGIN = ROOT + "/login";

    /**
     * What the dashboard reads and steers; all of it already exists on an API node. {@code jdbi} is
     * the primary's (sign-in sessions are written); {@code figures} serves the overview's and the
     * nodes page's figures (a read replica's pool when there is one).
     */
    public record Parts(
            Jdbi jdbi,
            ObjectMapper json,
            ApiKeyStore keys,
            TaskStore tasks,
            WaitingReasons waiting,
            CallbackDeliveries deliveries,
            ScheduleStore schedules,
            ScheduleFirer firer,
            Runnable schedulesChanged,
            AgentRegistry agents,
            ExecutorFactory executors,
            MeterRegistry metrics,
            Runnable workerWakeUp,
            Duration lease,
            Clock clock,
            RandomGenerator random,
            Jdbi figures,
            DailyBudgets budgets) {}

    private final Parts parts;

    public Dashboard(Parts parts) {
        this.parts = parts;
    }

    public void register(RoutesConfig routes) {
        Templates templates = new Templates();
        SessionStore sessions = new SessionStore(parts.jdbi(), parts.random());
        Clock clock = parts.clock();
        OverviewQueries overview = new OverviewQueries(parts.figures(), clock);
        CallbackDeliveries deliveries = parts.deliveries();

        routes.beforeMatched(new DashboardGuard(sessions, parts.keys())::check);
        routes.exception(
                DashboardException.class,
                (e, ctx) -> {
                    ctx.status(e.status());
                    templates.render(
                            ctx, "error", Map.of("status", e.status(), "message", e.getMessage()));
                });
        new Assets().register(routes);
        new LoginPage(parts.keys(), sessions, templates, parts.random()).register(routes);
        new OverviewPage(overview, templates, this::queueLagSeconds, parts.lease(), clock)
                .register(routes);
        new TasksPage(parts.tasks(), templates, parts.workerWakeUp(), clock).register(routes);
        new TaskDetailPage(
                        parts.tasks(),
                        parts.waiting(),
                        deliveries,
                        templates,
                        parts.json(),
                        parts.workerWakeUp(),
                        clock)
                .register(routes);
        new SchedulesPage(
                        parts.schedules(),
                        parts.firer(),
                        parts.schedulesChanged(),
                        templates,
                        clock)
                .register(routes);
        new AgentsPage(parts.agents(), parts.executors(), overview, parts.budgets(), templates)
                .register(routes);
        new NodesPage(parts.figures(), templates, parts.lease(), clock).register(routes);
        new CallbacksPage(deliveries, templates, clock).register(routes);
    }

    /** The node's queue-lag gauge (one cached index probe, see NodeMetrics); NaN when unknown. */
    private double queueLagSeconds() {
        Gauge gauge = parts.metrics().find("pulse.queue.lag").gauge();
        return gauge == null ? Double.NaN : gauge.value();
    }
}
