package dev.pulse.server;

import dev.pulse.server.api.ApiServer;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.agents.AgentRoutes;
import dev.pulse.server.api.agents.AgentViews;
import dev.pulse.server.api.callbacks.DeliveryRoutes;
import dev.pulse.server.api.docs.ApiDocsRoutes;
import dev.pulse.server.api.health.HealthRoutes;
import dev.pulse.server.api.schedules.ScheduleOperations;
import dev.pulse.server.api.schedules.ScheduleRoutes;
import dev.pulse.server.api.tasks.ReportRoutes;
import dev.pulse.server.api.tasks.TaskBatchRoutes;
import dev.pulse.server.api.tasks.TaskOperations;
import dev.pulse.server.api.tasks.TaskRequestParser;
import dev.pulse.server.api.tasks.TaskRoutes;
import dev.pulse.server.api.workers.WorkerRoutes;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.server.config.Role;
import dev.pulse.server.dashboard.Dashboard;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.server.keys.RateLimits;
import dev.pulse.server.mcp.PulseMcpServer;
import dev.pulse.server.metrics.MetricsRoutes;
import dev.pulse.workers.budgets.DailyBudgets;
import dev.pulse.workers.budgets.UsageLedger;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.CachedApiKeys;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.queue.ReportGroups;
import dev.pulse.workers.schedules.ScheduleParser;
import dev.pulse.workers.tasks.TaskInsertGroups;
import dev.pulse.workers.tasks.TaskReadGroups;
import io.javalin.config.RoutesConfig;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The node's HTTP server: health and metrics on every node; with the api role, the task, schedule,
 * delivery and agent API, the MCP server, the API document and the dashboard.
 */
final class ApiRole {

    static final String ADMIN_KEY_FILE = "generated-admin-key";

    // Single POSTs wait at most this long for company before their group commits: about the time
    // of one commit, so a lone request pays little and a busy node shares every WAL flush.
    static final Duration ENQUEUE_GROUP_WINDOW = Duration.ofMillis(1);
    static final int ENQUEUE_GROUP_MAX = 500;
    // Revocation reaches every node by notification; this only bounds what a missed one could cost.
    static final Duration KEY_CACHE_TTL = Duration.ofSeconds(5);
    // Two: one group gathers while the other waits for its commit.
    static final int ENQUEUE_GROUP_COMMITTERS = 2;
    // Single reads and reports take no window: whatever came while the last group was served.
    static final int READ_GROUP_MAX = 500;
    static final int READ_GROUP_READERS = 2;
    static final int REPORT_GROUP_MAX = 100;
    static final int REPORT_GROUP_RECORDERS = 2;

    private ApiRole() {}

    /**
     * Starts the HTTP server; {@code httpHooks} are registered after the node's routes.
     *
     * @param schedulesChanged tells the scheduler role that a schedule changed (nothing without it)
     */
    static ApiServer start(
            NodeCore core,
            ScheduleParser scheduleParser,
            Runnable schedulesChanged,
            Consumer<RoutesConfig> httpHooks) {
        PulseConfig config = core.config;
        ApiKeyStore keys = new ApiKeyStore(core.database.jdbi(), core.random);
        DatabaseUrl listenUrl = core.listenUrl();
        CachedApiKeys cachedKeys =
                new CachedApiKeys(keys, listenUrl, core.connections, KEY_CACHE_TTL);
        if (config.notifyWakeUps() && listenUrl != null) {
            // With polling (PULSE_WAKEUPS=poll), or behind a transaction pooler with no direct
            // listen URL, no notification can arrive: unstarted, the cache looks every key up, as
            // without it.
            core.parts.start(cachedKeys);
        }
        JsonResponses responses = new JsonResponses(core.json);
        List<Consumer<RoutesConfig>> routes =
                new ArrayList<>(
                        List.of(
                                new HealthRoutes(core.database, responses)::register,
                                new MetricsRoutes(core.nodeMetrics.registry())::register));
        // Read-only here (the API and the dashboard show usage and holds): nothing is announced.
        DailyBudgets budgets =
                new DailyBudgets(
                        new UsageLedger(core.database.jdbi()),
                        new AgentHolds(core.database.jdbi()),
                        config.llmPrices(),
                        config.budgetZone(),
                        core.clock);
        if (config.runs(Role.API)) {
            TaskRequestParser taskParser =
                    new TaskRequestParser(core.json, core.agents, config.egress(), core.clock);
            TaskInsertGroups insertGroups =
                    core.parts.add(
                            new TaskInsertGroups(
                                    core.tasks,
                                    ENQUEUE_GROUP_WINDOW,
                                    ENQUEUE_GROUP_MAX,
                                    ENQUEUE_GROUP_COMMITTERS));
            TaskReadGroups reads =
                    core.parts.add(
                            new TaskReadGroups(
                                    core.tasks, Duration.ZERO, READ_GROUP_MAX, READ_GROUP_READERS));
            TaskOperations taskOperations =
                    new TaskOperations(
                            core.tasks,
                            insertGroups,
                            reads,
                            taskParser,
                            core.json,
                            core.taskJson,
                            core.dueWakeUps,
                            core.waiting);
            routes.add(
                    new TaskRoutes(
                                    core.tasks,
                                    taskOperations,
                                    core.taskJson,
                                    responses,
                                    core.queuedWakeUp)
                            ::register);
            routes.add(
                    new TaskBatchRoutes(
                                    core.tasks,
                                    taskParser,
                                    responses,
                                    core.queuedWakeUp,
                                    core.dueWakeUps)
                            ::register);
            routes.add(new DeliveryRoutes(core.deliveries, core.tasks, responses)::register);
            routes.add(
                    new ReportRoutes(
                                    core.tasks,
                                    reads,
                                    core.parts.add(
                                            new ReportGroups(
                                                    core.completer,
                                                    Duration.ZERO,
                                                    REPORT_GROUP_MAX,
                                                    REPORT_GROUP_RECORDERS)),
                                    core.remoteWork,
                                    core.remoteWorkers,
                                    core.taskJson,
                                    responses)
                            ::register);
            routes.add(
                    new WorkerRoutes(
                                    core.remoteWork,
                                    core.remoteWorkers,
                                    core.tasks,
                                    core.agents,
                                    responses)
                            ::register);
            ScheduleOperations scheduleOperations =
                    new ScheduleOperations(
                            core.schedules,
                            scheduleParser,
                            core.json,
                            core.clock,
                            schedulesChanged);
            routes.add(
                    new ScheduleRoutes(
                                    core.schedules,
                                    core.firer,
                                    scheduleOperations,
                                    core.taskJson,
                                    responses,
                                    schedulesChanged)
                            ::register);
            routes.add(
                    new AgentRoutes(
                                    core.sharedAgents,
                                    core.agentStore,
                                    core.executors,
                                    responses,
                                    new AgentHolds(core.database.jdbi()),
                                    budgets)
                            ::register);
            routes.add(
                    PulseMcpServer.endpoint(
                                    taskOperations,
                                    scheduleOperations,
                                    new AgentViews(core.agents, core.executors, core.json),
                                    responses)
                            ::register);
            routes.add(new ApiDocsRoutes(core.json)::register);
            routes.add(
                    new Dashboard(
                                    new Dashboard.Parts(
                                            core.database.jdbi(),
                                            core.json,
                                            keys,
                                            core.tasks,
                                            core.waiting,
                                            core.deliveries,
                                            core.schedules,
                                            core.firer,
                                            schedulesChanged,
                                            core.agents,
                                            core.executors,
                                            core.nodeMetrics.registry(),
                                            core.queuedWakeUp::signal,
                                            config.leaseDuration(),
                                            core.clock,
                                            core.random,
                                            core.reads,
                                            budgets))
                            ::register);
        }
        routes.add(httpHooks);
        bootstrapAdminKey(config, keys);
        return core.parts.add(
                new ApiServer(
                                config.httpHost(),
                                config.httpPort(),
                                responses,
                                new ApiKeyAuth(cachedKeys, new RateLimits(config.rateLimit()))
                                        ::check,
                                routes)
                        .start());
    }

    /**
     * Where asynchronous agents report results: the configured public URL, else this node's own API
     * when it serves one (fine on one machine), else nowhere (a worker-only node must be told).
     */
    static Optional<URI> reportBaseUrl(PulseConfig config, ApiServer server) {
        if (config.publicUrl() != null) {
            return Optional.of(config.publicUrl());
        }
        if (server == null || !config.runs(Role.API)) {
            return Optional.empty();
        }
        String host =
                config.httpHost().equals("0.0.0.0") || config.httpHost().equals("::")
                        ? "127.0.0.1"
                        : config.httpHost();
        return Optional.of(
                URI.create(
                        "http://"
                                + (host.contains(":") ? "[" + host + "]" : host)
                                + ":"
                                + server.port()));
    }

    /**
     * Makes sure someone can use a new installation: the configured admin key is stored (hashed);
     * with none configured and no key at all, one is generated and written to the data directory.
     */
    private static void bootstrapAdminKey(PulseConfig config, ApiKeyStore keys) {
        if (config.adminKey() != null) {
            keys.ensure("admin-from-config", config.adminKey(), EnumSet.of(Scope.ADMIN));
        } else if (keys.count() == 0) {
            String key = keys.create("admin", EnumSet.of(Scope.ADMIN));
            new GeneratedSecrets(config.dataDir())
                    .reveal(
                            ADMIN_KEY_FILE,
                            key,
                            "an admin API key",
                            "create another with: pulse keys create --name admin --scopes admin");
        }
    }
}
